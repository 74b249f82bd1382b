"""Figures. Each function takes data and an optional ``ax`` and returns the Axes.

One theme for the package, set by :func:`set_theme`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr

from ansen.data.schema import battery_sites, local_time
from ansen.data.summary import transformer_kw

__all__ = [
    "duration_curves",
    "price_distribution",
    "seasonal_profiles",
    "set_theme",
    "sunny_week",
    "week",
    "winter_week",
]

SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
           6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
SEASON_ORDER = ["winter", "spring", "summer", "autumn"]


def set_theme() -> None:
    """The package's one plotting theme."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "figure.autolayout": True})


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(8, 4))[1]


def seasonal_profiles(ds: xr.Dataset, ax=None):
    """Mean daily profile per season of household load and PV [kW per household]."""
    ax = _ax(ax)
    t = local_time(ds)
    frame = pd.DataFrame({
        "hour": t.hour + t.minute / 60.0,
        "season": t.month.map(SEASONS),
        "load": ds["load_kw"].mean("household").values,
        "PV": ds["pv_kw"].mean("household").values,
    }).melt(id_vars=["hour", "season"], var_name="flow", value_name="kW")
    prof = frame.groupby(["season", "flow", "hour"], as_index=False)["kW"].mean()
    sns.lineplot(data=prof, x="hour", y="kW", hue="season", style="flow",
                 hue_order=SEASON_ORDER, ax=ax)
    ax.set(xlabel="local hour", ylabel="mean power per household [kW]", xlim=(0, 24),
           xticks=range(0, 25, 3), title="Household load and PV, mean day by season")
    return ax


def duration_curves(ds: xr.Dataset, ax=None, relative: bool = True):
    """Load duration curves of the transformers and the MV feeder.

    With ``relative``, transformers are shown in per unit of their rating and
    the MV feeder in per unit of its largest absolute load.
    """
    ax = _ax(ax)
    tr = transformer_kw(ds)
    steps = np.arange(ds.sizes["time"]) / ds.sizes["time"] * 100
    for t in ds["transformer"].values:
        s = tr.sel(transformer=t).values
        scale = float(ds["transformer_kva"].sel(transformer=t)) if relative else 1.0
        ax.plot(steps, np.sort(s)[::-1] / scale, label=f"{t}")
    mv = ds["mv_kw"].values
    ax.plot(steps, np.sort(mv)[::-1] / (np.abs(mv).max() if relative else 1.0), label="MV",
            color="k", lw=1.5)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="share of time [%]",
           ylabel="load [p.u.]" if relative else "load [kW]",
           title="Load duration curves (import +, feed-in -), without batteries")
    if relative:
        for y in (-1, 1):
            ax.axhline(y, color="red", lw=0.8, ls="--")
    ax.legend()
    return ax


def price_distribution(ds: xr.Dataset, ax=None):
    """Histogram of day-ahead prices [EUR/MWh] by season."""
    ax = _ax(ax)
    t = local_time(ds)
    frame = pd.DataFrame({"price [EUR/MWh]": ds["price_eur_per_kwh"].values * 1000.0,
                          "season": t.month.map(SEASONS)})
    sns.histplot(data=frame, x="price [EUR/MWh]", hue="season", hue_order=SEASON_ORDER,
                 element="step", stat="density", common_norm=False, bins=80, ax=ax)
    ax.axvline(0, color="k", lw=0.8)
    neg = (frame["price [EUR/MWh]"] < 0).mean() * 100
    ax.set(title=f"Day-ahead prices ({neg:.1f}% of hours negative)")
    return ax


def _week_start(ds: xr.Dataset, score: pd.Series, largest: bool) -> pd.Timestamp:
    weekly = score.resample("W-MON", label="left", closed="left").mean()
    full = weekly.index[(weekly.index >= score.index[0]) &
                        (weekly.index + pd.Timedelta(days=7) <= score.index[-1])]
    weekly = weekly.loc[full]
    if weekly.empty:  # less than one whole week of data: show what there is
        return score.index[0].normalize()
    return weekly.idxmax() if largest else weekly.idxmin()


def sunny_week(ds: xr.Dataset) -> pd.Timestamp:
    """Start (local Monday) of the week with the most PV."""
    pv = pd.Series(ds["pv_kw"].sum("household").values, index=local_time(ds))
    return _week_start(ds, pv, largest=True)


def winter_week(ds: xr.Dataset) -> pd.Timestamp:
    """Start (local Monday) of the week with the highest household load."""
    load = pd.Series(ds["load_kw"].sum("household").values, index=local_time(ds))
    return _week_start(ds, load, largest=True)


def week(ds: xr.Dataset, start, axes=None):
    """One week: transformers and MV feeder [kW] (top) and day-ahead price (bottom)."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True,
                               gridspec_kw={"height_ratios": [2, 1]})
    t = local_time(ds)
    start = pd.Timestamp(start)
    start = start.tz_localize(t.tz) if start.tz is None else start
    sel = (t >= start) & (t < start + pd.Timedelta(days=7))
    idx = t[sel].tz_localize(None)
    tr = transformer_kw(ds).isel(time=np.flatnonzero(sel))
    ax, axp = axes
    for name in ds["transformer"].values:
        ax.plot(idx, tr.sel(transformer=name).values, label=f"{name}", lw=1)
    ax.plot(idx, ds["mv_kw"].values[sel] / 10.0, label="MV / 10", color="k", lw=1)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(ylabel="load [kW]", title=f"Week of {start:%d %B %Y}, without batteries")
    ax.legend(ncol=3, loc="lower left")
    axp.step(idx, ds["price_eur_per_kwh"].values[sel] * 1000.0, where="post", color="C3")
    axp.axhline(0, color="grey", lw=0.8)
    axp.set(ylabel="EUR/MWh", xlabel="local time")
    return axes


# --------------------------------------------------------------------------- runs


def peak_week(run: xr.Dataset, baseline: xr.Dataset, axes=None):
    """MV and transformer load with and without the steering model in the baseline's MV peak week."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    t = local_time(run)
    peak = t[int(np.abs(baseline["mv_kw"].values).argmax())]
    start = max(peak.normalize() - pd.Timedelta(days=peak.day_of_week), t[0])
    sel = (t >= start) & (t < start + pd.Timedelta(days=7))
    idx = t[sel].tz_localize(None)
    label_run, label_base = run.attrs.get("model", "run"), baseline.attrs.get("model", "base")
    ax = axes[0]
    ax.plot(idx, baseline["mv_kw"].values[sel], color="grey", lw=1, label=label_base)
    ax.plot(idx, run["mv_kw"].values[sel], color="C0", lw=1, label=label_run)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(ylabel="MV feeder [kW]", title=f"Peak week of the MV feeder ({start:%d %b %Y})")
    ax.legend(loc="lower left")
    ax = axes[1]
    for i, k in enumerate(run["transformer"].values):
        ax.plot(idx, baseline["transformer_kw"].sel(transformer=k).values[sel], color=f"C{i}",
                lw=0.8, ls="--", label=f"{k} {label_base}")
        ax.plot(idx, run["transformer_kw"].sel(transformer=k).values[sel], color=f"C{i}", lw=1,
                label=f"{k} {label_run}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(ylabel="transformer [kW]", xlabel="local time")
    ax.legend(ncol=2, loc="lower left", fontsize="small")
    return axes


def weekly_reduction(run: xr.Dataset, baseline: xr.Dataset, ax=None):
    """Bar chart of the weekly MV peak reduction [%] with its mean."""
    from ansen.metrics import weekly_mv_peak_reduction

    ax = _ax(ax)
    w = weekly_mv_peak_reduction(run, baseline)
    ax.bar([d.strftime("%d %b") for d in w.index], w.values, color="C0")
    if len(w):
        ax.axhline(w.mean(), color="k", ls="--", lw=1, label=f"mean {w.mean():.1f}%")
        ax.legend()
    ax.axhline(0, color="grey", lw=0.6)
    ax.set(xlabel="week starting", ylabel="MV peak reduction [%]",
           title=f"{run.attrs.get('model')} vs {baseline.attrs.get('model')}: weekly MV peaks")
    return ax


def run_duration_curves(run: xr.Dataset, baseline: xr.Dataset, ax=None):
    """Duration curves of the transformers (p.u. of rating) and MV feeder, run vs baseline."""
    ax = _ax(ax)
    steps = np.linspace(0, 100, run.sizes["time"])
    scale = np.abs(baseline["mv_kw"].values).max()
    for data, ls, name in ((baseline, "--", baseline.attrs.get("model")),
                           (run, "-", run.attrs.get("model"))):
        for i, k in enumerate(data["transformer"].values):
            kva = float(data["transformer_kva"].sel(transformer=k))
            ax.plot(steps, np.sort(data["transformer_kw"].sel(transformer=k).values)[::-1] / kva,
                    color=f"C{i}", ls=ls, lw=1, label=f"{k} {name}")
        ax.plot(steps, np.sort(data["mv_kw"].values)[::-1] / scale, color="k", ls=ls, lw=1,
                label=f"MV {name}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set(xlabel="share of time [%]", ylabel="load [p.u.]",
           title="Load duration curves (transformers per rating, MV per baseline peak)")
    ax.legend(ncol=2, fontsize="small")
    return ax


def soc_heatmap(run: xr.Dataset, ax=None):
    """State of charge [% of capacity] of every battery, hour of the day x day."""
    sites = battery_sites(run)
    ax = _ax(ax)
    t = local_time(run)
    soc = run["soc_kwh"].values[:, sites].sum(1) / run["battery_kwh"].values[sites].sum() * 100
    frame = pd.DataFrame({"day": t.normalize().tz_localize(None).strftime("%m-%d"),
                          "hour": t.hour, "soc": soc})
    grid = frame.pivot_table(index="hour", columns="day", values="soc", aggfunc="mean")
    sns.heatmap(grid, ax=ax, cmap="viridis", vmin=0, vmax=100,
                cbar_kws={"label": "fleet state of charge [%]"})
    ax.set(xlabel="day", ylabel="local hour", title=f"{run.attrs.get('model')}: state of charge")
    return ax


def household_cost_bars(costs: pd.DataFrame, ax=None):
    """Energy and fixed cost per battery household and month [EUR], model and baselines."""
    ax = _ax(ax)
    mean = costs.groupby(["run", "household"], as_index=False)["cost_eur"].mean()
    sns.barplot(data=mean, x="household", y="cost_eur", hue="run", ax=ax)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(ylabel="cost per month [EUR]", title="Cost per household and month (incl. fixed)")
    ax.tick_params(axis="x", rotation=45)
    return ax

"""Figures. Each function takes data and an optional ``ax`` and returns the Axes.

One theme for the package, set by :func:`set_theme`.
"""

from __future__ import annotations

import re
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr

from ansen.data.schema import battery_sites, local_time, seasons
from ansen.data.summary import transformer_kw

__all__ = [
    "duration_curves",
    "extreme_peaks",
    "household_savings",
    "peak_week",
    "price_distribution",
    "report_comparison",
    "run_duration_curves",
    "save_figure",
    "seasonal_profiles",
    "set_theme",
    "soc_heatmap",
    "sunny_week",
    "sweep_heatmaps",
    "transformer_profile",
    "week",
    "weekly_reduction",
    "winter_week",
    "write_figure",
]

SEASON_ORDER = ["winter", "spring", "summer", "autumn"]


def set_theme() -> None:
    """The package's one plotting theme (also fixes the SVG id salt, so SVGs are reproducible)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "figure.autolayout": True,
                         "svg.hashsalt": "ansen", "svg.fonttype": "path"})


def save_figure(fig, path, fmt: str | None = None) -> None:
    """Save a figure without volatile metadata (no date, no software version in PNG).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
    fmt : {"png", "svg"}, optional
        Default: from the suffix of ``path``.
    """
    fmt = fmt or str(path).rsplit(".", 1)[-1]
    metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    with plt.rc_context({"svg.hashsalt": "ansen"}):
        fig.savefig(path, format=fmt, metadata=metadata)


def write_figure(fig, stem) -> list:
    """Write ``<stem>.png`` and ``<stem>.svg`` atomically (see :func:`save_figure`).

    Returns
    -------
    list of pathlib.Path
        The PNG and the SVG.
    """
    from pathlib import Path

    from ansen.io import atomic_path

    out = []
    for fmt in ("png", "svg"):
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            save_figure(fig, tmp, fmt)
        out.append(path)
    return out


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(8, 4))[1]


def _seasons(values) -> list[str]:
    """The seasons the data hold, in :data:`SEASON_ORDER` (a legend lists no others)."""
    held = set(values)
    return [x for x in SEASON_ORDER if x in held]


def _season_colours(seasons) -> dict:
    """Each season's colour, the same whichever seasons the data hold."""
    colours = dict(zip(SEASON_ORDER, sns.color_palette(n_colors=len(SEASON_ORDER)),
                       strict=True))
    return {x: colours[x] for x in seasons}


def seasonal_profiles(ds: xr.Dataset, ax=None):
    """Mean daily profile per season of household load and PV [kW per household]."""
    ax = _ax(ax)
    t = local_time(ds)
    frame = pd.DataFrame({
        "hour": t.hour + t.minute / 60.0,
        "season": seasons(ds, t),
        "load": ds["load_kw"].mean("household").values,
        "PV": ds["pv_kw"].mean("household").values,
    }).melt(id_vars=["hour", "season"], var_name="flow", value_name="kW")
    prof = frame.groupby(["season", "flow", "hour"], as_index=False)["kW"].mean()
    present = _seasons(prof["season"])
    sns.lineplot(data=prof, x="hour", y="kW", hue="season", style="flow",
                 hue_order=present, palette=_season_colours(present), ax=ax)
    ax.set(xlabel="local hour", ylabel="mean power per household [kW]", xlim=(0, 24),
           xticks=range(0, 25, 3), title="Household load and PV, mean day by season")
    return ax


def duration_curves(ds: xr.Dataset, axes=None):
    """Load duration curves of each transformer and of the MV feeder [kW], without batteries.

    One panel per level, so that the curves do not hide each other; the
    transformers' ratings are drawn as dashed lines (import and feed-in).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    names = [str(t) for t in ds["transformer"].values]
    if axes is None:
        _, axes = plt.subplots(1, len(names) + 1, figsize=(4 * (len(names) + 1), 3.8),
                               squeeze=False)
        axes = axes[0]
    tr = transformer_kw(ds)
    x = np.arange(1, ds.sizes["time"] + 1) / ds.sizes["time"] * 100
    for i, (ax, name) in enumerate(zip(axes, [*names, "MV"], strict=True)):
        s = ds["mv_kw"].values if name == "MV" else tr.sel(transformer=name).values
        s = np.sort(s)[::-1]
        ax.plot(x, s, color="k" if name == "MV" else f"C{i}", lw=1.5)
        ax.axhline(0, color="grey", lw=0.8)
        if name != "MV":
            kva = float(ds["transformer_kva"].sel(transformer=name))
            for y in (-kva, kva):
                ax.axhline(y, color="red", lw=0.8, ls="--")
            ax.text(50, kva, f"rating {kva:.0f} kVA", va="top", ha="center", fontsize="small",
                    color="red")
        title = "MV feeder" if name == "MV" else f"transformer {name}"
        ax.set(title=f"{title}\npeak import {max(s[0], 0):.0f} kW, feed-in {max(-s[-1], 0):.0f} kW",
               xlabel="share of time [%]",
               ylabel="load [kW] (import +, feed-in -)", xlim=(0, 100))
    axes[0].figure.suptitle("Load duration curves without batteries", fontsize="medium")
    return axes


def price_distribution(ds: xr.Dataset, ax=None):
    """Histogram of day-ahead prices [EUR/MWh] by season."""
    ax = _ax(ax)
    t = local_time(ds)
    frame = pd.DataFrame({"price [EUR/MWh]": ds["price_eur_per_kwh"].values * 1000.0,
                          "season": seasons(ds, t)})
    present = _seasons(frame["season"])
    sns.histplot(data=frame, x="price [EUR/MWh]", hue="season", hue_order=present,
                 palette=_season_colours(present), element="step", stat="density",
                 common_norm=False, bins=80, ax=ax)
    ax.axvline(0, color="k", lw=0.8)
    neg = (frame["price [EUR/MWh]"] < 0).mean() * 100
    ax.set(title=f"Day-ahead prices ({neg:.1f}% of hours negative)")
    return ax


def _week_start(ds: xr.Dataset, score: pd.Series, largest: bool) -> pd.Timestamp:
    """The local Monday of the whole week of largest (smallest) mean ``score``; a week with
    a NaN step (outside a season, say) does not count."""
    weeks = score.resample("W-MON", label="left", closed="left")
    weekly = weeks.mean().where(weeks.count() == weeks.size())
    full = weekly.index[(weekly.index >= score.index[0]) &
                        (weekly.index + pd.Timedelta(days=7) <= score.index[-1])]
    weekly = weekly.loc[full].dropna()
    if weekly.empty:  # less than one whole week of data: show what there is
        return score.index[0].normalize()
    return weekly.idxmax() if largest else weekly.idxmin()


def sunny_week(ds: xr.Dataset) -> pd.Timestamp:
    """Start (local Monday) of the week with the most PV."""
    pv = pd.Series(ds["pv_kw"].sum("household").values, index=local_time(ds))
    return _week_start(ds, pv, largest=True)


def winter_week(ds: xr.Dataset) -> pd.Timestamp:
    """Start (local Monday) of the winter week (:func:`ansen.data.schema.seasons`: turned
    round south of the equator) with the highest household load; on data without a whole
    week that starts in winter, the week of most load."""
    t = local_time(ds)
    load = pd.Series(ds["load_kw"].sum("household").values, index=t)
    start = _week_start(ds, load.where(seasons(ds, t) == "winter"), largest=True)
    whole = start >= t[0] and start + pd.Timedelta(days=7) <= t[-1]
    if whole and seasons(ds, pd.DatetimeIndex([start]))[0] == "winter":
        return start
    return _week_start(ds, load, largest=True)  # a load a cooling summer can outdo


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
    shown = (idx[-1] - idx[0]) if len(idx) > 1 else pd.Timedelta(0)
    what = "Peak week" if shown >= pd.Timedelta(days=6) else "Peak days (the run's part of its week)"
    ax.set(ylabel="MV feeder [kW]", title=f"{what} of the MV feeder ({start:%d %b %Y})")
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
    else:  # a run shorter than a measurable week: said on the figure, not an empty axis
        ax.text(0.5, 0.5, "no local week (Monday to Sunday) with three days or more in the "
                "run:\nno weekly MV peak reduction", ha="center", va="center",
                transform=ax.transAxes, fontsize="small", color="0.3")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set(xlabel="week starting", ylabel="MV peak reduction [%]",
           title=f"{run.attrs.get('model')} vs {baseline.attrs.get('model')}: weekly MV peaks")
    return ax


def _levels(run: xr.Dataset) -> list[str]:
    """Transformers that carry batteries (all if none do)."""
    has = run["battery_kwh"].values > 0
    ks = sorted(set(run["household_transformer"].values[has].astype(str)))
    return ks or [str(k) for k in run["transformer"].values]


def _series(run: xr.Dataset, level: str) -> np.ndarray:
    return run["mv_kw"].values if level == "MV" else run["transformer_kw"].sel(
        transformer=level).values


def run_duration_curves(run: xr.Dataset, baseline: xr.Dataset, axes=None, top: float = 5.0):
    """The top of the load duration curves: the largest ``top`` % of steps of |load| [kW].

    One panel per transformer with batteries and one for the MV feeder; the
    baseline dashed, the run solid. Only the top of the curve is drawn, where
    batteries can make a difference (the full curves of run and baseline lie
    on top of each other).

    Parameters
    ----------
    run, baseline : xarray.Dataset
        Runs of :func:`ansen.simulate` over the same period.
    axes : sequence of matplotlib.axes.Axes, optional
        One per transformer with batteries, plus one for MV.
    top : float
        Share of the steps shown [%].

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    levels = [*_levels(run), "MV"]
    if axes is None:
        _, axes = plt.subplots(1, len(levels), figsize=(4 * len(levels), 3.8), squeeze=False)
        axes = axes[0]
    n = run.sizes["time"]
    k = max(2, int(np.ceil(n * top / 100)))
    x = np.arange(1, k + 1) / n * 100
    names = run.attrs.get("model", "run"), baseline.attrs.get("model", "baseline")
    for ax, level in zip(axes, levels, strict=True):
        b = np.sort(np.abs(_series(baseline, level)))[::-1][:k]
        r = np.sort(np.abs(_series(run, level)))[::-1][:k]
        ax.plot(x, b, color="grey", ls="--", lw=1.2, label=names[1])
        ax.plot(x, r, color="C0", lw=1.5, label=names[0])
        ax.fill_between(x, r, b, where=b > r, color="C2", alpha=0.25, lw=0,
                        label=f"{names[0]} lower")
        ax.fill_between(x, r, b, where=r > b, color="C3", alpha=0.25, lw=0,
                        label=f"{names[0]} higher")
        title = "MV feeder" if level == "MV" else f"transformer {level}"
        ax.set(title=f"{title}: peak {b[0]:.0f} -> {r[0]:.0f} kW", xlabel="share of time [%]",
               ylabel="|load| [kW]", xlim=(0, x[-1]))
    axes[0].legend(fontsize="small")
    axes[0].figure.suptitle(f"Top {top:g}% of the load duration curves (import or feed-in)",
                            fontsize="medium")
    return axes


def transformer_profile(run: xr.Dataset, baseline: xr.Dataset, none: xr.Dataset | None = None,
                        axes=None):
    """Transformer load with and without batteries: mean day and change per hour [kW].

    The claim of M3 (and M4): the transformer load becomes flatter (lower
    variance). Top row: mean load per local hour of the day, with the band of
    the 10-90 % quantiles of the run; the legend gives each run's standard
    deviation over all steps. Bottom row: the change against the baseline per
    hour of the day (mean, and the band of 10-90 % of the steps). One column
    per transformer with batteries.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (2, transformers)
    """
    levels = _levels(run)
    if axes is None:
        _, axes = plt.subplots(2, len(levels), figsize=(5.5 * len(levels), 6.5), squeeze=False)
    t = local_time(run)
    hour = np.asarray(t.hour + t.minute / 60.0)
    runs = [(baseline, "grey", "--"), (run, "C0", "-")]
    if none is not None:
        runs.insert(0, (none, "C7", ":"))
    for j, level in enumerate(levels):
        ax, axh = axes[0, j], axes[1, j]
        for data, color, ls in runs:
            s = pd.Series(_series(data, level), index=hour)
            g = s.groupby(level=0)
            label = f"{data.attrs.get('model', '?')} (sd {s.std():.0f} kW)"
            ax.plot(g.mean().index, g.mean().values, color=color, ls=ls, lw=1.5, label=label)
            if data is run:
                ax.fill_between(g.mean().index, g.quantile(0.1).values, g.quantile(0.9).values,
                                color=color, alpha=0.15, lw=0)
        ax.axhline(0, color="k", lw=0.6)
        ax.set(title=f"transformer {level}: mean day (band: 10-90% of {run.attrs.get('model')})",
               xlabel="local hour", ylabel="load [kW] (import +)", xlim=(0, 24),
               xticks=range(0, 25, 3))
        ax.legend(fontsize="small")
        d = pd.Series(_series(run, level) - _series(baseline, level), index=hour)
        g = d.groupby(level=0)
        axh.plot(g.mean().index, g.mean().values, color="C0", lw=1.5, label="mean")
        axh.fill_between(g.mean().index, g.quantile(0.1).values, g.quantile(0.9).values,
                         color="C0", alpha=0.15, lw=0, label="10-90% of steps")
        axh.axhline(0, color="k", lw=0.6)
        axh.set(xlabel="local hour", ylabel="change [kW]", xlim=(0, 24), xticks=range(0, 25, 3),
                title=f"transformer {level}: {run.attrs.get('model')} minus "
                      f"{baseline.attrs.get('model')}")
        axh.legend(fontsize="small")
    return axes


def extreme_peaks(run: xr.Dataset, baseline: xr.Dataset, ax=None, quantile: float = 0.99):
    """Steps above the baseline's extreme-peak threshold, per transformer and MV feeder.

    The threshold of each level is the ``quantile`` of the baseline's |load|
    (the definition of :func:`ansen.metrics.extreme_peaks`); bars count the
    steps above it, labels give the energy above it [kWh]. The claim of M6:
    extreme peaks almost disappear.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    h = (run.indexes["time"][1] - run.indexes["time"][0]) / pd.Timedelta(hours=1)
    levels = [*_levels(run), "MV"]
    names = baseline.attrs.get("model", "baseline"), run.attrs.get("model", "run")
    x = np.arange(len(levels))
    for i, (data, color) in enumerate(((baseline, "grey"), (run, "C0"))):
        counts, energy = [], []
        for level in levels:
            thr = np.quantile(np.abs(_series(baseline, level)), quantile)
            over = np.maximum(np.abs(_series(data, level)) - thr, 0.0)
            counts.append(int((over > 0).sum()))
            energy.append(float(over.sum() * h))
        bars = ax.bar(x + (i - 0.5) * 0.38, counts, width=0.38, color=color, label=names[i])
        ax.bar_label(bars, [f"{c}\n{e:.0f} kWh" for c, e in zip(counts, energy, strict=True)],
                     fontsize="x-small")
    ax.set_xticks(x, [("MV feeder" if lv == "MV" else f"transformer {lv}") for lv in levels])
    ax.set(ylabel="steps above the threshold",
           title=f"Extreme peaks: steps above the {quantile:.0%} quantile of |load| under "
                 f"{names[0]}\n(labels: steps and energy above the threshold)")
    ax.margins(y=0.45)
    ax.legend(ncol=2, loc="upper center")
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
    sns.heatmap(grid, ax=ax, cmap="viridis", vmin=0, vmax=100, xticklabels=False,
                yticklabels=False, cbar_kws={"label": "fleet state of charge [%]"})
    hours = np.arange(0, 24, 3)
    ax.set_yticks(hours + 0.5, [f"{h:02d}:00" for h in hours], rotation=0)
    every = max(1, len(grid.columns) // 10)
    days = np.arange(0, len(grid.columns), every)
    ax.set_xticks(days + 0.5, grid.columns[days], rotation=45)
    ax.set(xlabel="day (month-day)", ylabel="local hour",
           title=f"{run.attrs.get('model')}: state of charge of the battery fleet")
    return ax


def household_savings(costs: pd.DataFrame, ax=None):
    """Saving per battery household and month against M1 [EUR] (positive = cheaper).

    Parameters
    ----------
    costs : pandas.DataFrame
        Long table with columns run, household, month, cost_eur and
        run_months (the month's share of the run in average months: the
        ``costs`` of :func:`ansen.experiments.run_experiment`): the model,
        ``M1`` and ``none``.

    Returns
    -------
    matplotlib.axes.Axes
        Bars per household: the model against M1 and, for reference, M1
        against no battery (what self-consumption alone earns), each the
        run's saving divided by its length in average months (as
        :func:`ansen.metrics.cost_saving` counts them), so that a run over
        parts of two months is not halved.
    """
    from ansen.experiments import cost_per_month

    ax = _ax(ax)
    mean = cost_per_month(costs)
    model = next((r for r in costs["run"].unique() if r not in ("M1", "none")), "M1")
    bars = {"M1 vs no battery": mean["none"] - mean["M1"]}
    if model != "M1":
        bars = {f"{model} vs M1": mean["M1"] - mean[model], **bars}
    frame = pd.DataFrame(bars).rename_axis("household").reset_index().melt(
        id_vars="household", var_name="comparison", value_name="saving")
    sns.barplot(data=frame, x="household", y="saving", hue="comparison", ax=ax,
                palette=["C0", "grey"][: len(bars)])
    first = next(iter(bars))
    ax.axhline(bars[first].mean(), color="C0", ls="--", lw=1,
               label=f"mean {first}: {bars[first].mean():.2f} EUR")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(ylabel="saving per month [EUR]", xlabel="battery household",
           title=f"Saving per household and month against M1 ({model})"
           if model != "M1" else "Saving per household and month of M1 against no battery")
    ax.tick_params(axis="x", rotation=45)
    ax.margins(y=0.3)
    ax.legend(fontsize="small", ncol=3, loc="upper left")
    return ax


# --------------------------------------------------------------------------- summaries


def report_comparison(table: pd.DataFrame, axes=None):
    """Each report figure, its reproduced value and the difference, one panel per unit.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`ansen.report.summary_table` (columns figure, report, reproduced,
        difference, unit).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    units = list(dict.fromkeys(table["unit"]))
    sizes = [int((table["unit"] == u).sum()) for u in units]
    if axes is None:
        _, axes = plt.subplots(len(units), 1, figsize=(12, 1.2 + 0.62 * sum(sizes)),
                               gridspec_kw={"height_ratios": sizes}, squeeze=False)
        axes = axes[:, 0]
    for ax, unit in zip(axes, units, strict=True):
        t = table[table["unit"] == unit].iloc[::-1]
        y = np.arange(len(t))
        ax.barh(y + 0.18, t["reproduced"].fillna(0), height=0.36, color="C0",
                label="reproduced")
        ax.barh(y - 0.18, t["report"].fillna(0), height=0.36, color="grey", label="report")
        for yi, (_, r) in zip(y, t.iterrows(), strict=True):
            got = "n/a" if pd.isna(r["reproduced"]) else f"{r['reproduced']:.1f}"
            if pd.isna(r["report"]):
                text = f"{got}; report: no number"
            elif pd.isna(r["reproduced"]):  # not in these results: no difference either
                text = f"n/a vs {r['report']:.1f}"
            else:
                text = f"{got} vs {r['report']:.1f} ({r['difference']:+.1f})"
            # in a column right of the panel: x in axes fraction, y in data
            ax.annotate(text, (1.02, yi), xycoords=ax.get_yaxis_transform(), va="center",
                        fontsize="small", annotation_clip=False)
        ax.set_yticks(y, t["figure"])
        ax.axvline(0, color="k", lw=0.6)
        ax.set_xlabel(unit)
        ax.margins(x=0.05)
    axes[0].legend(loc="best", fontsize="small")
    axes[0].set_title("Report figures and their reproduction: reproduced vs report "
                      "(difference = reproduced - report)")
    return axes


def sweep_heatmaps(table: pd.DataFrame, metrics: dict[str, str], axes=None, *,
                   baseline: str = "M1", title: str = "Season sweep"):
    """A sweep: one heat map (model x period) per metric against a baseline.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per run with columns ``model``, ``period`` and the metrics
        (:func:`ansen.sweep.cross_model_table`), each positive when the model
        does better than the baseline.
    metrics : dict
        Column -> title with unit.
    baseline : str
        What the metrics are measured against (for the title).
    title : str
        Start of the figure's title.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    suptitle = f"{title} against {baseline} (blue: better than {baseline})"
    if axes is None:
        n_p = table["period"].nunique()
        n_m = table["model"].nunique()
        ncols = 2 if len(metrics) > 2 else len(metrics)
        nrows = int(np.ceil(len(metrics) / ncols))
        # room for the model labels on the left and for each period's label below
        # [inches, about 0.1 per character of the notebook context's tick labels]
        label = min(0.1 * max(len(str(m)) for m in table["model"]) + 0.4, 6.0)  # at most 6
        column = max(1.15, 0.085 * max(len(line) for p in table["period"].unique()
                                       for line in _period_tick(p).split("\n")) + 0.25)
        width = max(3.5, column * n_p + label)
        _, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, (2.6 + 0.42 * n_m) * nrows),
                               squeeze=False, layout="constrained")
        axes = axes.ravel()[: len(metrics)]
    models = list(dict.fromkeys(table["model"]))
    periods = list(dict.fromkeys(table["period"]))
    for ax, (col, title) in zip(axes, metrics.items(), strict=True):
        grid = table.pivot_table(index="model", columns="period", values=col,
                                 dropna=False).reindex(index=models, columns=periods)
        values = grid.to_numpy(float)
        lim = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        lim = lim or 1.0
        ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=-lim, vmax=lim,
                  aspect="auto", interpolation="nearest")
        ax.grid(False)
        ax.set_facecolor("0.92")
        for (i, j), v in np.ndenumerate(values):
            dark = np.isfinite(v) and abs(v) > 0.6 * lim
            ax.text(j, i, f"{v:.1f}" if np.isfinite(v) else "n/a", ha="center", va="center",
                    color="white" if dark else ("0.4" if not np.isfinite(v) else "black"))
        ax.set_xticks(range(len(periods)), [_period_tick(p) for p in periods],
                      fontsize="small")
        ax.set_yticks(range(len(models)), models)
        ax.set(title=textwrap.fill(title, 26), xlabel="period", ylabel="")
    np.ravel(axes)[0].figure.suptitle(suptitle, fontsize="medium")
    return axes


def _period_tick(period: str, width: int = 14) -> str:
    """A period's label "NAME (START to END)" on short lines: the name broken after its
    underscores (an experiment id such as E05_M5_weekold_autumn2024), then the dates."""
    name, _, dates = str(period).rpartition(" (")
    if not name:  # no name: "START to END"
        return str(period).replace(" to ", "\nto ")
    lines, line = [], ""
    for part in re.split(r"(?<=_)", name):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return "\n".join([*lines, "(" + dates.replace(" to ", "\nto ")])

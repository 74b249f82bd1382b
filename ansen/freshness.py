"""The value of fresh grid data: MV peak cut against data age and forecast kind, same weeks.

The report's key finding: M5 cut the MV peaks by 4.2 % on average with fresh
grid data and by 1.4 % ("less than a third") when its forecasts came from
week-old data. The pilot ran the two in different seasons; this study runs
every data age over the *same* weeks, so that only the information differs:

- models: M5 and the two-layer M4+M5;
- data age of the grid measurements (:class:`ansen.controller.Information`):
  real time (the data's step: "15min" on the shipped village), "1h", "1D",
  "2D", "7D";
- forecast kind (:mod:`ansen.forecast`): ``persistence`` (every stream from
  the grid measurements themselves, PV included) and ``weather`` (PV from a
  day-ahead weather forecast, the rest from the measurements);
- the bound: ``perfect`` forecasts;
- baseline: M1 over the same periods.

The controller re-plans every hour (the simulator's default) from what it
knows then. Weekly MV peak reductions are pooled over the periods; the table
gives their mean, its 95 % interval over weeks and the best week, and for
each model and forecast the ratio of the real-time mean to the week-old mean
(the report: 4.2 / 1.4 = 3; a ratio of means) with its interval. Because every age runs over
the same weeks, the ages are also compared week by week (:func:`paired`): the
mean difference, its interval, and in how many weeks the fresher data did
better. A weekly peak is one step of the week, so single weeks are noisy; the
intervals say how far a mean over these weeks can be trusted, for this village
and this controller only, and each holds 95 % on its own: with many
comparisons in one table, some intervals miss 0 by chance.
Nothing is tuned to reach the report's numbers: the forecast errors follow
:mod:`ansen.weather` and the data age only moves the cut-off.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DATA_LAGS", "FORECASTS", "MODELS", "check_data_lags", "check_models",
           "check_periods", "check_variants", "interval", "lag_name", "paired", "plot",
           "ratio_interval", "run", "write"]

DATA_LAGS = ("15min", "1h", "1D", "2D", "7D")
FORECASTS = ("persistence", "weather")
MODELS = ("M5", "M4+M5")
#: How the data ages read in tables and figures.
LAG_NAMES = {"15min": "15 minutes", "1h": "1 hour", "1D": "1 day", "2D": "2 days",
             "7D": "7 days"}
#: Resamples of the bootstrap of the ratio fresh / week-old over weeks, and its seed (fixed:
#: a rerun gives the same intervals bit for bit).
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_241_028
#: Fewest paired weeks for the ratio's interval.
RATIO_MIN_WEEKS = 20
#: Two weekly MV peak reductions closer than this [percentage points] count as the same week
#: in :func:`paired` (the weekly peak is often the same step, untouched by either plan).
SAME_PP = 0.005


def interval(values, level: float = 0.95) -> tuple[float, float]:
    """The Student-t interval of the mean of ``values``: mean +- t(n-1) s / sqrt(n).

    Weeks are taken as independent, though neighbouring weeks share weather and season (on
    F02's weeks a bootstrap of 4-week blocks gives nearly the same intervals); with few weeks
    the interval is wide, as it should be (a percentile bootstrap, tried first, was too narrow
    with a dozen weeks: an outside check, 2026-12-06). Values that are not finite are left
    out; NaN for fewer than two finite values.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (np.nan, np.nan)
    mean, half = x.mean(), 0.0
    spread = x.std(ddof=1)
    if spread > 0:
        half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * spread / np.sqrt(len(x)))
    return (float(mean - half), float(mean + half))


def ratio_interval(fresh, old, level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of mean(``fresh``) / mean(``old``) over paired weeks
    (the same weeks drawn for both, :data:`BOOTSTRAP_RESAMPLES` times, seed
    :data:`BOOTSTRAP_SEED`: the same interval on a rerun with the same NumPy). NaN where fewer
    than :data:`RATIO_MIN_WEEKS` weeks are paired (a percentile interval of few weeks is too
    narrow), or where a resample's mean of either is at or below zero (a ratio of a gain to a
    loss means nothing)."""
    a, b = np.asarray(fresh, dtype=float), np.asarray(old, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < RATIO_MIN_WEEKS:
        return (np.nan, np.nan)
    idx = _draws(len(a))
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
    if (den <= 0).any() or (num <= 0).any():
        return (np.nan, np.nan)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(num / den, [tail, 100 - tail])
    return (float(low), float(high))


def _draws(n: int) -> np.ndarray:
    """The bootstrap's resamples of ``n`` weeks: indices, one row per resample."""
    return np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))


def paired(weekly: pd.DataFrame, names: dict | None = None) -> pd.DataFrame:
    """Fresher against older grid data, week by week, per model and forecast kind.

    Every age is compared with the freshest (real time) and with the next older age, over
    the weeks both have a finite value for (all weeks, as :func:`run` runs every age over
    the same weeks).

    Parameters
    ----------
    weekly : pandas.DataFrame
        :func:`run`'s ``weekly``: model, forecast, data_lag, period, week,
        mv_peak_reduction_pct.
    names : dict, optional
        data_lag -> how the age reads (e.g. "real time"); default the lag itself.

    Returns
    -------
    pandas.DataFrame
        One row per model, forecast and pair: ``fresher`` and ``older`` (data lags and
        their names), ``weeks``, ``difference_mean_pp`` (fresher minus older, mean over
        weeks, percentage points of MV peak reduction), ``difference_ci_low_pp`` and
        ``difference_ci_high_pp`` (95 % interval of that mean, :func:`interval`),
        and the weeks in which the fresher data did better (``fresher_better``), the same
        within :data:`SAME_PP` (``same``) or worse (``older_better``).
    """
    names = names or {}
    rows = []
    aged = weekly[weekly["forecast"] != "perfect"]
    for (model, kind), g in aged.groupby(["model", "forecast"], sort=False):
        wide = _by_week(g, model, kind)
        lags = sorted(wide.columns, key=pd.Timedelta)
        pairs = [(lags[0], lag) for lag in lags[1:]]
        pairs += [(a, b) for a, b in zip(lags[1:], lags[2:], strict=False)]
        for fresher, older in pairs:
            d = wide[fresher] - wide[older]
            d = d[np.isfinite(d)]
            low, high = interval(d)
            rows.append({
                "model": model, "forecast": kind, "fresher": fresher, "older": older,
                "fresher_age": names.get(fresher, fresher), "older_age": names.get(older, older),
                "weeks": len(d), "difference_mean_pp": float(d.mean()) if len(d) else np.nan,
                "difference_ci_low_pp": low, "difference_ci_high_pp": high,
                "fresher_better": int((d > SAME_PP).sum()),
                "same": int((d.abs() <= SAME_PP).sum()),
                "older_better": int((d < -SAME_PP).sum())})
    return pd.DataFrame(rows, columns=[
        "model", "forecast", "fresher", "older", "fresher_age", "older_age", "weeks",
        "difference_mean_pp", "difference_ci_low_pp", "difference_ci_high_pp",
        "fresher_better", "same", "older_better"])


def _by_week(g: pd.DataFrame, model: str, kind: str) -> pd.DataFrame:
    """One model's and forecast's weekly reductions, a row per (period, week) and a column
    per data lag; a week given twice for one age is refused (ValueError)."""
    twice = g.duplicated(["period", "week", "data_lag"])
    if twice.any():
        first = g[twice].iloc[0]
        raise ValueError(f"weekly results of {model}, {kind}: the week {first['week']} "
                         f"of data age {first['data_lag']} is there more than once")
    return g.pivot(index=["period", "week"], columns="data_lag", values="mv_peak_reduction_pct")


def check_data_lags(data_lags, village) -> pd.Timedelta:
    """The village's step, refusing data ages shorter than it (ValueError naming them)."""
    from ansen.data.schema import duration_text

    step = village.indexes["time"][1] - village.indexes["time"][0]
    short = [lag for lag in data_lags if pd.Timedelta(lag) < step]
    if short:
        raise ValueError(f"data ages {short} are shorter than the data's step "
                         f"({duration_text(step)}), the freshest a controller can know: drop "
                         "them (real time on this data is the step)")
    return step


def check_periods(periods) -> list[tuple[str, str]]:
    """``periods`` as (start, end) texts, refusing none and periods that overlap
    (ValueError naming them)."""
    periods = [(str(a), str(b)) for a, b in periods]
    if not periods:
        raise ValueError("the freshness study needs at least one period (start, end)")
    from ansen.metrics import MIN_WEEK_DAYS

    spans = sorted((pd.Timestamp(a), pd.Timestamp(b), f"{a} to {b}") for a, b in periods)
    for (start0, end0, one), (start1, end1, other) in zip(spans, spans[1:], strict=False):
        if start1 < end0:  # a day in two periods: its weeks would count twice
            raise ValueError(f"freshness periods {one} and {other} overlap (or are the same): "
                             "each week would count twice in the means; give periods apart")
        last = (end0 - pd.Timedelta(1, "ns")).normalize()
        monday = last - pd.Timedelta(days=last.weekday())  # of the first one's last week
        sunday_end = monday + pd.Timedelta(days=7)
        enough = pd.Timedelta(days=MIN_WEEK_DAYS)  # what makes a part of a week count
        if start1 < sunday_end and end0 - max(monday, start0) >= enough \
                and min(sunday_end, end1) - start1 >= enough:
            raise ValueError(f"freshness periods {one} and {other} each hold {MIN_WEEK_DAYS} "
                             f"days or more of the week of {monday.date()} (Monday to Sunday): "
                             "the study counts weeks, and that week would count twice, split "
                             "in two; give periods that share no week (e.g. each from a Monday "
                             "to a Monday)")
    return periods


def check_variants(models, forecasts, data_lags) -> None:
    """Refuse what the study cannot run as asked (ValueError naming it): a value given
    twice (its weeks would count twice), 'perfect' among the forecasts (it always runs, as
    the bound), an unknown forecast kind or data age, and the models :func:`check_models`
    refuses."""
    from collections import Counter

    from ansen.forecast import FORECASTS as KINDS

    usable = ", ".join(k for k in KINDS if k != "perfect")
    for what, values in (("models", models), ("forecasts", forecasts),
                         ("data ages", data_lags)):
        if isinstance(values, str):
            raise ValueError(f"freshness {what}: give a list, not the text {values!r}")
        if twice := sorted(v for v, n in Counter(values).items() if n > 1):
            raise ValueError(f"freshness {what}: {twice} given more than once; give each once")
        if not len(values):
            raise ValueError(f"the freshness study needs at least one of its {what}")
    check_models(models)
    if "perfect" in forecasts:
        raise ValueError("freshness forecasts: 'perfect' always runs, as the bound of every "
                         f"model; give the forecasts a controller could have ({usable})")
    if unknown := [f for f in forecasts if f not in KINDS]:
        raise ValueError(f"freshness forecasts {unknown}: use any of {usable}")
    if unknown := [lag for lag in data_lags if lag not in LAG_NAMES]:
        raise ValueError(f"freshness data ages {unknown}: use any of {', '.join(LAG_NAMES)} "
                         "(the table names them)")


def check_models(models) -> None:
    """Refuse the baseline M1 and 'none' as studied models (ValueError): every run is
    measured against M1, so M1 gives zeros, and 'none' steers nothing."""
    if not list(models):
        raise ValueError("the freshness study needs at least one model")
    if bad := [m for m in models if m in ("M1", "none")]:
        raise ValueError(f"models {bad}: the freshness study measures each model against M1 "
                         "(its baseline) and 'none' steers no battery; choose steering models "
                         "such as M5 or M4+M5")


def lag_name(lag: str, step: pd.Timedelta) -> str:
    """How a data age reads in tables and figures: "real time" when it is the data's step."""
    return "real time" if pd.Timedelta(lag) == step else LAG_NAMES[lag]


def run(village, periods, *, models=MODELS, data_lags=DATA_LAGS, forecasts=FORECASTS,
        solver: str = "highs", seed: int = 0, tariff=None, progress=None, log=None,
        **params) -> dict:
    """Simulate every model x forecast x data age (and the perfect bound) over ``periods``.

    Parameters
    ----------
    village : xarray.Dataset
    periods : list of (start, end)
        Local dates, end exclusive; the same for every variant.
    models, data_lags, forecasts : sequences
        See the module docstring.
    solver, seed, tariff, progress :
        As :func:`ansen.simulate` (``seed``: of the weather forecast's errors).
    log : callable, optional
        Called with one line of text before each run ("run 3 of 11: M5, persistence
        forecasts, grid data 1 day old, 2024-08-05 to 2025-12-01"), so that a long study
        shows where it is (the notebook prints them to stderr, which ``ansen freshness``
        shows as they come).
        The lines hold no times, so an executed notebook stays the same from run to run.
    **params
        Model parameters for every run (e.g. ``mv_peak_eur_per_kw``).

    Returns
    -------
    dict
        ``table`` (one row per model, forecast, data age: mean weekly MV peak
        reduction [%] with its 95 % interval over weeks (:func:`interval`), the best week,
        weeks, the ratio real-time / week-old, cycles, saving [EUR per battery household and
        month, before battery wear] against
        M1; the ratio's 95 % interval, :func:`ratio_interval`), ``weekly`` (every week's
        reduction, long format), ``paired`` (the ages compared week by week,
        :func:`paired`), ``periods``, ``replan_lookahead_hours`` (of the runs) and
        ``warnings`` (each text the runs warned once, with the runs that gave it; said
        again as it first comes) and ``warning_count`` (the warnings of all runs).
    """
    import ansen
    from ansen.metrics import battery_use, cost_saving, weekly_mv_peak_reduction
    from ansen.scenarios import tariff_of

    periods = check_periods(periods)
    models, forecasts, data_lags = (v if isinstance(v, str) else list(v)  # read once
                                    for v in (models, forecasts, data_lags))
    check_variants(models, forecasts, data_lags)
    tariff = tariff or tariff_of(village)  # steered and billed alike
    from ansen.data.schema import duration_text

    step = check_data_lags(data_lags, village)
    # the perfect-forecast bound needs no grid data: its data age is real time, the step
    variants = [(m, "perfect", duration_text(step)) for m in models] + [
        (m, f, lag) for m in models for f in forecasts for lag in data_lags]
    weekly, other = [], {}
    bases, lookahead, said = {}, None, {}  # warning text -> the runs that gave it
    for start, end in periods:  # every period's baseline first: a bad period fails at once
        base = bases[start, end] = ansen.simulate(village, "M1", start, end, progress=progress,
                                                  tariff=tariff)
        if not len(weekly_mv_peak_reduction(base, base)):
            raise ValueError(
                f"the freshness study measures MV peak reductions per local week (Monday to "
                f"Sunday) with at least three days in the period; {start} to {end} holds no "
                "such week: give a longer period (a whole week or more)")
    total, done = len(periods) * len(variants), 0
    for start, end in periods:
        common = {"solver": solver, "progress": progress, "tariff": tariff}
        base = bases[start, end]
        for model, kind, lag in variants:
            done += 1
            if log is not None:
                name = lag_name(lag, step)
                age = ("" if kind == "perfect" else ", grid data in real time"
                       if name == "real time" else f", grid data {name} old")
                log(f"run {done} of {total}: {model}, {kind} forecasts{age}, {start} to {end}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                r = ansen.simulate(village, model, start, end, forecast=kind, data_lag=lag,
                                   seed=seed, **common, **params)
            for w in caught:  # said again here (once per text), and kept for freshness.md
                runs = said.setdefault(str(w.message), [])
                label = f"{model}, {kind}, data age {lag}, {start} to {end}"
                if not runs:
                    warnings.warn(f"{label}: {w.message}", w.category, stacklevel=2)
                if label not in runs:
                    runs.append(label)
            lookahead = json.loads(r.attrs["params"])["replan_lookahead_hours"]
            w = weekly_mv_peak_reduction(r, base)
            weekly += [{"model": model, "forecast": kind, "data_lag": lag, "period": start,
                        "week": str(wk.date()), "mv_peak_reduction_pct": float(v)}
                       for wk, v in w.items()]
            money = cost_saving(r, base, tariff)
            acc = other.setdefault((model, kind, lag), [])
            acc.append((r.sizes["time"], battery_use(r)["equivalent_full_cycles"],
                        money["saving_eur_per_household_month"]))
    weekly = pd.DataFrame(weekly)
    rows = []
    for (model, kind, lag), acc in other.items():
        w = weekly[(weekly["model"] == model) & (weekly["forecast"] == kind)
                   & (weekly["data_lag"] == lag)]["mv_peak_reduction_pct"]
        if not np.isfinite(w).all():  # a week whose baseline MV peak is zero, say
            warnings.warn(f"freshness: {model}, {kind}, data age {lag}: "
                          f"{int((~np.isfinite(w)).sum())} of {len(w)} weeks have no finite MV "
                          "peak reduction; the means and intervals leave them out "
                          "(weekly.csv keeps them)", stacklevel=2)
            w = w[np.isfinite(w)]
        steps = np.array([a[0] for a in acc], dtype=float)
        low, high = interval(w)
        rows.append({
            "model": model, "forecast": kind, "data_lag": lag,
            "data_age": lag_name(lag, step) if kind != "perfect" else "perfect forecasts",
            "mv_peak_reduction_mean_pct": float(w.mean()) if len(w) else np.nan,
            "mv_peak_reduction_ci_low_pct": low, "mv_peak_reduction_ci_high_pct": high,
            "mv_peak_reduction_best_week_pct": float(w.max()) if len(w) else np.nan,
            "weeks": len(w),
            "equivalent_full_cycles": float(sum(a[1] for a in acc)),
            "saving_eur_per_household_month": float(np.average([a[2] for a in acc],
                                                               weights=steps)),
        })
    freshest = min(data_lags, key=pd.Timedelta)
    # the ratio is real time over week-old: without real time among the ages, none
    table = _with_ratios(pd.DataFrame(rows), freshest if pd.Timedelta(freshest) == step
                         else None)
    table["fresh_over_week_old_ci_low"] = np.nan
    table["fresh_over_week_old_ci_high"] = np.nan
    for i in table.index[table["fresh_over_week_old"].notna()]:
        model, kind = table.at[i, "model"], table.at[i, "forecast"]
        wide = _by_week(weekly[(weekly["model"] == model) & (weekly["forecast"] == kind)],
                        model, kind)
        table.loc[i, ["fresh_over_week_old_ci_low", "fresh_over_week_old_ci_high"]] = (
            ratio_interval(wide[freshest], wide["7D"]))
    names = {lag: lag_name(lag, step) for lag in data_lags}
    return {"table": table, "weekly": weekly, "paired": paired(weekly, names),
            "periods": periods, "replan_lookahead_hours": lookahead,
            "warnings": [_runs_text(text, runs) for text, runs in said.items()],
            "warning_count": sum(len(runs) for runs in said.values()),
            "village": str(village.attrs.get("name", "?")), "tariff": tariff.label}


def _runs_text(text: str, runs: list) -> str:
    """A warning as freshness.md lists it: the runs that gave it, then its text."""
    if len(runs) == 1:
        return f"{runs[0]}: {text}"
    return (f"{runs[0]} (and {len(runs) - 1} other run(s): {'; '.join(runs[1:])}): {text}")


def _with_ratios(table: pd.DataFrame, freshest: str | None) -> pd.DataFrame:
    """``table`` with ``fresh_over_week_old``: per model and forecast, the mean MV peak
    reduction with data of age ``freshest`` (real time: the shortest age asked) over that
    with week-old data, on the fresh row; NaN elsewhere, and where either reduction is at or
    below zero (a ratio of a gain to a loss means nothing); none at all with ``freshest``
    None (real time not among the ages) or week-old itself."""
    table = table.copy()
    table["fresh_over_week_old"] = np.nan
    if freshest is None or freshest == "7D":
        return table
    for (_, kind), g in table.groupby(["model", "forecast"]):
        fresh = g.loc[g["data_lag"] == freshest, "mv_peak_reduction_mean_pct"]
        old = g.loc[g["data_lag"] == "7D", "mv_peak_reduction_mean_pct"]
        if kind != "perfect" and len(fresh) and len(old) and old.iloc[0] > 0 \
                and fresh.iloc[0] > 0:
            table.loc[g.index[g["data_lag"] == freshest], "fresh_over_week_old"] = (
                fresh.iloc[0] / old.iloc[0])
    return table


def plot(table: pd.DataFrame, axes=None):
    """MV peak reduction against data age, a line per forecast kind, a panel per model.

    Bars: the 95 % interval of each mean over weeks (where the table has it); the weeks
    behind each mean in the panel's title. The
    perfect-forecast bound is a dashed line; the report's two M5 figures (4.2 % fresh,
    1.4 % week-old) are grey crosses.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(table["model"]))
    if axes is None:
        _, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 5.4), squeeze=False,
                               sharey=True, layout="constrained")
        axes = axes[0]
    aged = table[table["forecast"] != "perfect"]
    # the ages asked (the perfect bound's own age, the step, is not one unless asked)
    lags = [lag for lag in DATA_LAGS if lag in set(aged["data_lag"])]
    real_time = set(table.loc[table["forecast"] == "perfect", "data_lag"])
    names = dict(zip(aged["data_lag"], aged["data_age"], strict=True))  # "real time": the step
    x = np.arange(len(lags))
    for ax, model in zip(axes, models, strict=True):
        t = table[table["model"] == model]
        kinds = [k for k in dict.fromkeys(t["forecast"]) if k != "perfect"]
        for i, kind in enumerate(kinds):
            g = t[t["forecast"] == kind].set_index("data_lag").reindex(lags)
            mean = g["mv_peak_reduction_mean_pct"]
            shift = (i - (len(kinds) - 1) / 2) * 0.08  # the kinds' intervals side by side
            if "mv_peak_reduction_ci_low_pct" in g:
                yerr = np.vstack([mean - g["mv_peak_reduction_ci_low_pct"],
                                  g["mv_peak_reduction_ci_high_pct"] - mean])
                ax.errorbar(x + shift, mean, yerr=yerr, fmt="none", ecolor=f"C{i}", elinewidth=1,
                            capsize=3, alpha=0.7)
            ax.plot(x + shift, mean, marker="o", color=f"C{i}", label=f"{kind} forecast")
        bound = t[t["forecast"] == "perfect"]["mv_peak_reduction_mean_pct"]
        if len(bound):
            ax.axhline(bound.iloc[0], color="k", ls="--", lw=1,
                       label=f"perfect forecasts {bound.iloc[0]:.1f} %")
        if model == "M5":
            fresh = [i for i, lag in enumerate(lags) if lag in real_time]
            if fresh:  # the report's fresh figure is of real-time data
                ax.plot([x[fresh[0]]], [4.2], "x", color="grey", ms=9, mew=2,
                        label="Ansen pilot report: fresh 4.2 %")
            if "7D" in lags:
                ax.plot([x[lags.index("7D")]], [1.4], "x", color="dimgrey", ms=9, mew=2,
                        label="Ansen pilot report: week-old 1.4 %")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xticks(x, [names.get(lag, lag) for lag in lags])
        ax.set(xlabel="age of the grid data at the decision",
               ylabel="MV peak reduction, mean of weeks [%]\n(bars: 95 % interval)",
               title=f"{model} vs M1" + _weeks_text(t))
        # below the axes: inside, it covered error bars (and which ones depends on the data)
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    return axes


def _weeks_text(t: pd.DataFrame) -> str:
    """ ", 69 weeks" when every point of a panel is a mean of as many weeks (else ", 11-12
    weeks"), for the panel's title."""
    weeks = t["weeks"].dropna().astype(int) if "weeks" in t else pd.Series(dtype=int)
    if not len(weeks):
        return ""
    low, high = int(weeks.min()), int(weeks.max())
    return f", {low} weeks" if low == high else f", {low}-{high} weeks"


def write(result: dict, folder, *, experiment_id: str = "freshness", experiment=None,
          data=None, solver: str = "highs") -> list[Path]:
    """Write ``freshness.csv``, ``freshness.md``, ``weekly.csv``, ``paired.csv``,
    ``metrics.csv`` and the figure.

    ``metrics.csv`` holds the table with the columns the summary reads
    (``experiment``, ``baseline`` M1), so that :mod:`ansen.report` can put
    the like-for-like fresh vs week-old figures next to the report's. With
    ``experiment`` (the schedule row), ``provenance.json`` is written last.
    """
    import matplotlib.pyplot as plt

    from ansen import plots
    from ansen.io import atomic_path, write_table
    from ansen.provenance import withdraw, write_provenance

    folder = Path(folder)
    withdraw(folder)  # the old result's files go, listed or not rewritten
    table = result["table"]
    metrics = table.assign(experiment=experiment_id, baseline="M1")
    metrics = metrics[["experiment", "baseline", *table.columns]]
    written = [write_table(table.set_index(["model", "forecast", "data_lag"]),
                           folder / "freshness.csv"),
               write_table(result["weekly"].set_index(["model", "forecast", "data_lag"]),
                           folder / "weekly.csv"),
               write_table(metrics.set_index("experiment"), folder / "metrics.csv")]
    if "paired" in result:
        written.append(write_table(result["paired"].set_index(["model", "forecast", "fresher",
                                                                "older"]),
                                   folder / "paired.csv"))
    with atomic_path(folder / "freshness.md") as tmp:
        tmp.write_text(markdown(result))
    written.append(folder / "freshness.md")
    plots.set_theme()
    axes = plot(table)
    fig = np.ravel(axes)[0].figure
    written += plots.write_figure(fig, folder / "freshness")
    plt.close(fig)
    if experiment is not None:
        written.append(write_provenance(folder, experiment, written, data=data, solver=solver))
    return written


def _lookahead_text(hours) -> str:
    """How the header says when a re-plan solves."""
    if hours is None:
        return " and solves every re-plan whose inputs changed (replan_lookahead_hours=None)"
    if hours == "?":
        return ""
    return (f" and solves a re-plan when the inputs of its next {hours:g} hours changed "
            f"(replan_lookahead_hours={hours:g}; docs/models.md, Planner)")


def markdown(result: dict) -> str:
    """The table as Markdown, with the periods, the means' intervals and the paired
    comparison of the ages."""
    t = result["table"]

    def fmt(x, digits=2):
        if pd.isna(x):
            return "n/a"
        text = f"{x:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"

    def span(low, high):
        return "n/a" if pd.isna(low) or pd.isna(high) else f"{fmt(low)} to {fmt(high)}"

    notes = result.get("warnings") or []
    lines = ["# MV peak reduction against the age of the grid data (same weeks)", "",
             f"Village: {result.get('village', '?')}; tariff: {result.get('tariff', '?')} "
             "(the data file and code: provenance.json). "
             "Periods: " + "; ".join(f"{a} to {b}" for a, b in result["periods"])
             + " (local dates, end exclusive). Baseline M1 over the same periods; the "
             "controller re-plans every hour" + _lookahead_text(result.get(
                 "replan_lookahead_hours", "?")) + ". Report (NO-GIZMOS 2026): M5 4.2 % with "
             "fresh data, 1.4 % with week-old data (ratio 3), in different seasons.", "",
             "How to read it: the data age is how old the grid measurements (transformers, "
             "MV feeder) are when the controller decides; the batteries' own meters are always "
             "known at once. Real time is the data's own step. Weeks are local Monday to "
             "Sunday weeks with at least three days in a period (a shorter edge of a period is "
             "left out, a longer one counts as a week). The real time / week-old column is the "
             "ratio of the two means, n/a where real time or 7 days are not among the ages or "
             "a mean is at or below zero."
             + (f" **The runs gave {result.get('warning_count', len(notes))} warning(s), "
                f"{len(notes)} distinct; see 'Warnings of the runs' at the end: a warning may "
                "mean a result is not what it says.**" if notes else ""),
             "",
             "| model | forecast | data age | MV peak reduction, mean [%] | best week [%] | "
             "weeks | real time / week-old | full cycles per battery, all periods | "
             "saving vs M1 [EUR/battery household/month, before wear] |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        lines.append(f"| {r['model']} | {r['forecast']} | {r['data_age']} | "
                     f"{fmt(r['mv_peak_reduction_mean_pct'])} | "
                     f"{fmt(r['mv_peak_reduction_best_week_pct'])} | {r['weeks']} | "
                     f"{fmt(r['fresh_over_week_old'])} | {fmt(r['equivalent_full_cycles'], 1)} | "
                     f"{fmt(r['saving_eur_per_household_month'])} |")
    if "mv_peak_reduction_ci_low_pct" in t:
        ratio = "fresh_over_week_old_ci_low" in t
        lines += ["", "95 % intervals over the weeks, the weeks taken as independent: of each "
                  "mean a Student-t interval (ansen.freshness.interval), of the ratio real time "
                  "/ week-old (a ratio of the two means) a percentile bootstrap of paired weeks "
                  f"with a fixed seed, given from {RATIO_MIN_WEEKS} weeks on and where the "
                  "resampled means stay above zero (ratio_interval). They describe the spread "
                  "of these weeks in this village under this controller, nothing beyond:", "",
                  "| model | forecast | data age | mean [%] | 95 % interval [%] |"
                  + (" real time / week-old | 95 % interval |" if ratio else ""),
                  "|---|---|---|---|---|" + ("---|---|" if ratio else "")]
        lines += [f"| {r['model']} | {r['forecast']} | {r['data_age']} | "
                  f"{fmt(r['mv_peak_reduction_mean_pct'])} | "
                  + span(r['mv_peak_reduction_ci_low_pct'], r['mv_peak_reduction_ci_high_pct'])
                  + " |"
                  + (f" {fmt(r['fresh_over_week_old'])} | "
                     + span(r['fresh_over_week_old_ci_low'], r['fresh_over_week_old_ci_high'])
                     + " |" if ratio else "")
                  for _, r in t.iterrows()]
    p = result.get("paired")
    if p is not None and len(p):
        lines += ["", "## Fresher against older data, week by week", "",
                  "Every age ran over the same weeks, so each week compares them directly: "
                  "the mean of (fresher minus older) weekly MV peak reductions, in percentage "
                  "points, its 95 % interval, and the weeks in which the fresher data cut the "
                  f"peak more, the same (within {SAME_PP} points) or less. An interval that "
                  "holds 0 means these weeks do not tell the two ages apart. Each interval "
                  f"holds 95 % on its own, not adjusted for the table's {len(p)} comparisons: "
                  "among that many, one or two missing 0 by chance is to be expected.", "",
                  "| model | forecast | fresher | older | weeks | mean difference [pp] | "
                  "95 % interval [pp] | fresher better | same | older better |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['forecast']} | {r['fresher_age']} | {r['older_age']} | "
                  f"{r['weeks']} | {fmt(r['difference_mean_pp'])} | "
                  + span(r['difference_ci_low_pp'], r['difference_ci_high_pp']) + " | "
                  f"{r['fresher_better']} | {r['same']} | {r['older_better']} |"
                  for _, r in p.iterrows()]
    if notes:
        lines += ["", "## Warnings of the runs", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"

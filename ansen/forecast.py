"""Forecasts for the planner: perfect, persistence, same-weekday profile (and weather).

Every forecaster answers one question: at a decision, what are the values of
a series at steps ``t0 .. t0+n-1``, knowing only the steps before a cut-off
``cutoff`` (the first step not yet known, set by the controller's
:class:`ansen.controller.Information`: real-time own meters, grid
measurements with their data age)? Steps before the cut-off are known and
returned as measured; the rest is forecast:

- ``perfect``: the actual values (an upper bound on what steering can do;
  the only kind that reads past the cut-off);
- ``persistence``: the value at the same time of day on the most recent day
  that is known, :math:`\\hat x_t = x_{t - k D}` with :math:`D` steps per
  day and :math:`k \\ge 1` the smallest whole number of days for which
  :math:`t - kD` lies before the cut-off;
- ``profile``: the mean of the same time of the same weekday over the
  ``weeks`` most recent known weeks (a simple fitted forecast);
- ``weather``: PV from a day-ahead irradiance forecast with published error
  statistics, the rest from recent measurements with an intraday correction
  (:mod:`ansen.weather`).

Index arithmetic is in steps of the data's step length in UTC, so around a
DST change "the same time of day" is one local hour off for a day. At the
start of the data, where no earlier day exists (a run that starts with the
data), forecasts borrow the same time of the first day of the data: a
warm-up that reads past the cut-off: the simulator counts the decisions
that did (``attrs["warmup_decisions"]``, a column of the sweep store) and
warns. A forecast whose history reaches before the data's start (a profile of
four weeks on a run less than four weeks after the data begin) does not read
the future, but the data's first day stands in for the days before it: the
simulator counts those decisions too (``attrs["padded_decisions"]``) and
warns, naming the first start that avoids both, or saying that the data are
too short for any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FORECASTS", "Forecaster", "Forecasts", "evaluate", "make_forecasts"]

FORECASTS = ("perfect", "persistence", "profile", "weather")


@dataclass(frozen=True)
class Forecaster:
    """A forecast method on series with ``steps_per_day`` steps a day.

    Parameters
    ----------
    kind : {"perfect", "persistence", "profile"}
    steps_per_day : int
        Steps per day (96 for 15 minutes).
    weeks : int
        Weeks averaged by ``profile``.
    """

    kind: str = "persistence"
    steps_per_day: int = 96
    weeks: int = 4

    def __post_init__(self):
        if self.kind not in FORECASTS:
            raise ValueError(f"unknown forecast {self.kind!r}; known: {', '.join(FORECASTS)}")
        if self.kind == "weather":
            raise ValueError("the weather forecast needs the village: use "
                             "ansen.weather.WeatherForecaster")
        if int(self.steps_per_day) != self.steps_per_day or self.steps_per_day < 1:
            raise ValueError(f"steps_per_day must be a whole number >= 1, got "
                             f"{self.steps_per_day}")

    @property
    def history_days(self) -> int:
        """Days before the cut-off the forecast may read."""
        return {"perfect": 0, "persistence": 1, "profile": 7 * self.weeks}[self.kind]

    def source_steps(self, t0: int, n: int, cutoff: int) -> np.ndarray:
        """Indices of the data used for each target step, shape (n,) or (n, weeks).

        Targets before ``cutoff`` are their own source (known); the others are
        whole days (``persistence``) or weeks (``profile``) before them and
        before ``cutoff``; negative indices (before the data) wrap into the
        first day of the data.
        """
        return self._wrap(self._sources(t0, n, cutoff))

    def _wrap(self, src: np.ndarray) -> np.ndarray:
        """:meth:`_sources` with the indices before the data wrapped into its first day."""
        return np.where(src < 0, src % self.steps_per_day, src)

    def reads_before_data(self, t0: int, n: int, cutoff: int) -> bool:
        """Whether the forecast for these steps needs data from before the data's start,
        where the first day of the data stands in (:meth:`source_steps`)."""
        return self.kind != "perfect" and bool((self._sources(t0, n, cutoff) < 0).any())

    def _sources(self, t0: int, n: int, cutoff: int) -> np.ndarray:
        """:meth:`source_steps` before the wrap (negative: before the data)."""
        d = self.steps_per_day
        target = t0 + np.arange(n)
        if self.kind == "perfect":
            src = target
        elif self.kind == "persistence":
            k = np.maximum(1, -((cutoff - target - 1) // d))  # ceil((target-cutoff+1)/d)
            src = np.where(target < cutoff, target, target - k * d)
        else:
            w = 7 * d
            j0 = np.maximum(1, -((cutoff - target - 1) // w))
            src = target[:, None] - (j0[:, None] + np.arange(self.weeks)) * w
            src = np.where((target < cutoff)[:, None], target[:, None], src)
        return src

    def __call__(self, series: np.ndarray, t0: int, n: int, cutoff: int) -> np.ndarray:
        """Forecast ``series[t0:t0+n]`` (time first, any trailing shape) knowing ``series[:cutoff]``.

        Reads only ``series[:cutoff]`` (except ``perfect`` and the warm-up at
        the start of the data, see the module docstring).
        """
        return self.forecast_from(series, self.source_steps(t0, n, cutoff), cutoff)

    def forecast_from(self, series: np.ndarray, src: np.ndarray, cutoff: int) -> np.ndarray:
        """The forecast read at :meth:`source_steps` ``src`` (the mean over the weeks of a
        profile)."""
        if self.kind != "perfect":
            series = series[:max(cutoff, min(self.steps_per_day, len(series)))]
        if src.ndim == 1:
            return series[src]
        return series[src].mean(axis=1)

    def reads_past(self, t0: int, n: int, cutoff: int) -> bool:
        """Whether the forecast for these steps needs data at or after ``cutoff`` (warm-up)."""
        return self.kind != "perfect" and bool((self.source_steps(t0, n, cutoff) >= cutoff).any())


class Forecasts:
    """Forecasts of the planner's streams with a :class:`ansen.forecast.Forecaster`.

    Streams: ``net`` (T, B) the battery sites' net exchange without battery
    (the fleet's own meters, real time); ``transformer`` (T, K) and ``mv``
    (T,) without the fleet's batteries (grid measurements, ``data_lag``).
    """

    def __init__(self, forecaster, known, net, transformer, mv):
        self.forecaster = forecaster
        self.known = known
        self.net, self.transformer, self.mv = net, transformer, mv
        self.warmup = 0  # forecasts that read past their cut-off
        self.padded = 0  # forecasts that read before the data (the first day stands in)

    def series(self, x: np.ndarray, t0: int, n: int, cutoff: int) -> np.ndarray:
        """Forecast of any series (time first) for steps t0..t0+n-1 knowing x[:cutoff]."""
        f = self.forecaster
        if f.kind == "perfect":
            return f(x, t0, n, cutoff)
        raw = f._sources(t0, n, cutoff)  # once: the counts and the forecast share it
        src = f._wrap(raw)  # as source_steps gives it
        self.warmup += bool((src >= cutoff).any())
        self.padded += bool((raw < 0).any())
        return f.forecast_from(x, src, cutoff)

    def horizon(self, t0: int, n: int, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(net0, transformer0, mv0) for steps t0..t0+n-1 at decision step ``now``."""
        own, grid = self.known.own_cutoff(now), self.known.grid_cutoff(now)
        return (self.series(self.net, t0, n, own), self.series(self.transformer, t0, n, grid),
                self.series(self.mv, t0, n, grid))


def history_days(kind: str) -> int:
    """Days of data before the cut-off a forecast of ``kind`` reads."""
    if kind == "weather":
        from ansen.weather import LOAD_DAYS

        return LOAD_DAYS
    return Forecaster(kind).history_days


def make_forecasts(kind: str, village, w0: int, run, known, sites, transformer, mv,
                   seed: int = 0, start: int | None = None):
    """The planner's forecasts of ``kind`` on a run's slice of a village.

    Parameters
    ----------
    kind : str
        One of :data:`FORECASTS`.
    village : xarray.Dataset
        The whole village (``weather`` estimates properties of the village on it).
    w0 : int
        Index of ``run`` (the run and its history) in ``village``.
    run : xarray.Dataset
    known : ansen.controller.KnownData
    sites : indices of the battery sites
    transformer, mv : (T, K), (T,) the grid without the fleet's batteries [kW]
    seed : int
        Seed of the weather forecast's errors.
    start : int, optional
        Index of the run's first step in ``village`` (``weather`` fits the PV
        shares of the grid series on the data before it).
    """
    from ansen.data.schema import step_hours

    if kind not in FORECASTS:
        raise ValueError(f"unknown forecast {kind!r}; known: {', '.join(FORECASTS)}")
    if kind == "weather":
        from ansen.weather import WeatherForecasts

        return WeatherForecasts(village, w0, run, known, transformer, mv, sites, seed=seed,
                                start=start)
    net = (run["load_kw"].values - run["pv_kw"].values)[:, sites]
    forecaster = Forecaster(kind, steps_per_day=round(24 / step_hours(run)))
    return Forecasts(forecaster, known, net, transformer, mv)


LEADS_H = ((0, 1), (1, 6), (6, 12), (12, 24), (24, 36))


def evaluate(village, start=None, end=None, *, forecasts=("persistence", "profile", "weather"),
             data_lag="15min", every_hours: int = 1, horizon_hours: int = 36,
             decision_hour: int = 13, seed: int = 0):
    """Skill of the planner's forecasts against the actual data, by stream and lead time.

    At a decision every ``every_hours`` of the period, each forecast kind
    predicts the next ``horizon_hours`` of every stream the planner uses,
    knowing what the information model allows (``data_lag`` for the grid):
    ``sites`` (the battery sites' net exchange without battery, summed),
    ``sites_pv`` (their PV, for the comparison with published PV errors),
    ``transformer <k>`` and ``mv`` (without the fleet's batteries).

    Returns
    -------
    pandas.DataFrame
        A row per (stream, forecast, lead interval [h]): ``mae_kw``,
        ``rmse_kw``, ``skill`` = 1 - RMSE / RMSE of persistence (same data
        age), ``rmse_pct_of_rating_daylight`` (``sites_pv``: RMSE over the
        steps with PV, in % of the installed kWp),
        and for the forecasts made at ``decision_hour`` for the next local
        day (lead interval "next day"): ``peak_time_error_h`` (mean absolute
        error in the hour of the day's largest absolute value) and
        ``peak_size_error_pct`` (mean error of its size, % of the actual).
    """
    import pandas as pd

    from ansen.controller import Information
    from ansen.data.schema import _as_utc, local_time, step_hours, validate

    village = validate(village, start=start, end=end)
    times = village.indexes["time"]
    dt = step_hours(village)
    spd = round(24 / dt)
    i0 = 0 if start is None else int(times.searchsorted(_as_utc(start, village)))
    i1 = len(times) if end is None else int(times.searchsorted(_as_utc(end, village)))
    known = Information(data_lag=data_lag).bind(times)
    local = local_time(village)
    sites = np.flatnonzero(village["battery_kwh"].values > 0)
    households = list(village["household_transformer"].values.astype(str))
    names = list(village["transformer"].values.astype(str))
    onehot = np.zeros((len(households), len(names)))
    onehot[np.arange(len(households)), [names.index(h) for h in households]] = 1.0
    net = village["load_kw"].values - village["pv_kw"].values
    transformer = net @ onehot + village["transformer_rest_kw"].values
    mv = village["mv_kw"].values
    actual = {"sites": net[:, sites].sum(axis=1), "sites_pv": village["pv_kw"].values[:, sites]
              .sum(axis=1), "mv": mv, **{f"transformer {k}": transformer[:, j]
                                        for j, k in enumerate(names)}}
    kinds = list(dict.fromkeys(["persistence", *forecasts]))
    n = round(horizon_hours / dt)
    step = round(every_hours / dt)
    decisions = [t for t in range(i0, i1 - n, step)]
    rows, errors, peaks = [], {}, {}
    for kind in kinds:
        fc = make_forecasts(kind, village, 0, village, known, sites, transformer, mv, seed=seed,
                            start=i0)
        err = {s: np.full((len(decisions), n), np.nan) for s in actual}
        for d, t in enumerate(decisions):
            net0, tr0, mv0 = fc.horizon(t, n, t)
            pred = {"sites": net0.sum(axis=1), "mv": mv0,
                    **{f"transformer {k}": tr0[:, j] for j, k in enumerate(names)}}
            if kind == "weather":
                pred["sites_pv"] = fc.site_pv_forecast(t, n, t).sum(axis=1)
            elif kind == "perfect":
                pred["sites_pv"] = actual["sites_pv"][t:t + n]
            else:  # the PV of the sites by the same method as their net exchange
                pv = village["pv_kw"].values[:, sites].sum(axis=1)
                pred["sites_pv"] = fc.series(pv, t, n, known.own_cutoff(t))
            for s, p in pred.items():
                err[s][d] = p - actual[s][t:t + n]
            if local[t].hour == decision_hour and local[t].minute == 0:
                nxt = np.flatnonzero(local[t:t + n].normalize() == (local[t].normalize()
                                      + pd.Timedelta(days=1)).normalize())
                if len(nxt) >= 0.9 * spd:
                    for s, p in pred.items():
                        a = actual[s][t + nxt]
                        fa, ff = int(np.argmax(np.abs(a))), int(np.argmax(np.abs(p[nxt])))
                        peaks.setdefault((kind, s), []).append(
                            (abs(ff - fa) * dt, 100.0 * (np.abs(p[nxt]).max() / max(
                                np.abs(a).max(), 1e-9) - 1.0)))
        errors[kind] = err
    lead = np.arange(n) * dt
    pv_sites = actual["sites_pv"]
    daylight = np.array([pv_sites[t:t + n] for t in decisions]).reshape(len(decisions), n) > 0
    kwp = (float(village["pv_kwp"].values[sites].sum()) if "pv_kwp" in village
           else float(village["pv_kw"].values[:, sites].max(axis=0).sum()))
    for kind in kinds:
        for s in actual:
            for lo, hi in LEADS_H:
                sel = (lead >= lo) & (lead < hi)
                if not sel.any():
                    continue
                e = errors[kind][s][:, sel]
                ref = errors["persistence"][s][:, sel]
                rmse = float(np.sqrt(np.nanmean(e ** 2)))
                rmse_p = float(np.sqrt(np.nanmean(ref ** 2)))
                pct = np.nan
                if s == "sites_pv" and kwp > 0:  # over daylight steps, as PV errors are quoted
                    lit = daylight[:, sel]
                    pct = 100.0 * float(np.sqrt(np.nanmean(e[lit] ** 2))) / kwp if lit.any() \
                        else np.nan
                rows.append({"stream": s, "forecast": kind, "lead_h": f"{lo}-{hi}",
                             "mae_kw": float(np.nanmean(np.abs(e))), "rmse_kw": rmse,
                             "skill": 1.0 - rmse / rmse_p if rmse_p > 0 else np.nan,
                             "rmse_pct_of_rating_daylight": pct})
            pk = np.array(peaks.get((kind, s), []))
            if len(pk):
                rows.append({"stream": s, "forecast": kind, "lead_h": "next day",
                             "peak_time_error_h": float(pk[:, 0].mean()),
                             "peak_size_error_pct": float(pk[:, 1].mean())})
    out = pd.DataFrame(rows)
    out.attrs.update(data_lag=str(data_lag), decisions=len(decisions), seed=seed)
    return out

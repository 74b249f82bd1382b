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
warm-up that reads past the cut-off, counted by the simulator
(``attrs["warmup_decisions"]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FORECASTS", "Forecaster"]

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
        return np.where(src < 0, src % d, src)

    def __call__(self, series: np.ndarray, t0: int, n: int, cutoff: int) -> np.ndarray:
        """Forecast ``series[t0:t0+n]`` (time first, any trailing shape) knowing ``series[:cutoff]``.

        Reads only ``series[:cutoff]`` (except ``perfect`` and the warm-up at
        the start of the data, see the module docstring).
        """
        src = self.source_steps(t0, n, cutoff)
        if self.kind != "perfect":
            series = series[:max(cutoff, min(self.steps_per_day, len(series)))]
        if src.ndim == 1:
            return series[src]
        return series[src].mean(axis=1)

    def reads_past(self, t0: int, n: int, cutoff: int) -> bool:
        """Whether the forecast for these steps needs data at or after ``cutoff`` (warm-up)."""
        return self.kind != "perfect" and bool((self.source_steps(t0, n, cutoff) >= cutoff).any())

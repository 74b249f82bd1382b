"""Forecasts for the rolling horizon: perfect, persistence, same-weekday profile.

All forecasters answer the same question: at decision step ``t0``, what are
the values of a series at steps ``t0 .. t0+n-1``? They work on whole arrays
(time first) and only look at data that would be known at ``t0``:

- ``perfect``: the actual values (an upper bound on what steering can do);
- ``persistence``: the value at the same time of day on the most recent day
  that is known, i.e. :math:`\\hat x_t = x_{t - k D}` with :math:`D` steps
  per day and :math:`k \\ge 1` the smallest whole number of days for which
  :math:`t - kD` lies before the data cut-off;
- ``profile``: the mean of the same time of the same weekday over the
  ``weeks`` most recent known weeks (a simple fitted forecast).

The data cut-off is :math:`t_0 - (L - 1) D` for a data age ``lag_days`` L:
``lag_days=1`` uses everything measured before the decision, ``lag_days=7``
only data at least six days older than the decision (the report's "week-old
data": the most recent usable day is then a week before the target).

Index arithmetic is in steps of 15 minutes in UTC, so around a DST change
"the same time of day" is one local hour off for a day. At the start of the
data, where no earlier day exists, forecasts borrow the earliest day
available (a warm-up effect); beyond the end of the data the last day is
repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FORECASTS", "Forecaster"]

FORECASTS = ("perfect", "persistence", "profile")


@dataclass(frozen=True)
class Forecaster:
    """A forecast method.

    Parameters
    ----------
    kind : {"perfect", "persistence", "profile"}
    lag_days : int
        Age of the newest usable data in days (>= 1); ignored by ``perfect``.
    steps_per_day : int
        Steps per day (96 for 15 minutes).
    weeks : int
        Weeks averaged by ``profile``.
    """

    kind: str = "persistence"
    lag_days: int = 1
    steps_per_day: int = 96
    weeks: int = 4

    def __post_init__(self):
        if self.kind not in FORECASTS:
            raise ValueError(f"unknown forecast {self.kind!r}; known: {', '.join(FORECASTS)}")
        if int(self.lag_days) != self.lag_days or self.lag_days < 1:
            raise ValueError(f"lag_days must be a whole number >= 1, got {self.lag_days}")

    def source_steps(self, t0: int, n: int, n_data: int) -> np.ndarray:
        """Indices of the data used for each target step, shape (n,) or (n, weeks)."""
        d = self.steps_per_day
        target = t0 + np.arange(n)
        if self.kind == "perfect":
            src = target
        else:
            cutoff = t0 - (self.lag_days - 1) * d  # first step that is not known
            if self.kind == "persistence":
                k = np.maximum(1, -((cutoff - target - 1) // d))  # ceil((target-cutoff+1)/d)
                src = target - k * d
            else:
                w = 7 * d
                j0 = np.maximum(1, -((cutoff - target - 1) // w))
                src = target[:, None] - (j0[:, None] + np.arange(self.weeks)) * w
        # warm-up and the end of the data: move by whole days into the data
        src = np.where(src < 0, src % d, src)
        over = src >= n_data
        if over.any():
            last_day = n_data - d + (src % d)
            src = np.where(over, np.where(last_day < n_data, last_day, last_day - d), src)
        return src

    def __call__(self, series: np.ndarray, t0: int, n: int) -> np.ndarray:
        """Forecast ``series[t0:t0+n]`` (time first, any trailing shape)."""
        src = self.source_steps(t0, n, len(series))
        if src.ndim == 1:
            return series[src]
        return series[src].mean(axis=1)

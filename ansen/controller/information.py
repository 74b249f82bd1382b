"""What the controller knows when: the information model.

Per data stream, at a decision at time :math:`t`:

========================  ==================================================
stream                    known at :math:`t`
========================  ==================================================
fleet's own meters, SOC   every step that has ended (real time): steps
                          starting before :math:`t`
grid measurements         steps starting at or before :math:`t - a`, with
(transformer, MV)         the data age :math:`a` = ``data_lag`` ("15min":
                          real time; "1D"; "7D": the pilot's week-old data)
day-ahead prices          up to the end of today, and from the auction's
                          publication (12:45 Europe/Amsterdam, EPEX SPOT /
                          SDAC) up to the end of tomorrow (market days in
                          Europe/Amsterdam)
weather (NWP) forecast    the latest run issued at 00, 06, 12 or 18 UTC and
                          available ``nwp_delay`` (4 h) after its nominal time
========================  ==================================================

A forecaster gets the first step that is *not* known (the cut-off) and
nothing after it (:mod:`ansen.forecast`); a test checks that no forecast
changes when data after its cut-off change.

Sources: SDAC gate closure 12:00 CET and publication of the results from
12:45 CET since 18 June 2021 (IBEX, 26 May 2021; EPEX SPOT, "Day-Ahead
Auction in the Netherlands & Belgium"); after the move to 15-minute products
(delivery from 1 October 2025) some data vendors report 12:55 (Montel): set
``price_publication="12:55"`` to follow them. NWP: the global models run
four times a day; the 4 h delay is an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ansen.data.schema import duration_text

__all__ = ["Information", "KnownData", "duration_text"]


def _timedelta(value, name: str) -> pd.Timedelta:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a duration such as '15min', '1h', '1D', got {value!r}")
    if isinstance(value, (int, float)) or (
            isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()):
        raise ValueError(f"{name} {value!r} has no unit (pandas would read nanoseconds): write "
                         f"a duration such as '{str(value).strip()}D' (days), '1h' or '15min'")
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a duration such as '15min', '1h', '1D', got "
                         f"{value!r}") from exc
    if pd.isna(td):
        raise ValueError(f"{name} must be a duration, got {value!r}")
    return td


@dataclass(frozen=True)
class Information:
    """What the controller may know when (see the module docstring).

    Attributes
    ----------
    data_lag : str or pandas.Timedelta
        Age of the newest grid measurement at a decision: "15min" (real time,
        the step that just ended) to, e.g., "7D"; at least one step, at most
        60 days.
    price_publication : str
        Local time ("HH:MM", ``price_zone``) from which the next day's
        day-ahead prices are known.
    price_zone : str
        Time zone of the day-ahead market day.
    nwp_runs_utc : tuple of int
        Hours (UTC) of the weather model runs.
    nwp_delay : str
        Delay from a run's nominal time to its availability.
    """

    data_lag: str | pd.Timedelta = "15min"
    price_publication: str = "12:45"
    price_zone: str = "Europe/Amsterdam"
    nwp_runs_utc: tuple[int, ...] = (0, 6, 12, 18)
    nwp_delay: str = "4h"

    def __post_init__(self):
        lag = _timedelta(self.data_lag, "data_lag")
        if lag <= pd.Timedelta(0) or lag > pd.Timedelta(days=60):
            raise ValueError(f"data_lag must lie between one step and 60 days, got {self.data_lag!r}")
        try:
            hh, mm = (int(x) for x in self.price_publication.split(":"))
            if not (0 <= hh <= 23 and 0 <= mm <= 59):
                raise ValueError
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"price_publication must be 'HH:MM', got "
                             f"{self.price_publication!r}") from exc
        _timedelta(self.nwp_delay, "nwp_delay")

    @property
    def lag(self) -> pd.Timedelta:
        return _timedelta(self.data_lag, "data_lag")

    def bind(self, times_utc: pd.DatetimeIndex) -> KnownData:
        """The information model on a village's time index (naive UTC, regular steps)."""
        return KnownData(self, pd.DatetimeIndex(times_utc))


class KnownData:
    """:class:`Information` on a time index: cut-offs as step indices."""

    def __init__(self, info: Information, times: pd.DatetimeIndex):
        self.info = info
        self.times = times
        self.step = times[1] - times[0] if len(times) > 1 else pd.Timedelta("15min")
        if info.lag < self.step:
            step = duration_text(self.step)
            raise ValueError(f"data_lag {info.data_lag!r} is shorter than the data's step "
                             f"({step}); real time is data_lag='{step}'")
        self.lag_steps = int(info.lag // self.step)
        self._price_end = self._price_ends()

    def own_cutoff(self, t: int) -> int:
        """First step of the fleet's own meters not known at decision step ``t``."""
        return t

    def grid_cutoff(self, t: int) -> int:
        """First step of the grid measurements not known at decision step ``t``."""
        return t - self.lag_steps + 1

    def price_end(self, t: int) -> int:
        """First step whose day-ahead price is not known at decision step ``t``."""
        return int(self._price_end[t])

    def _price_ends(self) -> np.ndarray:
        zone = self.info.price_zone
        local = self.times.tz_localize("UTC").tz_convert(zone)
        day = local.normalize()
        hh, mm = (int(x) for x in self.info.price_publication.split(":"))
        published = day + pd.Timedelta(hours=hh, minutes=mm)
        # the day after tomorrow, local midnight (DST-safe via normalize of a noon)
        end_today = (day + pd.Timedelta(hours=36)).normalize()
        end_tomorrow = (end_today + pd.Timedelta(hours=36)).normalize()
        end = np.where(local >= published, end_tomorrow.tz_convert("UTC").tz_localize(None),
                       end_today.tz_convert("UTC").tz_localize(None))
        idx = self.times.searchsorted(pd.DatetimeIndex(end))
        # beyond the data: whole steps past its end
        over = pd.DatetimeIndex(end) > self.times[-1]
        extra = ((pd.DatetimeIndex(end) - self.times[-1]) // self.step).to_numpy()
        return np.where(over, len(self.times) - 1 + extra, idx).astype(np.int64)

    def nwp_issue(self, t: int) -> pd.Timestamp:
        """Nominal time (UTC) of the newest weather run available at decision step ``t``."""
        avail = self.times[t] - _timedelta(self.info.nwp_delay, "nwp_delay")
        runs = sorted(self.info.nwp_runs_utc)
        day = avail.normalize()
        cands = [day + pd.Timedelta(hours=h) for h in runs if day + pd.Timedelta(hours=h) <= avail]
        if cands:
            return cands[-1]
        return day - pd.Timedelta(days=1) + pd.Timedelta(hours=runs[-1])



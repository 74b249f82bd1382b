"""A documented model of Dutch day-ahead prices for July 2024 - November 2025.

No package ships the real 2024-25 Dutch day-ahead prices, so the synthetic
village carries a model of them, hourly (the day-ahead auction moved to
15-minute products on 1 October 2025; the model stays hourly, each price held
over its four quarters).

.. math::

    p_h = L_m + s_{\\text{season}}(h) + w_d + e_h - S \\cdot g_h - \\delta_{\\text{weekend}}

- :math:`L_m`: a monthly level, shifted so that each month's mean equals
  :attr:`PriceSpec.monthly_eur_per_mwh`;
- :math:`s`: a daily shape blended between a winter and a summer day (night
  trough, morning and evening peaks; evening peak strongest in winter);
- :math:`w_d`: a daily AR(1) term (wind and demand surprises);
- :math:`e_h`: an hourly AR(1) term;
- :math:`g_h`: a national solar proxy [kW/m^2] (``ghi_national`` of
  :func:`ansen.data.synthetic.weather`: the mean irradiance of regions of
  the Netherlands, only some of which share Ansen's weather of the day; the
  Dutch price follows national, not local, solar output), and :math:`S` the
  solar dip [EUR/MWh per kW/m^2], *calibrated* by bisection so that the last 12 months of the period
  (December 2024 - November 2025 for the shipped village) have :attr:`PriceSpec.negative_hours_per_year` hours below
  zero.

Sources and assumptions are in the fields of :class:`PriceSpec` and in
``data/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ansen.data.sources import dutch_holidays

__all__ = ["PriceSpec", "day_ahead_prices"]


@dataclass(frozen=True)
class PriceSpec:
    """Parameters of the day-ahead price model (EUR/MWh unless stated)."""

    #: Monthly mean day-ahead prices NL, EUR/MWh. Approximate levels of the
    #: published monthly means (ENTSO-E transparency platform); only November
    #: 2025 (94) is checked against a cited source (Repowered, "Marktupdate
    #: november 2025"). The rest are the authors' approximations: assumption.
    monthly_eur_per_mwh: tuple[tuple[str, float], ...] = (
        ("2024-07", 67.0), ("2024-08", 70.0), ("2024-09", 76.0), ("2024-10", 87.0),
        ("2024-11", 107.0), ("2024-12", 120.0), ("2025-01", 115.0), ("2025-02", 130.0),
        ("2025-03", 97.0), ("2025-04", 76.0), ("2025-05", 66.0), ("2025-06", 60.0),
        ("2025-07", 77.0), ("2025-08", 73.0), ("2025-09", 78.0), ("2025-10", 86.0),
        ("2025-11", 94.0),
    )
    #: Negative hours in 12 months. NL 2024: 233 by 30 June (Flink Nederland,
    #: "Marktupdate juli 2024"), 326 by mid-August (Welingelichte Kringen,
    #: 2024-08), ~8% of hours by September (ENTSO-E via Livemint, 2024-09-23);
    #: 450 a year is the assumption taken from these.
    negative_hours_per_year: float = 450.0
    #: Daily shapes by local hour 0..23 (assumption, after the typical NL
    #: pattern: night trough, morning peak 7-9, evening peak).
    winter_shape: tuple[float, ...] = (
        -14, -17, -19, -20, -19, -14, -2, 12, 16, 10, 4, 0,
        -2, -3, -1, 5, 16, 30, 34, 26, 14, 5, -2, -9,
    )
    summer_shape: tuple[float, ...] = (
        -4, -8, -11, -12, -11, -7, 2, 12, 14, 8, 2, -1,
        -3, -4, -3, 0, 6, 14, 24, 32, 30, 18, 6, 0,
    )
    weekend_eur_per_mwh: float = 8.0  # assumption: lower demand on weekends and holidays
    daily_sd: float = 22.0  # assumption: day-to-day spread (wind, demand)
    daily_phi: float = 0.6
    hourly_sd: float = 7.0
    hourly_phi: float = 0.7
    floor_eur_per_mwh: float = -500.0  # EPEX harmonised minimum clearing price


def _season_weight(local: pd.DatetimeIndex) -> np.ndarray:
    """0 in mid-January, 1 in mid-July."""
    doy = local.day_of_year.to_numpy(float)
    return (1.0 - np.cos(2 * np.pi * (doy - 15.0) / 365.25)) / 2.0


def day_ahead_prices(spec: PriceSpec, local: pd.DatetimeIndex, wx: pd.DataFrame,
                     rng: np.random.Generator) -> np.ndarray:
    """Day-ahead price [EUR/kWh] on the 15-minute local index ``local``.

    Parameters
    ----------
    spec : PriceSpec
    local : pandas.DatetimeIndex
        Tz-aware local 15-minute index starting on a whole hour.
    wx : pandas.DataFrame
        Weather on the same index; column ``ghi_national`` [W/m^2].
    rng : numpy.random.Generator
    """
    if len(local) % 4:
        raise ValueError("the price model needs whole hours")
    hours = local[::4]
    n_h = len(hours)
    ghi = wx["ghi_national"].to_numpy().reshape(n_h, 4).mean(1) / 1000.0
    w = _season_weight(hours)
    hod = hours.hour.to_numpy()
    shape = (1 - w) * np.take(spec.winter_shape, hod) + w * np.take(spec.summer_shape, hod)
    day = hours.normalize().tz_localize(None)
    days, day_id = np.unique(day, return_inverse=True)
    wd = np.zeros(len(days))
    e = rng.normal(0.0, spec.daily_sd * np.sqrt(1 - spec.daily_phi**2), len(days))
    for i in range(len(days)):
        wd[i] = (spec.daily_phi * wd[i - 1] if i else 0.0) + e[i]
    eh = np.zeros(n_h)
    e = rng.normal(0.0, spec.hourly_sd * np.sqrt(1 - spec.hourly_phi**2), n_h)
    for i in range(n_h):
        eh[i] = (spec.hourly_phi * eh[i - 1] if i else 0.0) + e[i]
    holidays = dutch_holidays(sorted(set(hours.year)))
    off = (hours.day_of_week >= 5) | day.isin(list(holidays))
    raw = shape + wd[day_id] + eh - spec.weekend_eur_per_mwh * off.astype(float)
    month = hours.strftime("%Y-%m")
    levels = dict(spec.monthly_eur_per_mwh)
    missing = sorted(set(month) - set(levels))
    if missing:
        raise ValueError(f"PriceSpec.monthly_eur_per_mwh has no level for {missing}")
    target = np.array([levels[m] for m in month])
    months, m_id = np.unique(month, return_inverse=True)
    window = day > day.max() - pd.Timedelta(days=365)  # the last 12 months
    years = window.sum() / 8766.0

    def price(dip: float) -> np.ndarray:
        p = raw - dip * ghi
        mean = np.bincount(m_id, p) / np.bincount(m_id)
        return np.maximum(p - mean[m_id] + target, spec.floor_eur_per_mwh)

    def negative_per_year(dip: float) -> float:
        return float((price(dip)[window] < 0).sum() / years)

    lo, hi = 0.0, 1000.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if negative_per_year(mid) < spec.negative_hours_per_year:
            lo = mid
        else:
            hi = mid
    p = price(0.5 * (lo + hi))
    return np.repeat(p, 4) / 1000.0

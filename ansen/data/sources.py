"""Readers for the public data the synthetic village is built from.

Both data sets ship inside the ``demandlib`` package (MIT licence), pinned in
the ``synth`` extra; this module reads the files directly and never imports
``demandlib`` itself (its ``ElecSlp`` changes warning filters process-wide).

- BDEW standard load profiles, 2025 revision (H25 households, G25 business,
  L25 agriculture): a 15-minute typical day per month and day type (working
  day, Saturday, Sunday/holiday), in local time.
  BDEW, "Standardlastprofile Strom", 2025 revision.
- DWD test reference year 2010, region 1 (North Sea coast, station
  Bremerhaven, 53.53 N 8.58 E, mean year for 1988-2007): hourly global and
  diffuse horizontal irradiance, air temperature and wind speed, hours in CET.
  Deutscher Wetterdienst, "Testreferenzjahre von Deutschland für mittlere und
  extreme Witterungsverhältnisse (TRY)", 2011.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["bdew_profile", "demandlib_dir", "read_try", "dutch_holidays", "try_climate_note"]

_MONTHS = {
    "Januar": 1, "Februar": 2, "März": 3, "April": 4, "Mai": 5, "Juni": 6, "Juli": 7,
    "August": 8, "September": 9, "Oktober": 10, "November": 11, "Dezember": 12,
}


def demandlib_dir() -> Path:
    """Folder of the installed ``demandlib`` package (not imported)."""
    spec = importlib.util.find_spec("demandlib")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "demandlib is needed to rebuild the synthetic village: "
            "pip install 'ansen[synth]' (or `make setup`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _bdew_table(name: str) -> dict[tuple[int, str], np.ndarray]:
    """Typical days of one BDEW 2025 profile: {(month, daytype): 96 values}."""
    path = demandlib_dir() / "bdew" / "bdew_data" / f"{name.lower()}.csv"
    raw = pd.read_csv(path, header=[0, 1], index_col=0)
    table = {}
    for (month, daytype), col in raw.items():
        table[(_MONTHS[month], daytype)] = col.to_numpy(float)
    return table


def dutch_holidays(years) -> set[pd.Timestamp]:
    """Dutch public holidays (national, as days off) for ``years``.

    New Year, Easter Sunday and Monday, King's Day (27 April, 26 April when
    the 27th is a Sunday), Liberation Day in lustrum years (5 May), Ascension,
    Whit Sunday and Monday, Christmas (25 and 26 December).
    """
    days = set()
    for y in years:
        a, b, c = y % 19, y // 100, y % 100
        d, e = b // 4, b % 4
        f = (b + 8) // 25
        g = (b - f + 1) // 3
        h = (19 * a + b - d - g + 15) % 30
        i, k = c // 4, c % 4
        ll = (32 + 2 * e + 2 * i - h - k) % 7
        m = (a + 11 * h + 22 * ll) // 451
        month = (h + ll - 7 * m + 114) // 31
        day = (h + ll - 7 * m + 114) % 31 + 1
        easter = pd.Timestamp(y, month, day)
        kings = pd.Timestamp(y, 4, 27)
        if kings.day_of_week == 6:
            kings = pd.Timestamp(y, 4, 26)
        days |= {
            pd.Timestamp(y, 1, 1), easter, easter + pd.Timedelta(days=1), kings,
            easter + pd.Timedelta(days=39), easter + pd.Timedelta(days=49),
            easter + pd.Timedelta(days=50), pd.Timestamp(y, 12, 25), pd.Timestamp(y, 12, 26),
        }
        if y % 5 == 0:
            days.add(pd.Timestamp(y, 5, 5))
    return days


def bdew_profile(name: str, local: pd.DatetimeIndex, dynamic: bool | None = None,
                 per: str = "year") -> np.ndarray:
    """A BDEW 2025 standard load profile on a 15-minute local time index.

    Parameters
    ----------
    name : {"H25", "G25", "L25"}
        Profile. H25 (households) is dynamic: multiplied by the BDEW
        fourth-order day-of-year polynomial (the 2025 dynamisation function).
    local : pandas.DatetimeIndex
        Tz-aware local times, 15-minute steps, each the start of its interval.
    dynamic : bool, optional
        Apply the dynamisation; default True for H25 only.
    per : {"year", "period"}
        ``"year"``: mean 1 over a year, the index's first twelve months where it holds
        them (so that ``profile * kwh_per_year / 8766`` holds ``kwh_per_year`` in a year,
        :func:`ansen.data.schema.annual_kwh`), else the whole index; ``"period"``: mean 1
        over the whole index (a shape only).

    Returns
    -------
    numpy.ndarray
        Relative power [-].
    """
    table = _bdew_table(name)
    holidays = dutch_holidays(sorted(set(local.year)))
    dates = local.normalize().tz_localize(None)
    daytype = np.where(local.day_of_week == 5, "SA", "WT")
    daytype = np.where((local.day_of_week == 6) | dates.isin(list(holidays)), "FT", daytype)
    quarter = (local.hour * 4 + local.minute // 15).to_numpy()
    out = np.empty(len(local))
    for key, values in table.items():
        sel = (local.month == key[0]) & (daytype == key[1])
        out[sel] = values[quarter[sel]]
    if dynamic if dynamic is not None else name.upper() == "H25":
        t = local.day_of_year.to_numpy(float)
        out *= -3.92e-10 * t**4 + 3.2e-7 * t**3 - 7.02e-5 * t**2 + 2.1e-3 * t + 1.24
    if per == "period":
        return out / out.mean()
    if per != "year":
        raise ValueError(f"bdew_profile: per must be 'year' or 'period', got {per!r}")
    from ansen.data.schema import annual_kwh

    return out / (float(annual_kwh(out, local)) / (365.25 * 24.0))


#: Where the DWD test reference year's climate (region 1, Bremerhaven, at 53.5 N, 8.6 E) may
#: stand for a village's: latitude and longitude ranges [deg] of north-west and central
#: Europe's temperate maritime climate (the Benelux, northern Germany, Denmark, southern
#: England). ``"near"``: a margin around it (Dublin, Vienna, the north of France and Italy)
#: where the TRY is a rougher stand-in; beyond it the seasons (south of the equator), the
#: winters (continental) or the sun (the south) differ too much. Judgements.
TRY_CLIMATE = {"latitude": (47.0, 57.0), "longitude": (-5.0, 16.0),
               "near_latitude": (42.0, 62.0), "near_longitude": (-11.0, 25.0)}


def try_climate_note(latitude, longitude) -> tuple[str, str]:
    """Where a place lies against the TRY's climate (:data:`TRY_CLIMATE`) and why.

    Returns
    -------
    (str, str)
        ``("in", "")`` inside it or with an unknown position (NaN); ``("near", why)``
        in the margin; ``("far", why)`` beyond it or south of the equator.
    """
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return "in", ""
    if not (np.isfinite(lat) and np.isfinite(lon)):
        return "in", ""
    c = TRY_CLIMATE

    def within(la, lo):
        return c[la][0] <= lat <= c[la][1] and c[lo][0] <= lon <= c[lo][1]

    if within("latitude", "longitude"):
        return "in", ""
    where = "near" if within("near_latitude", "near_longitude") else "far"
    south = " (south of the equator its seasons are turned round)" if lat < 0 else ""
    return where, (
        f"latitude {lat:g}, longitude {lon:g} lies {'near but ' if where == 'near' else ''}"
        f"outside the climate of the DWD test reference year (region 1, Bremerhaven; taken "
        f"for latitude {c['latitude'][0]:g} to {c['latitude'][1]:g}, longitude "
        f"{c['longitude'][0]:g} to {c['longitude'][1]:g}), whose days are taken by calendar "
        f"date and CET hour{south}")


def read_try(region: int = 1) -> pd.DataFrame:
    """The DWD 2010 test reference year of ``region`` (hourly, 8760 rows).

    Returns
    -------
    pandas.DataFrame
        Columns month, day, hour (1..24, CET; the values centred on that hour,
        :data:`ansen.data.synthetic.TRY_CENTRE_H`), ghi and dhi
        [W/m^2] (global and diffuse horizontal), temp_air [degC],
        wind_speed [m/s].
    """
    path = demandlib_dir() / "vdi" / "resources_weather" / f"TRY2010_{region:02d}_Jahr.dat"
    lines = path.read_text(encoding="latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("***")) + 1
    rows = [line.split() for line in lines[start:] if line.strip()]
    cols = "RG IS MM DD HH N WR WG t p x RF W B D IK A E IL".split()
    df = pd.DataFrame(rows, columns=cols).astype(float)
    out = pd.DataFrame({
        "month": df["MM"].astype(int),
        "day": df["DD"].astype(int),
        "hour": df["HH"].astype(int),
        "ghi": df["B"] + df["D"],
        "dhi": df["D"],
        "temp_air": df["t"],
        "wind_speed": df["WG"],
    })
    if len(out) != 8760:
        raise ValueError(f"{path}: expected 8760 hourly rows, found {len(out)}")
    return out

"""The village Dataset: its variables, and the checks every Dataset must pass.

A village is an :class:`xarray.Dataset` with coordinates ``time`` (UTC, naive
``datetime64``, regular step), ``household`` and ``transformer``; the variables
are listed in :data:`VARIABLES`. :func:`validate` raises :class:`DataError`
naming the variable, the rule and the first offending labels; it never
repairs anything.

Sign conventions: household and transformer flows are positive when power is
taken from the grid (import); ``pv_kw`` is generation (>= 0); ``load_kw`` is
consumption without PV and without battery (>= 0).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "STEP_MINUTES",
    "VARIABLES",
    "battery_sites",
    "bounds_in_order",
    "check_bounds",
    "check_finite",
    "DataError",
    "HOURS_PER_MONTH",
    "annual_kwh",
    "Variable",
    "check_coverage",
    "check_time_index",
    "holds_a_year",
    "home_flags",
    "is_home_id",
    "parse_time",
    "local_time",
    "seasons",
    "step_hours",
    "validate",
]


class DataError(ValueError):
    """Village data breaks a rule of the schema.

    The message names the variable, the rule and the first offending labels.
    """


@dataclass(frozen=True)
class Variable:
    """One variable of the village schema.

    Attributes
    ----------
    dims : tuple of str
        Required dimensions, in this order.
    unit : str
        Physical unit.
    description : str
        Meaning, with sign convention.
    required : bool
        Whether every village must have it.
    plausible_max : float or None
        Largest magnitude (in ``unit``) that is physically plausible for one
        element; a larger value suggests W instead of kW. ``None``: checked
        against another variable (see :func:`validate`).
    """

    dims: tuple[str, ...]
    unit: str
    description: str
    required: bool = True
    plausible_max: float | None = None


#: A small consumer connection is at most 3x80 A (55 kW); 3x80 A is also the
#: Dutch large-consumer threshold (Netbeheer Nederland). A household or
#: site value above 100 kW is therefore taken as a unit error (W for kW).
HOUSEHOLD_MAX_KW = 100.0

#: Lowest one-way battery efficiency accepted (a round trip of 25 %): below it the value is
#: more likely a unit or column error than a battery (a judgement; home batteries reach
#: 0.9-0.98 one way, a round trip of 80-96 %).
BATTERY_EFF_MIN = 0.5

VARIABLES: dict[str, Variable] = {
    "load_kw": Variable(
        ("time", "household"), "kW",
        "household consumption without PV and battery, mean power over the step (>= 0)",
        plausible_max=HOUSEHOLD_MAX_KW,
    ),
    "pv_kw": Variable(
        ("time", "household"), "kW", "rooftop PV generation, mean power over the step (>= 0)",
        plausible_max=HOUSEHOLD_MAX_KW,
    ),
    "transformer_rest_kw": Variable(
        ("time", "transformer"), "kW",
        "net load behind each transformer that is not a household of this Dataset "
        "(import from MV positive)",
    ),
    "mv_kw": Variable(
        ("time",), "kW",
        "MV feeder load seen by the grid operator without the pilot batteries (import positive)",
        plausible_max=100_000.0,
    ),
    "price_eur_per_kwh": Variable(
        ("time",), "EUR/kWh", "day-ahead wholesale price, excl. taxes (can be negative)",
        plausible_max=5.0,
    ),
    "battery_kwh": Variable(("household",), "kWh", "usable battery capacity (0 = no battery)",
                            plausible_max=1000.0),
    "battery_kw": Variable(("household",), "kW", "battery charge and discharge power limit",
                           plausible_max=HOUSEHOLD_MAX_KW),
    "battery_eff": Variable(("household",), "1", "one-way (charge or discharge) efficiency"),
    "household_transformer": Variable(("household",), "-", "transformer the household hangs on"),
    "transformer_kva": Variable(("transformer",), "kVA", "transformer rating",
                                plausible_max=10_000.0),
    # Optional components, already contained in load_kw.
    "heat_pump_kw": Variable(("time", "household"), "kW",
                             "heat-pump part of load_kw (optional)", required=False,
                             plausible_max=HOUSEHOLD_MAX_KW),
    "ev_kw": Variable(("time", "household"), "kW", "EV-charging part of load_kw (optional)",
                      required=False, plausible_max=HOUSEHOLD_MAX_KW),
    "pv_kwp": Variable(("household",), "kWp", "installed PV peak power (optional)",
                       required=False, plausible_max=1000.0),
}

#: A transformer's rest load above this multiple of its rating is a unit error.
TRANSFORMER_MAX_LOADING = 5.0
#: Series shorter than this (steps) are not tested for cumulative readings.
CUMULATIVE_MIN_STEPS = 96
#: ...and a series is taken as cumulative if it never decreases and rises in at
#: least this share of its steps.
CUMULATIVE_MIN_RISING = 0.25


#: Hours of an average month (365.25 days / 12): how runs and bills count months.
HOURS_PER_MONTH = 365.25 * 24 / 12


def annual_kwh(kw, local: pd.DatetimeIndex) -> np.ndarray:
    """Energy per year [kWh/yr] of power ``kw`` [kW] at the steps ``local`` (axis 0).

    Over the first twelve months where the series holds them: the energy of a whole
    year. A series of more than a year but not of whole years, annualised over all of
    it, gives a seasonal load less or more than any of its years uses (the shipped
    village's 17 months hold 1.42 years but only 1.2 heating seasons: heat pumps
    scaled that way use about 15 % more in every twelve months than asked for). A
    series shorter than a year: all of it, scaled to 365.25 days (the seasons it
    misses are missing).
    """
    kw = np.asarray(kw, dtype=float)
    h = (local[1] - local[0]) / pd.Timedelta(hours=1)
    if holds_a_year(local):
        return kw[np.asarray(local < local[0] + pd.DateOffset(years=1))].sum(axis=0) * h
    return kw.sum(axis=0) * h * (365.25 * 24.0) / (len(local) * h)


def holds_a_year(local: pd.DatetimeIndex) -> bool:
    """Whether the steps ``local`` hold twelve months from their first step: where they do
    not, :func:`annual_kwh` scales what they hold up to a year."""
    return bool(local[-1] + (local[1] - local[0]) >= local[0] + pd.DateOffset(years=1))


def duration_text(td: pd.Timedelta) -> str:
    """A duration as the text ``data_lag`` takes: "15min", "1h", "90min"."""
    minutes = int(td / pd.Timedelta(minutes=1))
    return f"{minutes}min" if minutes < 60 or minutes % 60 else f"{minutes // 60}h"


def _span(td: pd.Timedelta) -> str:
    """A time span as a reader says it: "15 min", "1 h 15 min", "2 d 1 h", "7 min 30 s"."""
    seconds = int(pd.Timedelta(td).total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"),
             (seconds % 3600 // 60, "min"), (seconds % 60, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"


def step_hours(ds: xr.Dataset) -> float:
    """Length of one time step [h]."""
    t = ds.indexes["time"]
    return (t[1] - t[0]) / pd.Timedelta(hours=1)


def battery_sites(ds: xr.Dataset) -> np.ndarray:
    """Indices of the households with a battery (``battery_kwh > 0``)."""
    return np.flatnonzero(ds["battery_kwh"].values > 0)


def local_time(ds: xr.Dataset) -> pd.DatetimeIndex:
    """The ``time`` coordinate as tz-aware local time (``attrs['timezone']``)."""
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    return ds.indexes["time"].tz_localize("UTC").tz_convert(tz)


#: Meteorological seasons by month, northern hemisphere (:func:`seasons` turns them round
#: for a village south of the equator).
SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
           6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}


def seasons(ds: xr.Dataset, times: pd.DatetimeIndex) -> pd.Index:
    """The meteorological season of each local time of the village ``ds``.

    By month (:data:`SEASONS`); south of the equator (attrs ``latitude`` < 0)
    the months are shifted by six, so that a Sydney January is summer. A
    village without a latitude is taken to be northern.
    """
    lat = ds.attrs.get("latitude")
    south = lat is not None and np.isfinite(float(lat)) and float(lat) < 0
    month = (times.month + 5) % 12 + 1 if south else times.month
    return pd.Index(month).map(SEASONS)


def when(ts, tz: str = "Europe/Amsterdam") -> str:
    """A naive-UTC time as a reader meets it: local clock time first (how exports and
    arguments give it), UTC beside it: ``2025-05-01 12:00 local (10:00Z)``."""
    utc = pd.Timestamp(ts)
    local = utc.tz_localize("UTC").tz_convert(tz)
    fmt = "%Y-%m-%d %H:%M" + (":%S" if utc.second or local.second else "")
    same_day = local.date() == utc.date()
    return f"{local.strftime(fmt)} local ({utc.strftime(fmt[9:] if same_day else fmt)}Z)"


def _labels(index, mask, n: int = 3) -> str:
    hits = np.flatnonzero(np.asarray(mask).ravel())[:n]
    return ", ".join(str(index[i]) for i in hits)


def _first_times(da: xr.DataArray, mask: np.ndarray, n: int = 3,
                 tz: str = "Europe/Amsterdam") -> str:
    """Human-readable first offending (time, element) labels of ``mask``."""
    idx = np.argwhere(mask)[:n]
    out = []
    for row in idx:
        parts = []
        for dim, i in zip(da.dims, row, strict=True):
            label = da[dim].values[i]
            if dim == "time":
                label = when(label, tz)
            parts.append(f"{dim}={label}")
        out.append("(" + ", ".join(parts) + ")")
    return ", ".join(out)


def _check_structure(ds: xr.Dataset) -> None:
    for name, var in VARIABLES.items():
        if name not in ds:
            if var.required:
                raise DataError(
                    f"{name}: missing variable ({var.description}, dims {var.dims}, "
                    f"unit {var.unit})"
                )
            continue
        if ds[name].dims != var.dims:
            raise DataError(
                f"{name}: wrong dimensions {ds[name].dims}, expected {var.dims}"
            )
    for coord in ("time", "household", "transformer"):
        if coord not in ds.coords:
            raise DataError(f"{coord}: missing coordinate")
    for coord in ("household", "transformer"):
        idx = ds.indexes[coord]
        if idx.has_duplicates:
            raise DataError(f"{coord}: duplicate ids {list(idx[idx.duplicated()][:3])}")


#: Step lengths the package works with [min]: 5 to 60 minutes, dividing an hour
#: (so that hours and days hold whole steps and hourly prices fit).
STEP_MINUTES = (5, 6, 10, 12, 15, 20, 30, 60)
#: A battery's power above this many times its capacity per hour is refused [1/h] (home
#: batteries 0.5-1; a few kW on a fraction of a kWh, or power and capacity swapped, above).
BATTERY_MAX_C_RATE = 4.0
#: PV output above this per kWp installed is refused [kW/kWp] (modules rarely exceed their
#: rating: cloud-edge irradiance of about 1.3 kW/m2 at best, and inverters clip below it).
PV_MAX_PER_KWP = 1.5
#: PV readings up to this beyond that are meter noise (a home with pv_kwp 0 reading a few W).
PV_NOISE_KW = 0.05
#: A warning when no household's PV reaches this per kWp installed [kW/kWp] in data that hold
#: at least PV_LOW_MIN_DAYS days on which the sun climbs above PV_LOW_SUN_DEG at noon: a clear
#: spring or summer day takes a south roof to 0.7-0.85 kW/kWp and an east or west roof to
#: 0.5-0.6, so a village whose best is below 0.3 over two such weeks has most likely exported
#: energy per step [kWh] as power [kW] (a quarter of the power at 15-minute steps).
#: Judgements, from the clear-day figures above; a warning, since a fortnight of fog can do it.
PV_LOW_PER_KWP = 0.3
PV_LOW_SUN_DEG = 35.0
PV_LOW_MIN_DAYS = 14
#: PV at night: the village's PV counts as generated at night on steps when the sun is below
#: this elevation [deg] from one step before to two steps after the time stamp (whichever end
#: of its step a time stamp labels) and the village's PV is above NIGHT_PV_SHARE of its peak
#: (plus PV_NOISE_KW per household); the data are refused when such steps hold more than
#: NIGHT_PV_SHARE of the PV energy (time stamps shifted: local clock time read as UTC, say).
NIGHT_SUN_DEG = -1.0
NIGHT_PV_SHARE = 0.01
#: PV at night at one connection: refused on a step when the sun stays below
#: NIGHT_DEEP_SUN_DEG (civil twilight) from one step before to two steps after the time
#: stamp and the connection's PV is above NIGHT_HOUSEHOLD_SHARE of its own largest PV in the
#: data, plus PV_NOISE_KW. The village-wide check above catches shifted time stamps; this one a
#: single meter's glitch or a column of another quantity, which the village's sum hides.
#: Judgements: at -6 degrees no module yields anything, and a tenth of a connection's peak is
#: far above any inverter's standby reading.
NIGHT_DEEP_SUN_DEG = -6.0
NIGHT_HOUSEHOLD_SHARE = 0.1
#: A warning when the middle of the village's PV days (halfway between each day's first and
#: last step with PV above the night floor, each step at its middle; the median over days)
#: lies further than this from solar noon [h]. Sunrise and sunset are symmetric about solar
#: noon, so the middle hardly depends on the roofs' direction as a PV-weighted mean time does
#: (east and west roofs: -1.7 and +1.7 h in clear June days). Measured on made-up villages of
#: 2026-12-04: -0.21 to +0.21 h for correct 15-minute data (east-only and west-only roofs,
#: Lisbon, New York, Sydney, one household), +0.83 to +0.98 h for a one-hour shift (local
#: winter time read as UTC, a neighbouring time zone) and for hourly data whose time stamps
#: label the hour's end; measured on data with PV on at least PV_NOON_MIN_DAYS days.
PV_NOON_TOLERANCE_H = 0.5
PV_NOON_MIN_DAYS = 3
#: An MV load whose peak is below this share of what the transformers carry is in MW.
MV_SCALE_FLOOR = 0.01


def timezone_hint(tz: str) -> str:
    """``did you mean '...'?`` for a misspelt IANA time zone name, a word on an offset
    (``UTC+2`` is not a zone: it has no daylight saving time), else an example."""
    import difflib
    import zoneinfo

    offset = re.fullmatch(r"\s*(?:UTC|GMT|CET|CEST|Z)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*",
                          str(tz), flags=re.IGNORECASE)
    if offset:  # an offset is not a zone: it has no daylight saving time
        sign, hours, minutes = offset[1], int(offset[2]), int(offset[3] or 0)
        of_utc = not str(tz).strip().upper().startswith(("CET", "CEST"))  # CET+1: of what?
        # Etc/GMT-14 to Etc/GMT+12 exist (POSIX sign: UTC+14 to UTC-12)
        if of_utc and not minutes and hours <= (14 if sign == "+" else 12):
            fixed = f"'Etc/GMT{'-' if sign == '+' else '+'}{hours}' (POSIX sign, reversed)"
            return (f"an offset is not a time zone: give the zone whose clock the data keep, "
                    f"e.g. 'Europe/Amsterdam' (with daylight saving time), or for a clock "
                    f"fixed at UTC{sign}{hours} all year {fixed}")
        return ("an offset is not a time zone: give the zone whose clock the data keep, e.g. "
                "'Europe/Amsterdam' (with daylight saving time)")
    if str(tz).strip().upper() == "Z":  # the letter of UTC, not a near miss of 'NZ'
        return "did you mean 'UTC'? (Z is its letter in a time stamp)"
    if re.fullmatch(r"[A-Z]{3,5}", str(tz).strip()):  # AEST, CEST: an abbreviation
        return ("an abbreviation is not a zone: give the zone's name, e.g. "
                "'Australia/Sydney' for AEST or 'Europe/Amsterdam' for CET")
    close = difflib.get_close_matches(str(tz), sorted(zoneinfo.available_timezones()), n=1)
    return f"did you mean {close[0]!r}?" if close else "e.g. 'Europe/Amsterdam'"


def _check_attrs(ds: xr.Dataset) -> None:
    import zoneinfo

    if "timezone" not in ds.attrs:  # said, not assumed in silence (older files lack it)
        import warnings

        warnings.warn("attrs['timezone'] missing: the village is read in Europe/Amsterdam time "
                      "(periods, tariffs, seasons); set ds.attrs['timezone'] to its IANA time "
                      "zone", UserWarning, stacklevel=3)
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    if not isinstance(tz, str):
        raise DataError(f"attrs['timezone']: must be an IANA time zone name such as "
                        f"'Europe/Amsterdam', got {tz!r} ({type(tz).__name__})")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"attrs['timezone']: {tz!r} is not an IANA time zone name "
                        f"({timezone_hint(tz)})") from exc


#: Other spellings of a schema unit that mean the same (compared in lower case, with spaces,
#: hyphens and underscores between words read alike): the UDUNITS / CF names other tools
#: write (``kilowatt``), the euro sign, and "per" for a slash. A space alone is not "per"
#: (``EUR kWh`` is a product in UDUNITS) and is refused.
_KW = {"kw", "kilowatt", "kilowatts"}
_SAME_UNIT = {
    "1": {"1", "", "-", "dimensionless", "fraction"},
    "kw": _KW,
    "kwp": {"kwp", *_KW, "kilowatt peak", "kilowatts peak"},
    "kwh": {"kwh", "kilowatt hour", "kilowatt hours", "kw h", "kw.h"},
    "kva": {"kva", "kilovolt ampere", "kilovolt amperes", "kv a", "kv.a"},
    "eur/kwh": {f"{eur}{per}{kwh}" for eur in ("eur", "€", "euro", "euros")
                for per in ("/", " per ") for kwh in ("kwh", "kilowatt hour")}
    | {"eur kwh-1", "eur kwh^-1", "€ kwh-1"},
}


def _unit_text(said: str) -> str:
    """A units attribute as compared: lower case, word separators as one space."""
    text = re.sub(r"[\s_]+|-(?=[a-z])", " ", said.strip().lower()).strip()
    return re.sub(r"\s*/\s*", "/", text)


def _check_units(ds: xr.Dataset) -> None:
    """A variable's ``units`` attribute, where it has one, must be the schema's unit: values
    in W, Wh or EUR/MWh with their unit said are refused, not read as kW, kWh or EUR/kWh."""
    for name, var in VARIABLES.items():
        if name not in ds or name == "household_transformer" or "units" not in ds[name].attrs:
            continue
        said = str(ds[name].attrs["units"]).strip()
        want = var.unit.lower()
        if _unit_text(said) not in {_unit_text(u) for u in _SAME_UNIT.get(want, {want})}:
            raise DataError(f"{name}: its units attribute says {said!r}, the schema's unit is "
                            f"{var.unit!r}; convert the values to {var.unit} (and set units "
                            f"to {var.unit!r}) before reading the data")


def _check_time(ds: xr.Dataset) -> None:
    t = ds.indexes["time"]
    check_time_index(t, "time", ds.attrs.get("timezone", "Europe/Amsterdam"))
    minutes = (t[1] - t[0]) / pd.Timedelta(minutes=1)
    if minutes not in STEP_MINUTES:
        raise DataError(
            f"time: a step of {minutes:g} min is not supported; steps of 5 to 60 minutes that "
            f"divide an hour ({', '.join(map(str, STEP_MINUTES))} min) are"
        )
    # steps on the clock: hourly prices, plan steps and decision hours count whole steps in
    # each local hour. Every step is checked: a zone whose offset changes by half an hour
    # (Australia/Lord_Howe) moves regular UTC steps off the local marks for part of the year.
    local = local_time(ds)
    seconds = (np.asarray(local.minute) * 60 + np.asarray(local.second)) % (minutes * 60)
    off = np.flatnonzero((seconds != 0) | (np.asarray(local.microsecond) != 0)
                         | (np.asarray(local.nanosecond) != 0))
    if len(off):
        first = local[off[0]]
        zone = ds.attrs.get("timezone", "Europe/Amsterdam")
        marks = ", ".join(f":{m:02d}" for m in range(0, 60, int(minutes)))
        offset = first.utcoffset()
        sign, span = ("-", -offset) if offset < pd.Timedelta(0) else ("+", offset)
        hours, rest = divmod(int(span.total_seconds()) // 60, 60)
        # UTC steps on the marks land off them where the zone's offset is not a whole
        # number of steps (a half-hour offset and hourly steps)
        steps = [s for s in STEP_MINUTES if math.gcd(rest, 60) % s == 0]
        fit = (f", or a step that fits the zone's offset ({', '.join(map(str, steps))} "
               "minutes)" if rest % minutes else "")
        raise DataError(
            f"time: {len(off)} of {len(local)} steps start off the {minutes:g}-minute marks of "
            f"the local clock ({marks}), the first at {when(t[off[0]], zone)}, when {zone} is "
            f"UTC{sign}{hours:02d}:{rest:02d}; give each step the local time at which it "
            f"starts on those marks{fit}")


def duplicate_times(t: pd.DatetimeIndex, what: str, show, where=None
                    ) -> tuple[str, pd.DatetimeIndex]:
    """The message on a time index with duplicates, and the duplicated times.

    The message names the first time that repeats (as ``show(time)`` writes it), where
    its first two rows are (``where(i)``: the ``i``-th time's place in a file, if given)
    and how many rows share a time; the caller adds its diagnosis.
    """
    dup = t[t.duplicated(keep=False)]
    first = np.flatnonzero(t == dup[0])[:2]
    msg = (f"{what}: duplicate timestamps, first {show(dup[0])} twice"
           + (f" ({where(int(first[0]))} and {where(int(first[1]))})" if where else "")
           + f"; {len(dup)} rows share a time with another")
    return msg, dup


def check_time_index(t: pd.Index, what: str, tz: str = "Europe/Amsterdam",
                     where=None) -> None:
    """Raise :class:`DataError` unless ``t`` is a naive, increasing, regular time index.

    ``what`` names the source in the message (a variable or a file); ``where(i)``, if
    given, says where the ``i``-th time is in it (a file's line). Times are shown in
    local time of ``tz`` and in UTC.
    """
    if not isinstance(t, pd.DatetimeIndex):
        raise DataError(f"{what}: timestamps must be datetimes, got {t.dtype}")
    if t.tz is not None:
        raise DataError(f"{what}: timestamps must be naive UTC (tz-aware index given)")
    if len(t) < 2:
        raise DataError(f"{what}: at least two time steps needed, got {len(t)}")
    if t.has_duplicates:
        msg, dup = duplicate_times(t, what, lambda x: when(x, tz), where)
        if _looks_like_dst_fallback(dup, tz):
            msg += (
                " - they fall in the hour repeated when daylight saving time ends: the "
                "timestamps look like local clock time stored without UTC offset (DST-doubled); "
                "give UTC or offset-aware timestamps"
            )
        elif _near_dst_change(dup[0], tz):
            msg += (
                " - near a change of daylight saving time: timestamps with one fixed UTC offset "
                "on both sides of the change repeat (or skip) an hour; give UTC, or each time's "
                "own offset (+01:00 in winter, +02:00 in summer in the Netherlands)"
            )
        raise DataError(msg)
    d = t[1:] - t[:-1]  # TimedeltaIndex, whatever the datetime resolution
    down = np.asarray(d <= pd.Timedelta(0))
    if down.any():
        i = int(np.flatnonzero(down)[0])
        raise DataError(
            f"{what}: timestamps not increasing at {when(t[i + 1], tz)}"
            + (f", {where(i + 1)}" if where else "")
        )
    step = d[0]
    bad = np.asarray(d != step)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "gap" if d[i] > step and d[i] % step == pd.Timedelta(0) else "irregular step"
        skipped = d[i] == step + pd.Timedelta(hours=1) and _skipped_on_the_clock(t[i] + step,
                                                                                tz)
        missing = (f" ({d[i] // step - 1} step(s) of {_span(step)} missing: the next stamp "
                   f"{_span(d[i])} later)" if kind == "gap" else f" of {_span(d[i])}")
        raise DataError(
            f"{what}: {kind}{missing} after {when(t[i], tz)}"
            + (f", {where(i)}" if where else "")
            + f" (expected a regular step of {_span(step)}); {int(bad.sum())} irregular step(s) in "
            f"all. Fill or cut explicitly, nothing is repaired"
            + (" - one hour missing where daylight saving time begins: the timestamps look "
               "like local clock time read as UTC; give true UTC or each time's own UTC offset "
               "(local clock time written with one offset, such as +00:00, is neither), or, "
               "for timestamps without an offset, declare them local (village.toml: "
               "timestamps = \"local\")" if skipped else "")
        )


def sun_elevation(times_utc, latitude: float, longitude: float,
                  hour_angle: bool = False) -> np.ndarray:
    """The sun's elevation [deg] at naive UTC times, at ``latitude``, ``longitude`` [deg].

    The U.S. Naval Observatory's approximate solar coordinates (Astronomical
    Applications Department, "Approximate Solar Coordinates": about 1 arc minute
    for 1800-2200), without refraction: enough to tell night from day. With
    ``hour_angle`` the sun's hour angle [h] instead: 0 at solar noon, negative
    before it, in [-12, 12).
    """
    t = (pd.DatetimeIndex(times_utc).to_numpy().astype("datetime64[ns]")
         - np.datetime64("2000-01-01T12:00:00", "ns")) / np.timedelta64(1, "D")
    g = np.radians((357.529 + 0.98560028 * t) % 360.0)  # mean anomaly
    q = (280.459 + 0.98564736 * t) % 360.0  # mean longitude [deg]
    ecl = np.radians(q + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))  # ecliptic longitude
    eps = np.radians(23.439 - 0.00000036 * t)  # obliquity of the ecliptic
    ra = np.arctan2(np.cos(eps) * np.sin(ecl), np.cos(ecl))
    dec = np.arcsin(np.sin(eps) * np.sin(ecl))
    gmst = (18.697374558 + 24.06570982441908 * t) % 24.0  # [h]
    angle = np.radians(gmst * 15.0 + longitude) - ra
    if hour_angle:
        return (np.degrees(angle) / 15.0 + 12.0) % 24.0 - 12.0
    lat = np.radians(latitude)
    return np.degrees(np.arcsin(np.sin(lat) * np.sin(dec)
                                + np.cos(lat) * np.cos(dec) * np.cos(angle)))


#: A warning when the time zone's standard time lies further than this from the mean solar
#: time of the village's longitude [h] (longitude / 15). Zones keep clocks up to 2-3 hours
#: from the sun (western Spain on CET, western China on UTC+8: about 2.6 h in 2025), so a
#: larger gap means the zone of another place (a Sydney village left on Europe/Amsterdam).
ZONE_SUN_TOLERANCE_H = 3.5


def utc_offsets_h(tz: str, year: int = 2025) -> tuple[float, float]:
    """The UTC offsets [h] of the zone ``tz`` in mid-January and mid-July of ``year``
    (standard and summer time, in either order by hemisphere)."""
    return tuple(pd.Timestamp(f"{year}-{m}-15", tz=tz).utcoffset() / pd.Timedelta(hours=1)
                 for m in (1, 7))


def _position(ds: xr.Dataset) -> tuple[float, float] | None:
    """The village's (latitude, longitude) [deg] from its attrs, None where either is
    missing or not a finite number."""
    try:
        lat, lon = float(ds.attrs["latitude"]), float(ds.attrs["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lat, lon) if np.isfinite(lat) and np.isfinite(lon) else None


def _check_zone_longitude(ds: xr.Dataset, tz: str) -> None:
    """Warn when the time zone does not belong to the village's longitude (above)."""
    if (where := _position(ds)) is None:
        return
    lon = where[1]
    year = int(pd.DatetimeIndex(ds["time"].values[:1]).year[0]) if ds.sizes["time"] else 2025
    standard = min(utc_offsets_h(tz, year))  # the lesser offset: standard time, not summer
    gap = (standard - lon / 15.0 + 12.0) % 24.0 - 12.0
    if abs(gap) > ZONE_SUN_TOLERANCE_H:
        import warnings

        warnings.warn(
            f"attrs['timezone']: {tz} keeps standard time UTC{standard:+g}, {abs(gap):.1f} h "
            f"{'ahead of' if gap > 0 else 'behind'} the sun at longitude {lon:g} (UTC"
            f"{lon / 15:+.1f}): the zone of another place? Periods, days and tariffs are read "
            "on its clock", UserWarning, stacklevel=4)


def _check_pv_low(ds: xr.Dataset, kwp: np.ndarray) -> None:
    """Warn when no household's PV comes near its kWp on sunny-season data (PV_LOW_*), at
    steps under an hour (at an hour, energy per step is the mean power) and among the
    households whose PV is metered (not zero throughout)."""
    has = kwp > 0
    if (where := _position(ds)) is None or not has.any() or ds.sizes["time"] < 2:
        return
    lat, lon = where
    t = pd.DatetimeIndex(ds["time"].values)
    step = (t[1] - t[0]) / pd.Timedelta(minutes=1)
    if step >= 60:  # energy per hour [kWh] is the hour's mean power [kW]: no such mistake
        return
    has = has & (ds["pv_kw"].values.max(axis=0) > 0)  # PV not metered (all 0) is not this
    if not has.any():
        return
    sun = pd.Series(sun_elevation(t, lat, lon), index=t)
    high = int((sun.groupby(t.floor("D")).max() >= PV_LOW_SUN_DEG).sum())
    if high < PV_LOW_MIN_DAYS:
        return
    per_kwp = ds["pv_kw"].values[:, has].max(axis=0) / kwp[has]
    best = int(np.argmax(per_kwp))
    if per_kwp[best] < PV_LOW_PER_KWP:
        import warnings

        warnings.warn(
            f"pv_kw: no household's PV reaches {PV_LOW_PER_KWP:g} kW per kWp (pv_kwp) in "
            f"{high} days with the sun above {PV_LOW_SUN_DEG:g} degrees at noon; the best, "
            f"household {ds.indexes['household'][np.flatnonzero(has)[best]]}, peaks at "
            f"{per_kwp[best]:.2f} kW/kWp, where a clear day gives 0.5-0.85: energy per step "
            f"[kWh] given as power [kW]? (power = energy x {60 / step:g} at {step:g}-minute "
            "steps), or pv_kwp too high", UserWarning, stacklevel=4)


def _check_pv_timing(ds: xr.Dataset, tz: str) -> None:
    """Refuse PV generated at night, warn of PV far from solar noon (constants above); needs
    attrs latitude and longitude."""
    if (where := _position(ds)) is None or ds.sizes["time"] < 2:
        return
    lat, lon = where
    pv = ds["pv_kw"].values.sum(axis=1)
    total = float(pv.sum())
    if total <= 0:
        return
    t = pd.DatetimeIndex(ds["time"].values)
    step = t[1] - t[0]
    sun = np.max([sun_elevation(t + k * step, lat, lon) for k in (-1, 0, 1, 2)], axis=0)
    floor = NIGHT_PV_SHARE * float(pv.max()) + PV_NOISE_KW * ds.sizes["household"]
    on = pv > floor  # steps with PV beyond noise
    night = (sun < NIGHT_SUN_DEG) & on
    share = float(pv[night].sum()) / total
    if share > NIGHT_PV_SHARE:
        i = int(np.argmax(np.where(night, pv, -np.inf)))
        raise DataError(
            f"pv_kw: {100 * share:.1f} % of the village's PV energy is generated at night "
            f"({int(night.sum())} steps with the sun below the horizon at latitude {lat:g}, "
            f"longitude {lon:g}), most at {when(t[i], tz)}: {pv[i]:.3g} kW from all "
            "households; the time stamps look shifted - local clock time read as UTC "
            "(village.toml timestamps), another time zone, or the wrong latitude/longitude")
    each = ds["pv_kw"].values
    deep = sun < NIGHT_DEEP_SUN_DEG
    odd = deep[:, None] & (each > NIGHT_HOUSEHOLD_SHARE * each.max(axis=0) + PV_NOISE_KW)
    if odd.any():
        rows, cols = np.nonzero(odd)
        k = int(np.argmax(each[rows, cols]))
        i, h = int(rows[k]), int(cols[k])
        ids = ds["household"].values.astype(str)
        who = sorted(set(ids[cols]))
        raise DataError(
            f"pv_kw: PV at night at {len(who)} connection(s) ({', '.join(who[:5])}"
            f"{', ...' if len(who) > 5 else ''}; {int(odd.sum())} step(s) with the sun more "
            f"than {-NIGHT_DEEP_SUN_DEG:g} degrees below the horizon), most {each[i, h]:.3g} kW "
            f"at {ids[h]} at {when(t[i], tz)}, where its largest PV in the data is "
            f"{each[:, h].max():.3g} kW: a meter's glitch to cut or fill, this connection's time "
            "stamps shifted (a meter's clock, another time zone), or a column of another "
            "quantity; nothing is repaired")
    # the middle of each day's PV (between its first and last step above the floor) sits at
    # solar noon whatever way the roofs face; each step at its middle, its time stamp
    # labelling its start (as the package reads it)
    hour = sun_elevation(t + step / 2, lat, lon, hour_angle=True)
    solar_noon = (t - t[0]) / pd.Timedelta(days=1) - hour / 24.0  # constant over a solar day
    day = np.round(solar_noon - solar_noon[0]).astype(int)  # days run midnight to midnight
    first = pd.Series(hour[on]).groupby(day[on]).min()
    last = pd.Series(hour[on]).groupby(day[on]).max()
    days = (last - first) > 1.0  # days with PV over more than an hour
    if days.sum() < PV_NOON_MIN_DAYS:
        return
    offset = float(np.median(((first + last) / 2.0)[days]))
    if abs(offset) > PV_NOON_TOLERANCE_H:
        import warnings

        side = "after" if offset > 0 else "before"
        warnings.warn(
            f"pv_kw: the village's PV days are centred {abs(offset):.1f} h {side} solar noon "
            f"(the middle of each day's first and last PV, median of {int(days.sum())} days, "
            f"at latitude {lat:g}, longitude {lon:g}), where they sit at it whichever way "
            "the roofs face: the time stamps may be shifted (local clock time read as UTC, "
            "another time zone, time stamps that label the end of each step where ansen "
            "reads its start) or latitude/longitude wrong", UserWarning, stacklevel=4)


def _near_dst_change(t: pd.Timestamp, tz: str) -> bool:
    """True if the UTC offset of ``tz`` changes within a day of the naive UTC time ``t``."""
    try:
        around = pd.DatetimeIndex([t - pd.Timedelta(days=1), t + pd.Timedelta(days=1)])
        offsets = around.tz_localize("UTC").tz_convert(tz).map(lambda x: x.utcoffset())
    except Exception:
        return False
    return offsets[0] != offsets[1]


def _skipped_on_the_clock(t: pd.Timestamp, tz: str) -> bool:
    """True if the naive time ``t``, read as clock time in ``tz``, does not exist there (the
    hour skipped when daylight saving time begins): the first stamp missing from local clock
    times read as UTC."""
    try:
        local = pd.Timestamp(t).tz_localize(tz, ambiguous=False, nonexistent="NaT")
    except Exception:  # an unknown zone: no hint
        return False
    return local is pd.NaT


def _looks_like_dst_fallback(dups: pd.DatetimeIndex, tz: str) -> bool:
    """True if duplicated naive times lie in a local hour that occurs twice (as
    :func:`_skipped_on_the_clock` asks for the hour that is skipped: by NaT, not by the text
    of an exception, which differs between pandas versions)."""
    try:
        local = pd.DatetimeIndex(dups).tz_localize(tz, ambiguous="NaT",
                                                   nonexistent="shift_forward")
    except Exception:  # an unknown zone: no hint
        return False
    return bool(local.isna().any())


def check_finite(ds: xr.Dataset, names, where: str = "") -> None:
    """Refuse NaN or infinite values of the variables ``names`` over all of ``ds``.

    For code that reads more of a village than the period it validated (the
    households' annual positions, say): the message is :func:`validate`'s, with
    ``where`` (what reads the data) in front.

    Raises
    ------
    DataError
        Naming the variable, the count and the first times.
    """
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    for name in names:
        if name not in ds:
            continue
        vals = ds[name].values
        if np.issubdtype(vals.dtype, np.integer):
            continue  # integers are finite
        vals = vals if np.issubdtype(vals.dtype, np.floating) else np.asarray(vals, dtype=float)
        for bad, what in ((np.isnan(vals), "NaN"), (np.isinf(vals), "infinite")):
            if bad.any():
                raise DataError(f"{where}{name}: {int(bad.sum())} {what} value(s), first at "
                                f"{_first_times(ds[name], bad, tz=tz)}")


def _check_values(ds: xr.Dataset) -> None:
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    for name, var in VARIABLES.items():
        if name not in ds or name == "household_transformer":
            continue
        da = ds[name]
        if not (np.issubdtype(da.dtype, np.integer) or np.issubdtype(da.dtype, np.floating)):
            raise DataError(f"{name}: values must be real numbers, got dtype {da.dtype}")
        check_finite(ds, [name])
        vals = da.values
        if var.plausible_max is not None:
            big = np.abs(vals) > var.plausible_max
            if big.any():
                if "time" in da.dims and name in ("load_kw", "pv_kw", "transformer_rest_kw",
                                                  "mv_kw"):
                    _check_cumulative(ds, [name])  # meter readings grow past any power
                guess = {"EUR/kWh": "EUR/MWh instead of EUR/kWh", "kWh": "Wh instead of kWh",
                         "kVA": "VA instead of kVA", "kWp": "Wp instead of kWp"}.get(
                             var.unit, "W instead of kW")
                raise DataError(
                    f"{name}: {int(big.sum())} value(s) above the plausible maximum of "
                    f"{var.plausible_max:g} {var.unit}, first at {_first_times(da, big, tz=tz)} "
                    f"(max {np.abs(vals).max():.4g}) - values look like {guess}, or wrong "
                    "units"
                )
    for name in ("load_kw", "pv_kw", "battery_kwh", "battery_kw", "heat_pump_kw", "ev_kw",
                 "pv_kwp"):
        if name in ds:
            neg = ds[name].values < 0
            if neg.any():
                raise DataError(
                    f"{name}: {int(neg.sum())} negative value(s), first at "
                    f"{_first_times(ds[name], neg, tz=tz)}; {VARIABLES[name].description}"
                )
    eff = ds["battery_eff"].values
    kwh, kw = ds["battery_kwh"].values, ds["battery_kw"].values
    bad = ~((eff >= 0) & (eff <= 1))  # a household without battery: any value in [0, 1]
    low = (kwh > 0) & (eff < BATTERY_EFF_MIN)
    if bad.any() or low.any():
        raise DataError(
            f"battery_eff: must lie in [{BATTERY_EFF_MIN:g}, 1] for a battery (one way: charge "
            "or discharge; home batteries 0.9-0.98) and in [0, 1] without one, bad for "
            f"household {_labels(ds.indexes['household'], bad | low)}"
        )
    one = (kwh > 0) != (kw > 0)
    if one.any():
        i = int(np.flatnonzero(one)[0])
        raise DataError(
            f"battery_kwh, battery_kw: household {ds.indexes['household'][i]} has "
            f"battery_kwh = {kwh[i]:g} kWh but battery_kw = {kw[i]:g} kW; a battery needs a "
            "capacity and a power limit (both 0: no battery)"
        )
    fast = (kwh > 0) & (kw > BATTERY_MAX_C_RATE * kwh)
    if fast.any():
        i = int(np.flatnonzero(fast)[0])
        raise DataError(
            f"battery_kw: household {ds.indexes['household'][i]} has battery_kw = {kw[i]:g} kW "
            f"for battery_kwh = {kwh[i]:g} kWh, more than {BATTERY_MAX_C_RATE:g} times its "
            "capacity per hour (home batteries: 0.5-1); power and capacity swapped, or "
            f"capacity in MWh? ({int(fast.sum())} household(s))")
    if "pv_kwp" in ds:
        kwp = ds["pv_kwp"].values
        above = ds["pv_kw"].values > PV_MAX_PER_KWP * kwp[np.newaxis, :] + PV_NOISE_KW
        if above.any():
            col = int(np.flatnonzero(above.any(axis=0))[0])
            above = above & (np.arange(above.shape[1]) == col)  # the times of the one named
            raise DataError(
                f"pv_kw: household {ds.indexes['household'][col]} generates up to "
                f"{ds['pv_kw'].values[:, col].max():.4g} kW with pv_kwp = {kwp[col]:g} kWp, "
                f"more than {PV_MAX_PER_KWP:g} kW per kWp, first at "
                f"{_first_times(ds['pv_kw'], above, tz=tz)}; pv_kwp too low or missing, or "
                f"pv_kw in W? ({int(above.any(axis=0).sum())} household(s))")
        _check_pv_low(ds, kwp)
    _check_zone_longitude(ds, tz)
    _check_pv_timing(ds, tz)
    kva = ds["transformer_kva"].values
    if (kva <= 0).any():
        raise DataError(
            f"transformer_kva: rating must be positive, bad for "
            f"{_labels(ds.indexes['transformer'], kva <= 0)}"
        )
    rest = ds["transformer_rest_kw"]
    big = np.abs(rest.values) > TRANSFORMER_MAX_LOADING * kva[np.newaxis, :]
    if big.any():
        raise DataError(
            f"transformer_rest_kw: value(s) above {TRANSFORMER_MAX_LOADING:g} x the rating, "
            f"first at {_first_times(rest, big, tz=tz)} - values look like W instead of kW, "
            "or the rating is not in kVA (MVA?)"
        )
    _check_mv_scale(ds)
    for comp in ("heat_pump_kw", "ev_kw"):
        if comp in ds:
            over = ds[comp].values > ds["load_kw"].values + 1e-6
            if over.any():
                raise DataError(
                    f"{comp}: exceeds load_kw (a component must be part of the load), first at "
                    f"{_first_times(ds[comp], over, tz=tz)}"
                )


def _check_mv_scale(ds: xr.Dataset) -> None:
    """Refuse an MV load orders of magnitude below what the village's transformers carry
    (MW written as kW; the same rule as for an export folder's mv.csv)."""
    homes = (ds["load_kw"] - ds["pv_kw"]).groupby(ds["household_transformer"]).sum("household")
    carried = ds["transformer_rest_kw"].sum("transformer") + homes.sum(
        "household_transformer")
    peak, mv = float(np.abs(carried.values).max()), float(np.abs(ds["mv_kw"].values).max())
    if peak > 0 and mv == 0:
        raise DataError(f"mv_kw: zero throughout, but the village's transformers carry up to "
                        f"{peak:.4g} kW: no measurement? Give the MV feeder's measured load")
    if peak > 0 and mv < MV_SCALE_FLOOR * peak:
        raise DataError(f"mv_kw: peaks at {mv:.4g} kW, but the village's transformers alone "
                        f"carry up to {peak:.4g} kW; values look like MW instead of kW")


def never_decreases(vals: np.ndarray) -> np.ndarray:
    """Per column of ``vals`` (steps x series): meter readings, not power. At least
    :data:`CUMULATIVE_MIN_STEPS` steps, never down, and up in at least
    :data:`CUMULATIVE_MIN_RISING` of them (a load that steps up once is not one)."""
    if len(vals) < CUMULATIVE_MIN_STEPS:
        return np.zeros(vals.shape[1], dtype=bool)
    d = np.diff(vals, axis=0)
    return (d >= 0).all(axis=0) & ((d > 0).mean(axis=0) >= CUMULATIVE_MIN_RISING)


def _check_cumulative(ds: xr.Dataset,
                      names=("load_kw", "pv_kw", "transformer_rest_kw", "mv_kw")) -> None:
    """Reject series that never decrease: meter readings (kWh) instead of power."""
    if ds.sizes["time"] < CUMULATIVE_MIN_STEPS:
        return
    for name in names:
        da = ds[name]
        vals = da.values.reshape(ds.sizes["time"], -1)
        # meter readings rise in every step with consumption (a quarter of the steps
        # at least, PV in winter); a load that merely steps up once is not flagged
        never_down = never_decreases(vals)
        if never_down.any():
            col = int(np.flatnonzero(never_down)[0])
            where = ""
            if da.ndim == 2:
                other = da.dims[1]
                where = f" for {other}={da[other].values[col]}"
            raise DataError(
                f"{name}: series{where} never decreases over {ds.sizes['time']} steps "
                f"(from {vals[0, col]:.4g} to {vals[-1, col]:.4g}) - looks like cumulative "
                "meter readings (kWh) instead of mean power per step (kW); difference them "
                "and divide by the step length"
            )


def _check_mapping(ds: xr.Dataset) -> None:
    ht = ds["household_transformer"].values.astype(str)
    known = set(ds.indexes["transformer"].astype(str))
    unknown = ~np.isin(ht, list(known))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise DataError(
            f"household_transformer: household {ds.indexes['household'][i]} is mapped to "
            f"unknown transformer '{ht[i]}' (known: {sorted(known)})"
        )


def check_coverage(ds: xr.Dataset, start=None, end=None) -> None:
    """Refuse a period (``end`` exclusive; naive bounds in the village's local time) that the
    data do not cover, or whose bounds fall between two steps of the data (DataError)."""
    t = ds.indexes["time"]
    step = t[1] - t[0]
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    if start is not None:
        start = _as_utc(start, ds, "start")
        if start < t[0]:
            raise DataError(f"time: data start at {when(t[0], tz)}, after the requested start "
                            f"{when(start, tz)}")
    if end is not None:
        end = _as_utc(end, ds, "end")
        if end > t[-1] + step:
            raise DataError(f"time: data end at {when(t[-1] + step, tz)}, before the requested "
                            f"end {when(end, tz)}")
    if start is not None and end is not None and end <= start:
        raise DataError(f"time: empty period: the requested end {when(end, tz)} is not after "
                        f"the start {when(start, tz)}")
    for name, bound in (("start", start), ("end", end)):  # nothing rounded in silence
        if bound is not None and (bound - t[0]) % step:

            before = bound - (bound - t[0]) % step

            def local(x, tz=tz):
                return x.tz_localize("UTC").tz_convert(tz).strftime("%Y-%m-%d %H:%M")

            raise DataError(
                f"time: the requested {name} {local(bound)} ({bound}Z) is not on a step of the "
                f"data (every {duration_text(step)} from {t[0]}Z); give {local(before)} or "
                f"{local(before + step)} ({tz})")


def is_home_id(household) -> bool:
    """Whether a household id names a home: ``H`` and digits (``H001``, ``H7``).

    Other ids (the shipped village's hall ``DORPSHUIS``, a shop, ``Kerkstraat 1``)
    are other connections. Where no id of a village is a home id, every
    connection counts as a home (:func:`ansen.scenarios.home_ids`).
    """
    return re.fullmatch(r"H\d+", str(household)) is not None


def home_flags(ids, what: str) -> np.ndarray:
    """Which ids name homes (:func:`is_home_id`), for ``what`` (who asks, for the warning).

    Where no id is a home id every connection counts as a home. Ids that start like a
    home's but go on otherwise (``H12a``, ``H-7``, ``H007 oost``) count as other
    connections, with a warning that names them: nothing is reclassified in silence.
    """
    ids = [str(x) for x in ids]
    homes = np.array([is_home_id(x) for x in ids], dtype=bool)
    if not homes.any():
        return np.ones(len(ids), dtype=bool)
    if near := [x for x, h in zip(ids, homes, strict=True) if not h and re.match(r"H\W?\d", x)]:
        import warnings

        warnings.warn(f"{what}: {len(near)} household id(s) look like homes but are not 'H' "
                      f"and digits, so they count as other connections (like a village hall): "
                      f"{near[:5]}{' ...' if len(near) > 5 else ''}; rename them H<digits> to "
                      "count them as homes", UserWarning, stacklevel=3)
    return homes


#: A period bound given as text: an ISO 8601 date, optionally a time and a UTC offset.
#: Other spellings (``5/4/2025``) are refused: pandas reads them month first, so 5 April
#: would become 4 May without a word.
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d([ T]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?")


def parse_time(value, what: str = "period bound") -> pd.Timestamp:
    """``value`` as a Timestamp; text must be ISO 8601 (:data:`ISO_TIME`), else ValueError
    naming ``what`` and the value."""
    if isinstance(value, str) and not ISO_TIME.fullmatch(value.strip()):
        raise ValueError(f"{what} {value!r} is not an ISO date (YYYY-MM-DD, optionally "
                         "HH:MM): other spellings such as 5/4/2025 are ambiguous (day or "
                         "month first)")
    try:
        return pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def bounds_in_order(start, end, tz: str = "Europe/Amsterdam") -> bool:
    """Whether ``end`` is after ``start``, each read as :func:`parse_time` reads it (naive
    bounds in local time ``tz``, bounds with an offset as given)."""
    def utc(x, what):
        t = parse_time(x, what)
        return (localize(t, tz, what) if t.tz is None else t).tz_convert("UTC")

    return utc(end, "end") > utc(start, "start")


def localize(t: pd.Timestamp, tz: str, what: str = "period bound") -> pd.Timestamp:
    """A naive local time as a tz-aware one; a time the clock shows twice (the end of
    daylight saving time) or skips (its start) is refused, naming ``what``."""
    try:
        return t.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception as exc:  # pytz and zoneinfo raise different types
        text = str(exc).lower()
        if "ambiguous" in text or "infer dst" in text or "Ambiguous" in type(exc).__name__:
            first, second = (t.tz_localize(tz, ambiguous=dst).isoformat(timespec="minutes")
                             for dst in (True, False))
            raise ValueError(
                f"{what} {t} is ambiguous in {tz}: the clock shows it twice when daylight "
                f"saving time ends; give its UTC offset ({first} for the first, {second} for "
                "the second) or another time") from exc
        if "nonexistent" in text or "NonExistent" in type(exc).__name__:
            raise ValueError(
                f"{what} {t} does not exist in {tz}: the clock skips it when daylight saving "
                "time starts; give another time or its UTC offset") from exc
        raise


def check_bounds(start, end, names=("--start", "--end"), tz: str | None = None) -> None:
    """Refuse (ValueError, naming the option) a bound that is not an ISO date, or an end
    not after its start; either bound may be None. What every command that takes a
    period checks before it reads the data.

    Without ``tz`` (the village's zone, unknown before its data are read) naive bounds are
    ordered as clock times and a naive bound beside one with an offset is not ordered: the
    village's zone decides those, and whether a naive time exists there or is shown twice
    (:func:`check_coverage`)."""
    bounds = [None if v is None else parse_time(v, name)
              for name, v in zip(names, (start, end), strict=True)]
    if None in bounds:
        return
    if tz is not None:
        ordered = bounds_in_order(start, end, tz)
    elif (bounds[0].tz is None) == (bounds[1].tz is None):
        ordered = bounds[1] > bounds[0]
    else:
        return
    if not ordered:
        raise ValueError(f"{names[1]} {end} is not after {names[0]} {start}")


def _as_utc(ts, ds: xr.Dataset, what: str = "period bound") -> pd.Timestamp:
    """A period bound as naive UTC; naive input is read as local time of the village."""
    ts = parse_time(ts, what)
    if ts.tz is None:
        ts = localize(ts, ds.attrs.get("timezone", "Europe/Amsterdam"), what)
    return ts.tz_convert("UTC").tz_localize(None)


def validate(ds: xr.Dataset, start=None, end=None) -> xr.Dataset:
    """Check a village Dataset against the schema; return it unchanged.

    Parameters
    ----------
    ds : xarray.Dataset
        The village (see :data:`VARIABLES`).
    start, end : str or pandas.Timestamp, optional
        A period the data must cover (``end`` exclusive), each bound on a step
        of the data. Naive values are local time of the village
        (``ds.attrs['timezone']``).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself.

    Raises
    ------
    DataError
        On the first broken rule: missing variable or coordinate, wrong
        dimensions, a time zone that is not an IANA name, a ``units``
        attribute other than the schema's unit, duplicate,
        DST-doubled, non-increasing or irregular timestamps (gaps), a step
        outside 5-60 minutes (:data:`STEP_MINUTES`), steps off the clock's
        marks of their length (local time), NaN, a battery with
        capacity but no power limit or the reverse, negative load/PV/capacity, values that look
        like W instead of kW or like cumulative meter readings, a household on
        an unknown transformer, a period not covered or with a bound between
        two steps of the data.
    """
    if not isinstance(ds, xr.Dataset):
        raise DataError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    _check_structure(ds)
    _check_attrs(ds)
    _check_units(ds)
    _check_time(ds)
    _check_values(ds)
    _check_cumulative(ds)
    _check_mapping(ds)
    check_coverage(ds, start, end)
    return ds

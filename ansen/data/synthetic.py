"""The synthetic Ansen village: a deterministic generator from public data.

``synthesize(seed)`` builds the village Dataset that ships as
``data/ansen_synthetic.nc``. Every number that shapes it is a field of
:class:`VillageSpec`, with its source or marked as an assumption or as
calibrated in the field's comment and in ``data/README.md``. The same seed and
the pinned ``synth`` extra rebuild the file bit for bit (values are rounded to
the storage grid of :data:`ansen.data.io.PACKING`).

Pipeline (each a function below):

1. weather: each day of the period borrows a day of the DWD test reference
   year (TRY region 1) from a +-10-day window around the same date, keeping
   the TRY's own day sequence with probability ``weather_persistence``; the
   donor's hourly clear-sky index, diffuse fraction and temperature are put on
   the target date's sun (pvlib).
2. PV: plane-of-array irradiance per roof orientation, PVWatts DC model with
   cell temperature, system losses and inverter clipping, per kWp.
3. households: BDEW H25 profile with per-household scale, a multiplicative
   AR(1) noise and short appliance events; heat pumps from degree-hours; EV
   charging sessions.
4. grid: two transformers with non-household connections (farm, school,
   street lighting); an MV feeder of Ansen plus neighbouring villages,
   business and a solar park.
5. prices: hourly day-ahead model (``ansen.data.prices``) whose solar dip
   follows a national solar proxy (regions sharing Ansen's weather or not).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.signal import lfilter

from ansen.data.io import PACKING
from ansen.data.prices import PriceSpec, day_ahead_prices
from ansen.data.schema import VARIABLES, annual_kwh
from ansen.data.sources import bdew_profile, read_try

__all__ = ["VillageSpec", "read_village_spec", "synthesize", "weather", "pv_per_kwp"]

STEP = pd.Timedelta("15min")
H = 0.25  # hours per step


@dataclass(frozen=True)
class VillageSpec:
    """Everything that shapes the synthetic village (units in names)."""

    # -- place and period
    name: str = "Ansen (synthetic)"
    latitude: float = 52.79  # the village of Ansen, Drenthe (named by NO-GIZMOS 2026)
    longitude: float = 6.38
    timezone: str = "Europe/Amsterdam"
    start_local: str = "2024-07-01"  # DESIGN.md period
    end_local: str = "2025-12-01"  # exclusive: data to 2025-11-30 inclusive
    # -- weather
    try_region: int = 1  # DWD TRY 2010 region 1, Bremerhaven: closest climate to Drenthe
    weather_window_days: int = 10  # assumption: donor days from +-10 days of the same date
    weather_persistence: float = 0.7  # assumption: P(continue the TRY's own day sequence)
    # national solar proxy for the price model (data/README.md): the Netherlands as
    # regions of about 100 km, each sharing Ansen's weather of the day with this
    # probability, else drawing its own day (assumptions)
    national_regions: int = 8
    national_same_weather: float = 0.5
    # -- households (CBS 81528NED: Drenthe 2,730 kWh/yr gross per household 2024)
    n_homes: int = 139  # NO-GIZMOS 2026: ~140 households incl. the village hall
    appliance_kwh_per_year: float = 2400.0  # assumption, so that the mean incl. HP/EV ~ 2,950
    appliance_sigma: float = 0.35  # assumption: lognormal spread of annual use between homes
    noise_sigma: float = 0.5  # assumption: AR(1) multiplicative noise of individual homes
    noise_phi: float = 0.9  # assumption: per 15-min step
    event_share: float = 0.25  # assumption: share of appliance energy in short events
    event_kw: tuple[float, float] = (1.0, 2.5)  # assumption: kettle/oven/washing peaks
    hall_kwh_per_year: float = 12000.0  # assumption: village hall, BDEW G25 profile
    hall_pv_kwp: float = 15.0  # assumption
    # -- PV (CBS: rural municipalities up to 2.8 kWp per dwelling 2024)
    pv_share: float = 0.8  # calibrated: "very high PV density" -> 4 kWp per dwelling on average
    pv_kwp_mean: float = 5.0  # assumption: mean installation of homes with PV
    pv_kwp_sigma: float = 0.3
    pv_tilt_deg: float = 35.0
    pv_orientations: tuple[tuple[str, float, float], ...] = (  # (name, azimuth deg, share)
        ("S", 180.0, 0.30), ("SE", 135.0, 0.15), ("SW", 225.0, 0.15),
        ("E", 90.0, 0.10), ("W", 270.0, 0.10), ("EW", -1.0, 0.20),
    )
    pv_losses: float = 0.14  # PVWatts default system losses
    pv_gamma_per_k: float = -0.0037  # crystalline Si temperature coefficient
    pv_dc_ac_ratio: float = 1.15  # assumption: typical Dutch home inverter sizing
    # -- heat pumps and EVs
    hp_share: float = 0.15  # assumption for a rural Drenthe village, 2024-25
    hp_kwh_per_year: float = 3500.0  # assumption; Reeve, Kampen energy vision (2017): 1,500 kWh building services, new build
    hp_max_kw: float = 3.0
    ev_share: float = 0.12  # assumption
    ev_kwh_per_session: float = 12.0  # assumption: ~70 km at 0.17 kWh/km
    ev_sessions_per_day: float = 0.45  # assumption -> ~2,000 kWh/yr
    ev_charger_kw: float = 11.0  # 3x16 A home charger
    # -- batteries (NO-GIZMOS 2026: 9 homes + village hall, 10 kWh)
    n_battery_homes: int = 9
    battery_kwh: float = 10.0
    battery_kw: float = 5.0  # assumption: inverter of a 10 kWh home battery
    battery_eff: float = 0.95  # assumption: one-way, ~90% round trip
    # -- transformers: T1 homes 1..79 + village hall, T2 homes 80..139
    t1_homes: int = 79
    transformer_kva: tuple[float, float] = (250.0, 160.0)  # calibrated: feed-in peaks ~90-100%
    battery_homes_on_t1: int = 6  # assumption: 6 homes + hall on T1, 3 homes on T2
    t1_farm_kwh_per_year: float = 30000.0  # assumption: dairy farm, BDEW L25
    t1_farm_pv_kwp: float = 60.0  # assumption: barn roof
    t2_school_kwh_per_year: float = 20000.0  # assumption: school/shop, BDEW G25
    t2_school_pv_kwp: float = 25.0
    street_light_kw: float = 2.0  # per transformer, dusk to dawn
    # -- MV feeder. Calibrated (data/README.md): weekly peaks ~1 MW (NO-GIZMOS 2026
    # scale check) and MV peaks in cheap hours more often than transformer peaks
    # (the report's explanation of M5), as on a solar-park-dominated Drenthe feeder.
    mv_neighbour_homes: int = 200
    mv_neighbour_pv_kwp: float = 500.0
    mv_business_kwh_per_year: float = 0.6e6
    mv_solar_park_kwp: float = 1000.0
    mv_solar_park_dc_ac: float = 1.25
    prices: PriceSpec = field(default_factory=PriceSpec)

    #: Fields that are shares of something, in [0, 1].
    SHARES = ("weather_persistence", "national_same_weather", "event_share", "pv_share",
              "pv_losses", "hp_share", "ev_share")
    #: Counts (integers >= 0).
    COUNTS = ("weather_window_days", "n_homes", "n_battery_homes", "t1_homes",
              "battery_homes_on_t1", "mv_neighbour_homes", "national_regions", "try_region")

    def __post_init__(self):
        """Refuse a spec the generator cannot build, naming the field (ValueError)."""
        def bad(name, why):
            raise ValueError(f"VillageSpec.{name} = {getattr(self, name)!r}: {why}")

        for name in self.COUNTS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                bad(name, "must be a whole number >= 0")
        from dataclasses import fields as _fields

        for f in _fields(self):  # a number where the spec has one (text too is refused)
            name, v = f.name, getattr(self, f.name)
            if name in ("name", "timezone") and not isinstance(v, str):
                bad(name, "must be text")
            if name in self.COUNTS or isinstance(f.default, bool) \
                    or not isinstance(f.default, (int, float)):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or not np.isfinite(v):
                bad(name, "must be a finite number")
            if name in self.SHARES and not 0.0 <= v <= 1.0:
                bad(name, "is a share: it must lie in [0, 1]")
            if name not in ("latitude", "longitude", "pv_gamma_per_k", "noise_phi") and v < 0:
                bad(name, "must be >= 0")
        if not -1.0 < self.noise_phi < 1.0:
            bad("noise_phi", "an AR(1) coefficient: it must lie in (-1, 1)")
        if self.n_homes < 1:
            bad("n_homes", "the village needs at least one home")
        if self.national_regions < 1:
            bad("national_regions", "at least one region")
        if not -90.0 <= self.latitude <= 90.0:
            bad("latitude", "must lie in [-90, 90] degrees")
        if not -180.0 <= self.longitude <= 180.0:
            bad("longitude", "must lie in [-180, 180] degrees")
        if not 0.0 < self.battery_eff <= 1.0:
            bad("battery_eff", "a one-way efficiency in (0, 1]")
        if self.t1_homes > self.n_homes:
            bad("t1_homes", f"more homes on T1 than the village's n_homes ({self.n_homes})")
        if self.battery_homes_on_t1 > self.n_battery_homes:
            bad("battery_homes_on_t1",
                f"more than the battery homes in all (n_battery_homes {self.n_battery_homes})")
        if self.n_battery_homes > self.n_homes:
            bad("n_battery_homes", f"more than the village's n_homes ({self.n_homes})")

        def numbers(x, n):  # a tuple of n finite numbers
            return isinstance(x, (tuple, list)) and len(x) == n and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                and np.isfinite(v) for v in x)

        if not numbers(self.transformer_kva, 2) or min(self.transformer_kva) <= 0:
            bad("transformer_kva", "the generator builds two transformers, T1 and T2: two "
                "ratings, numbers > 0 [kVA] (a village with more is read from an export folder; "
                "README, 'Using your own measurement data')")
        if not numbers(self.event_kw, 2) or not 0 <= self.event_kw[0] <= self.event_kw[1]:
            bad("event_kw", "a range (low, high) of kW, 0 <= low <= high")
        roofs = self.pv_orientations
        if not isinstance(roofs, (tuple, list)) or not roofs or any(
                not isinstance(o, (tuple, list)) or len(o) != 3 or not numbers(o[1:], 2)
                or o[2] < 0 for o in roofs) \
                or not np.isclose(sum(o[2] for o in roofs), 1.0):
            bad("pv_orientations", "(name, azimuth in degrees from north or -1 for east-west, "
                "share) tuples whose shares are >= 0 and add up to 1")
        if not 1 <= self.try_region <= 15:
            bad("try_region", "a region of the DWD test reference years, 1 to 15")
        import datetime as _dt

        for name in ("start_local", "end_local"):
            value = getattr(self, name)
            try:  # a date as ISO text (YYYY-MM-DD), a datetime.date or a Timestamp at midnight
                if isinstance(value, str):
                    stamp = pd.Timestamp(_dt.date.fromisoformat(value))
                elif isinstance(value, (_dt.date, pd.Timestamp)):
                    stamp = pd.Timestamp(value)
                else:
                    stamp = pd.NaT
            except (ValueError, TypeError):
                stamp = pd.NaT
            if pd.isna(stamp) or stamp != stamp.normalize():
                bad(name, "not a local date written YYYY-MM-DD, such as '2024-07-01' (the "
                    "village covers whole local days)")
        if pd.Timestamp(self.end_local) <= pd.Timestamp(self.start_local):
            bad("end_local", f"must lie after start_local ({self.start_local!r})")
        months = pd.period_range(pd.Timestamp(self.start_local),
                                 pd.Timestamp(self.end_local) - pd.Timedelta(1, "D"), freq="M")
        known = {m for m, _ in getattr(self.prices, "monthly_eur_per_mwh", ())}
        if missing := [str(m) for m in months if str(m) not in known]:
            first, last = min(known, default="none"), max(known, default="none")
            bad("end_local" if missing[-1] > last else "start_local",
                f"the price model has monthly price levels for {first} to {last} only "
                f"(PriceSpec.monthly_eur_per_mwh), not for {', '.join(missing[:4])}"
                + (" ..." if len(missing) > 4 else "") + "; give them, e.g. in a spec file's "
                "[village.prices] monthly_eur_per_mwh = { \"2025-12\" = 100.0 } [EUR/MWh] "
                "(data/README.md), or choose a period within them")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            bad("timezone", "not a time zone of the IANA database (e.g. 'Europe/Amsterdam')")


def read_village_spec(path) -> VillageSpec:
    """A :class:`VillageSpec` from a TOML file: a ``[village]`` table of its fields.

    Fields not given keep the shipped village's values; lists stand for the tuples
    (``transformer_kva = [100.0, 63.0]``, ``pv_orientations = [["S", 180.0, 1.0]]``).
    A ``[village.prices]`` table changes fields of the price model (:class:`PriceSpec`);
    its ``monthly_eur_per_mwh`` is a table of ``"YYYY-MM" = EUR/MWh`` added to the shipped
    months (2024-07 to 2025-11), which a period beyond them needs. For example::

        [village]
        name = "Kleindorp (synthetic)"
        n_homes = 39
        t1_homes = 24
        n_battery_homes = 4
        battery_homes_on_t1 = 2
        transformer_kva = [100.0, 63.0]
        start_local = "2025-10-01"
        end_local = "2026-02-01"

        [village.prices]
        monthly_eur_per_mwh = { "2025-12" = 100.0, "2026-01" = 110.0 }

    Raises
    ------
    FileNotFoundError
        No file.
    ValueError
        Naming the file and the field: not TOML, another table, an unknown field, a value
        the spec refuses (:meth:`VillageSpec.__post_init__`).
    """
    from dataclasses import fields

    from ansen.io import read_toml

    doc = read_toml(path, "village spec")
    if set(doc) != {"village"} or not isinstance(doc["village"], dict):
        raise ValueError(f"{path}: a village spec holds one [village] table of VillageSpec's "
                         f"fields, found {sorted(doc) or 'nothing'}")
    table = dict(doc["village"])
    names = [f.name for f in fields(VillageSpec)]
    if unknown := sorted(set(table) - set(names)):
        raise ValueError(f"{path}: [village]: unknown field(s) {unknown}; known: "
                         f"{', '.join(names)}")

    def tuples(x):  # TOML arrays for the spec's tuples, nested ones too
        return tuple(tuples(v) for v in x) if isinstance(x, list) else x

    if "prices" in table:  # [village.prices]: PriceSpec's fields; monthly levels are added
        prices = table.pop("prices")
        price_names = [f.name for f in fields(PriceSpec)]
        if not isinstance(prices, dict) or (unknown := sorted(set(prices) - set(price_names))):
            raise ValueError(f"{path}: [village.prices] must be a table of PriceSpec's fields "
                             f"({', '.join(price_names)}); got "
                             + (f"unknown field(s) {unknown}" if isinstance(prices, dict)
                                else repr(prices)))
        prices = dict(prices)
        if "monthly_eur_per_mwh" in prices:  # month = level, beside the shipped months
            by_month = prices["monthly_eur_per_mwh"]
            ok = isinstance(by_month, dict) and all(
                isinstance(m, str) and len(m) == 7 and m[4] == "-" and m.replace("-", "")
                .isdigit() and isinstance(v, (int, float)) and not isinstance(v, bool)
                and np.isfinite(v) for m, v in by_month.items())
            if not ok:
                raise ValueError(f"{path}: [village.prices] monthly_eur_per_mwh must be a "
                                 "table of \"YYYY-MM\" = EUR/MWh, e.g. { \"2025-12\" = 100.0 }")
            levels = dict(PriceSpec().monthly_eur_per_mwh) | {
                m: float(v) for m, v in by_month.items()}
            prices["monthly_eur_per_mwh"] = tuple(sorted(levels.items()))
        try:
            table["prices"] = PriceSpec(**{k: tuples(v) for k, v in prices.items()})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: [village.prices]: {exc}") from None
    try:
        return VillageSpec(**{k: tuples(v) for k, v in table.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------- time


def time_index(spec: VillageSpec) -> pd.DatetimeIndex:
    """15-minute UTC index covering whole local days of the period."""
    start = pd.Timestamp(spec.start_local, tz=spec.timezone).tz_convert("UTC")
    end = pd.Timestamp(spec.end_local, tz=spec.timezone).tz_convert("UTC")
    return pd.date_range(start, end, freq=STEP, inclusive="left")


# --------------------------------------------------------------------------- weather


#: Where the value of a TRY hour HH (1..24, CET, "HH Stunde (MEZ)" in the file's header) sits
#: on the CET clock [h]: HH + TRY_CENTRE_H - 1, i.e. on HH:00 itself. Measured on the TRY of
#: region 1 against the sun at its station (Bremerhaven, 53.53 N, 8.58 E): the correlation of
#: the hourly global irradiance with the clear-sky shape (the hour's mean of sin(elevation))
#: is highest with the values centred on HH:00 (0.903; 0.896 as the mean of the hour ending
#: at HH, 0.893 of the hour beginning at it), and the year's irradiance-weighted mean time
#: then falls 2 minutes after solar noon (28 minutes before it for the hour ending at HH).
#: Read as the hour ending at HH, as this generator did until 2026-12-04, the village's PV
#: came about 30 minutes early.
TRY_CENTRE_H = 1.0


def _sun(times_utc: pd.DatetimeIndex, lat: float, lon: float) -> pd.DataFrame:
    import pvlib

    return pvlib.solarposition.get_solarposition(times_utc, lat, lon, method="nrel_numpy")


def _clearsky_ghi(zenith: np.ndarray) -> np.ndarray:
    """Haurwitz clear-sky GHI [W/m^2] from apparent zenith [deg]."""
    import pvlib

    return np.asarray(pvlib.clearsky.haurwitz(pd.Series(zenith))["ghi"], dtype=float)


def weather(spec: VillageSpec, rng: np.random.Generator,
            national_rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Weather on the village index: ghi, dhi, dni [W/m^2], temp_air [degC], wind_speed [m/s].

    Also returns the solar zenith and azimuth [deg], ``donor`` (TRY day of year)
    and, with ``national_rng``, ``ghi_national`` [W/m^2]: a proxy for the
    Netherlands' solar output, the mean clear-sky index of
    ``national_regions`` regions (Ansen one of them) on Ansen's clear-sky
    irradiance. Each other region has Ansen's weather of the day with
    probability ``national_same_weather``, else a day of its own from the
    same +-10-day window of the TRY (assumptions, see :class:`VillageSpec`).
    """
    t = time_index(spec)
    try_ = read_try(spec.try_region)
    # TRY values of hour HH (1..24, CET) are taken as centred on HH:00 CET (TRY_CENTRE_H);
    # evaluate the TRY's clear sky there.
    ref = pd.Timestamp("2019-01-01")  # a non-leap reference year for the TRY sun
    try_mid = (
        ref + pd.to_timedelta(np.arange(8760), "h") + pd.Timedelta(hours=TRY_CENTRE_H)
        - pd.Timedelta(hours=1)  # CET -> UTC
    ).tz_localize("UTC")
    sun_try = _sun(try_mid, 53.53, 8.58)
    cs = _clearsky_ghi(sun_try["apparent_zenith"].to_numpy())
    ghi = try_["ghi"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(cs > 30.0, ghi / cs, np.nan)
        fd = np.where(ghi > 5.0, try_["dhi"].to_numpy() / ghi, np.nan)
    k_day = ghi.reshape(365, 24).sum(1) / np.maximum(cs.reshape(365, 24).sum(1), 1.0)
    k = np.where(np.isnan(k), np.repeat(k_day, 24), np.clip(k, 0.0, 1.3)).reshape(365, 24)
    fd = np.where(np.isnan(fd), 1.0, np.clip(fd, 0.0, 1.0)).reshape(365, 24)
    temp = try_["temp_air"].to_numpy().reshape(365, 24)
    wind = try_["wind_speed"].to_numpy().reshape(365, 24)

    # donor day per local date
    local = t.tz_convert(spec.timezone)
    dates = pd.DatetimeIndex(local.normalize().unique())
    doy = np.minimum(dates.day_of_year.to_numpy(), 365) - 1
    donors = np.empty(len(dates), dtype=int)
    w = spec.weather_window_days
    for i, d in enumerate(doy):
        prev = donors[i - 1] + 1 if i else -99
        near = abs(((prev - d) + 182) % 365 - 182) <= w
        if i and near and rng.random() < spec.weather_persistence:
            donors[i] = prev % 365
        else:
            donors[i] = (d + rng.integers(-w, w + 1)) % 365

    # hourly donor values on the CET clock of the target day, interpolated to 15 min
    # CET clock (no DST), as the TRY; the first local hour of the period is still
    # 30 June in CET and borrows the first day's donor.
    cet = t.tz_localize(None) + pd.Timedelta(hours=1)
    day_idx = (cet.normalize() - dates[0].tz_localize(None)).days.to_numpy()
    day_idx = np.clip(day_idx, 0, len(dates) - 1)
    frac_h = (cet.hour + cet.minute / 60.0 + 7.5 / 60.0).to_numpy()  # mid-interval
    # row j (hour HH = j + 1) is centred on j + TRY_CENTRE_H CET: position x = frac_h - that;
    # before a day's first centre, between the previous day's last row and its first
    x = frac_h - TRY_CENTRE_H
    before = x < 0
    lo = np.where(before, 23, np.clip(np.floor(x).astype(int), 0, 23))
    hi = np.where(before, 0, np.clip(lo + 1, 0, 23))
    wgt = np.clip(x - np.floor(x), 0.0, 1.0)
    don = donors[day_idx]
    previous = np.maximum(day_idx - 1, 0)  # the period's first hour: its own day
    don_lo = np.where(before, donors[previous], don)

    def interp(table: np.ndarray) -> np.ndarray:
        return (1 - wgt) * table[don_lo, lo] + wgt * table[don, hi]

    sun = _sun(t + pd.Timedelta(minutes=7.5), spec.latitude, spec.longitude)
    zen = sun["apparent_zenith"].to_numpy()
    clear = _clearsky_ghi(zen)
    ghi_t = interp(k) * clear
    dhi_t = np.minimum(interp(fd) * ghi_t, ghi_t)
    cosz = np.cos(np.radians(sun["zenith"].to_numpy()))
    dni_t = np.where(cosz > 0.087, (ghi_t - dhi_t) / np.maximum(cosz, 0.087), 0.0)
    # national solar proxy: regions that share Ansen's weather day or draw their own
    national = np.zeros(len(t))
    if national_rng is not None:
        n_reg = spec.national_regions
        for r in range(n_reg):
            if r == 0:
                region = donors  # Ansen is one of the regions
            else:
                same = national_rng.random(len(dates)) < spec.national_same_weather
                own = (doy + national_rng.integers(-w, w + 1, len(dates))) % 365
                region = np.where(same, donors, own)
            region_lo = np.where(before, region[previous], region[day_idx])
            national += (1 - wgt) * k[region_lo, lo] + wgt * k[region[day_idx], hi]
        national = national / n_reg * clear
    return pd.DataFrame(
        {
            "ghi": ghi_t, "dhi": dhi_t, "dni": dni_t, "ghi_national": national,
            "temp_air": interp(temp), "wind_speed": interp(wind),
            "zenith": sun["zenith"].to_numpy(), "azimuth": sun["azimuth"].to_numpy(),
            "donor": don,
        },
        index=t,
    )


def pv_per_kwp(wx: pd.DataFrame, tilt: float, azimuth: float, *, losses: float,
               gamma: float, dc_ac: float) -> np.ndarray:
    """AC power of 1 kWp [kW] for one roof orientation (PVWatts with Faiman cell temperature).

    ``azimuth`` < 0 means an east-west roof: half the modules face 90, half 270 deg.
    """
    import pvlib

    if azimuth < 0:
        return 0.5 * (
            pv_per_kwp(wx, tilt, 90.0, losses=losses, gamma=gamma, dc_ac=dc_ac)
            + pv_per_kwp(wx, tilt, 270.0, losses=losses, gamma=gamma, dc_ac=dc_ac)
        )
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, wx["zenith"], wx["azimuth"], wx["dni"], wx["ghi"], wx["dhi"],
        albedo=0.2, model="isotropic",
    )["poa_global"].fillna(0.0)
    tcell = pvlib.temperature.faiman(poa, wx["temp_air"], wx["wind_speed"])
    dc = pvlib.pvsystem.pvwatts_dc(poa, tcell, 1.0, gamma) * (1.0 - losses)
    return np.clip(dc.to_numpy(), 0.0, 1.0 / dc_ac)


# --------------------------------------------------------------------------- households


def _ar1(rng: np.random.Generator, n_t: int, n: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) noise, shape (n_t, n)."""
    e = rng.standard_normal((n_t, n)) * np.sqrt(1.0 - phi**2)
    z = lfilter([1.0], [1.0, -phi], e, axis=0)
    return z


def appliance_load(spec: VillageSpec, local: pd.DatetimeIndex, rng) -> np.ndarray:
    """Household appliance load [kW], shape (time, n_homes), from BDEW H25; each home's
    annual use (its smooth part and its events) in a year as :func:`heat_pump_load`
    counts it."""
    n_t, n = len(local), spec.n_homes
    # the shape over the whole period, as the event draws below have always used it (their
    # random stream, and so every later draw of the village, stays as it was)
    slp = bdew_profile("H25", local, per="period")[:, None]
    annual = spec.appliance_kwh_per_year * rng.lognormal(
        -spec.appliance_sigma**2 / 2, spec.appliance_sigma, n
    )
    s = spec.noise_sigma
    smooth = slp * np.exp(s * _ar1(rng, n_t, n, spec.noise_phi) - s * s / 2)
    lam = slp * (annual * spec.event_share / (np.mean(spec.event_kw) * H)) / (365.25 * 96)
    events = rng.poisson(lam) * rng.uniform(*spec.event_kw, size=(n_t, n))
    smooth *= (annual * (1 - spec.event_share)) / annual_kwh(smooth, local)
    # the events fall where the draws put them; a year holds their share of the use
    got = annual_kwh(events, local)
    events *= np.where(got > 0, annual * spec.event_share / np.where(got > 0, got, 1.0), 0.0)
    return smooth + events


def heat_pump_load(spec: VillageSpec, temp: np.ndarray, local: pd.DatetimeIndex, n: int,
                   rng) -> np.ndarray:
    """Heat-pump electric power [kW] for n homes, shape (time, n).

    Space heating from degree-hours below a set point of 19 degC by day and
    16 degC at night (23-06), divided by a COP rising linearly with outdoor
    temperature (2.0 at -10 degC to 4.4 at 15 degC, air-source), plus hot
    water of 10% of the annual energy in two daily blocks; capped at
    ``hp_max_kw`` and scaled to ``hp_kwh_per_year`` per home (before the cap) in a
    year: the period's first twelve months, or all of it scaled to a year if shorter
    (:func:`ansen.data.schema.annual_kwh`).
    """
    hour = local.hour.to_numpy()
    setp = np.where((hour >= 23) | (hour < 6), 16.0, 19.0)[:, None] + rng.normal(0, 1, n)
    cop = np.clip(2.0 + (temp[:, None] + 10.0) * 0.096, 2.0, 4.4)
    heat = np.maximum(setp - temp[:, None], 0.0) / cop
    dhw = np.isin(hour, [6, 7, 19])[:, None] * np.ones(n)
    heat *= 0.9 / annual_kwh(heat, local)
    dhw *= 0.1 / annual_kwh(dhw, local)
    target = spec.hp_kwh_per_year * rng.lognormal(-0.02, 0.2, n)
    return np.minimum((heat + dhw) * target, spec.hp_max_kw)


def ev_load(spec: VillageSpec, local: pd.DatetimeIndex, n: int, rng) -> np.ndarray:
    """EV charging power [kW] for n homes, shape (time, n).

    Each day and EV: a session with probability ``ev_sessions_per_day`` (0.8x
    on weekends), arrival ~ N(18:00, 1.5 h), energy ~ Gamma(k=3) with mean
    ``ev_kwh_per_session``, charged at ``ev_charger_kw`` from arrival.
    """
    n_t = len(local)
    out = np.zeros((n_t, n))
    day_start = np.flatnonzero((local.hour == 0) & (local.minute == 0))
    weekend = local.day_of_week.to_numpy()[day_start] >= 5
    per_step = spec.ev_charger_kw * H
    for j in range(n):
        p = np.where(weekend, 0.8, 1.0) * spec.ev_sessions_per_day
        go = rng.random(len(day_start)) < p
        arrive = np.clip(rng.normal(18.0, 1.5, len(day_start)), 12.0, 23.75)
        energy = rng.gamma(3.0, spec.ev_kwh_per_session / 3.0, len(day_start))
        for d in np.flatnonzero(go):
            i0 = day_start[d] + int(arrive[d] * 4)
            full, rest = divmod(energy[d], per_step)
            i1 = min(i0 + int(full), n_t)
            out[i0:i1, j] += spec.ev_charger_kw
            if i1 < n_t:
                out[i1, j] += rest / H
    return out


# --------------------------------------------------------------------------- assembly


def _quantize(x: np.ndarray, name: str) -> np.ndarray:
    """Integer counts of the storage resolution of ``name``."""
    return np.round(np.asarray(x, dtype=float) / PACKING[name][0]).astype(np.int64)


def synthesize(seed: int = 2024, spec: VillageSpec | None = None) -> xr.Dataset:
    """Build the synthetic Ansen village.

    Parameters
    ----------
    seed : int
        Seed of the single random generator; the shipped file uses 2024.
    spec : VillageSpec, optional
        The village's parameters; defaults reproduce the shipped file.

    Returns
    -------
    xarray.Dataset
        A village that passes :func:`ansen.data.validate`, on the storage grid
        of :data:`ansen.data.io.PACKING` so that ``save`` stores it exactly.
    """
    spec = spec or VillageSpec()
    from ansen.data.sources import try_climate_note

    if (note := try_climate_note(spec.latitude, spec.longitude)[1]):
        import warnings

        warnings.warn(f"synthesize: the village at {note}: its weather, PV yield and heat "
                      "pump use follow that climate's calendar, not the village's",
                      UserWarning, stacklevel=2)
    rng = np.random.default_rng(seed)
    t = time_index(spec)
    local = t.tz_convert(spec.timezone)
    n_t, n = len(t), spec.n_homes
    # the national weather has a generator of its own, so that adding it left every other
    # number of the village as it was
    wx = weather(spec, rng, np.random.default_rng([seed, 1]))

    # PV per kWp per orientation
    kw = {"losses": spec.pv_losses, "gamma": spec.pv_gamma_per_k, "dc_ac": spec.pv_dc_ac_ratio}
    orient = {o: pv_per_kwp(wx, spec.pv_tilt_deg, az, **kw) for o, az, _ in spec.pv_orientations}
    shares = np.array([s for *_, s in spec.pv_orientations])
    names = [o for o, *_ in spec.pv_orientations]
    # the plants (hall, farm, school, solar park) face south and south-west north of the
    # equator, north and north-west south of it, whatever the homes' roofs
    by_azimuth = {az: orient[o] for o, az, _ in spec.pv_orientations}

    def plant(azimuth: float) -> np.ndarray:
        az = azimuth if spec.latitude >= 0 else (540.0 - azimuth) % 360.0
        return by_azimuth[az] if az in by_azimuth else pv_per_kwp(wx, spec.pv_tilt_deg, az,
                                                                  **kw)

    south, south_west = plant(180.0), plant(225.0)

    # homes
    has_pv = rng.random(n) < spec.pv_share
    kwp = np.where(has_pv, np.round(spec.pv_kwp_mean * rng.lognormal(
        -spec.pv_kwp_sigma**2 / 2, spec.pv_kwp_sigma, n) / 0.4) * 0.4, 0.0)  # 400 Wp panels
    which = rng.choice(len(names), size=n, p=shares / shares.sum())
    pv = np.stack([orient[names[w]] for w in which], axis=1) * kwp
    appl = appliance_load(spec, local, rng)
    has_hp = rng.random(n) < spec.hp_share
    has_ev = rng.random(n) < spec.ev_share
    hp = np.zeros((n_t, n))
    hp[:, has_hp] = heat_pump_load(spec, wx["temp_air"].to_numpy(), local, int(has_hp.sum()), rng)
    ev = np.zeros((n_t, n))
    ev[:, has_ev] = ev_load(spec, local, int(has_ev.sum()), rng)

    # village hall
    hall = bdew_profile("G25", local) * spec.hall_kwh_per_year / (365.25 * 24)
    hall_pv = south * spec.hall_pv_kwp

    ids = [f"H{i + 1:03d}" for i in range(n)] + ["DORPSHUIS"]
    trafo = np.array(["T1"] * spec.t1_homes + ["T2"] * (n - spec.t1_homes) + ["T1"])
    q_appl = _quantize(np.column_stack([appl, hall]), "load_kw")
    q_hp = _quantize(np.column_stack([hp, np.zeros(n_t)]), "heat_pump_kw")
    q_ev = _quantize(np.column_stack([ev, np.zeros(n_t)]), "ev_kw")
    res = PACKING["load_kw"][0]
    load = (q_appl + q_hp + q_ev) * res
    pv_all = _quantize(np.column_stack([pv, hall_pv]), "pv_kw") * res
    pv_kwp = np.append(kwp, spec.hall_pv_kwp)

    # battery sites: homes with PV, 6 on T1 and 3 on T2, plus the hall
    t1_pv = np.flatnonzero(has_pv[: spec.t1_homes])
    t2_pv = spec.t1_homes + np.flatnonzero(has_pv[spec.t1_homes :])
    k1 = spec.battery_homes_on_t1
    for count, pool, where, on in ((k1, t1_pv, "battery_homes_on_t1", "T1"),
                                   (spec.n_battery_homes - k1, t2_pv,
                                    "n_battery_homes - battery_homes_on_t1", "T2")):
        if count > len(pool):
            raise ValueError(
                f"VillageSpec: {where} = {count} battery homes on {on}, but seed {seed} gave "
                f"only {len(pool)} homes with PV there (pv_share {spec.pv_share}, t1_homes {spec.t1_homes} of "
                f"n_homes {spec.n_homes}); battery homes are drawn among homes with PV")
    sites = np.concatenate([
        rng.choice(t1_pv, k1, replace=False),
        rng.choice(t2_pv, spec.n_battery_homes - k1, replace=False),
        [n],
    ])
    bat = np.zeros(n + 1)
    bat[sites] = 1.0

    # rest of each transformer and the MV feeder
    night = (wx["zenith"].to_numpy() > 96.0).astype(float)  # civil dusk to dawn
    rest_t1 = (
        bdew_profile("L25", local) * spec.t1_farm_kwh_per_year / 8766
        - south * spec.t1_farm_pv_kwp + spec.street_light_kw * night
    )
    rest_t2 = (
        bdew_profile("G25", local) * spec.t2_school_kwh_per_year / 8766
        - south_west * spec.t2_school_pv_kwp + spec.street_light_kw * night
    )
    rest = np.column_stack([rest_t1, rest_t2])
    q_rest = _quantize(rest, "transformer_rest_kw")
    rest = q_rest * PACKING["transformer_rest_kw"][0]
    net = load - pv_all
    ansen_kw = net.sum(1) + rest.sum(1)
    mv = ansen_kw + mv_neighbours(spec, local, wx, orient, hp[:, has_hp], ev[:, has_ev],
                                  south)
    mv = _quantize(mv, "mv_kw") * PACKING["mv_kw"][0]

    price = day_ahead_prices(spec.prices, local, wx, rng)
    price = _quantize(price, "price_eur_per_kwh") * PACKING["price_eur_per_kwh"][0]

    ds = xr.Dataset(
        {
            "load_kw": (("time", "household"), load),
            "pv_kw": (("time", "household"), pv_all),
            "heat_pump_kw": (("time", "household"), q_hp * res),
            "ev_kw": (("time", "household"), q_ev * res),
            "transformer_rest_kw": (("time", "transformer"), rest),
            "mv_kw": (("time",), mv),
            "price_eur_per_kwh": (("time",), price),
            "battery_kwh": (("household",), bat * spec.battery_kwh),
            "battery_kw": (("household",), bat * spec.battery_kw),
            "battery_eff": (("household",), np.full(n + 1, spec.battery_eff)),
            "household_transformer": (("household",), trafo),
            "transformer_kva": (("transformer",), np.array(spec.transformer_kva)),
            "pv_kwp": (("household",), pv_kwp),
        },
        coords={
            "time": t.tz_localize(None).to_numpy(),
            "household": ids,
            "transformer": ["T1", "T2"],
        },
    )
    for name, da in ds.data_vars.items():
        if name in VARIABLES:
            da.attrs.update(units=VARIABLES[name].unit, description=VARIABLES[name].description)
    ds["has_heat_pump"] = ("household", np.append(has_hp, False).astype("int8"))
    ds["has_ev"] = ("household", np.append(has_ev, False).astype("int8"))
    ds.attrs.update(
        name=spec.name,
        source="synthetic",
        generator="ansen.data.synthesize",
        seed=seed,
        timezone=spec.timezone,
        latitude=spec.latitude,
        longitude=spec.longitude,
        licence="CC-BY-4.0 (generated data); inputs: BDEW profiles and DWD TRY via demandlib "
        "(MIT)",
        spec=repr(asdict(spec)),
        notes="Synthetic village calibrated to public statistics; see data/README.md.",
    )
    return ds


def mv_neighbours(spec: VillageSpec, local, wx, orient, hp_homes, ev_homes,
                  park_per_kwp) -> np.ndarray:
    """The part of the MV feeder load [kW] that is not Ansen.

    Neighbouring villages (``mv_neighbour_homes`` homes as the smooth H25
    profile at the appliance mean, plus heat pumps and EVs at Ansen's shares
    with Ansen's mean per-home profiles), their rooftop PV (mixed
    orientations), business and agriculture (G25 and L25, half each) and a
    ground-mounted solar park (``park_per_kwp``: facing the equator, clipped at its AC
    rating).
    """
    homes = spec.mv_neighbour_homes
    h25 = bdew_profile("H25", local) * spec.appliance_kwh_per_year / 8766 * homes
    hp = hp_homes.mean(1) * spec.hp_share * homes if hp_homes.size else 0.0
    ev = ev_homes.mean(1) * spec.ev_share * homes if ev_homes.size else 0.0
    shares = np.array([s for *_, s in spec.pv_orientations])
    mixed = sum(orient[o] * s for (o, _, s) in spec.pv_orientations) / shares.sum()
    business = 0.5 * spec.mv_business_kwh_per_year / 8766 * (
        bdew_profile("G25", local) + bdew_profile("L25", local)
    )
    park = np.minimum(park_per_kwp * spec.pv_dc_ac_ratio, 1.0 / spec.mv_solar_park_dc_ac)
    return h25 + hp + ev + business - mixed * spec.mv_neighbour_pv_kwp - (
        park * spec.mv_solar_park_kwp
    )

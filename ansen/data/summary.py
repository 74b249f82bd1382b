"""Annual figures of a village, and the Dutch ranges they should fall in.

:func:`summary` gives the figures ``ansen data summary`` prints; each row
carries the plausible range of :data:`PLAUSIBLE` and its source, so a reader
sees at once whether the village looks Dutch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import (
    DataError,
    annual_kwh,
    holds_a_year,
    home_flags,
    local_time,
    seasons,
    step_hours,
)

__all__ = ["PLAUSIBLE", "household_net_kw", "price_pv_correlation", "pv_kwp", "summary",
           "transformer_kw"]

#: Plausible range (low, high) and source of each summary figure. Sources are
#: public (see data/README.md for the full references); "assumption" marks a
#: judgement of the authors, "calibrated" a value chosen to match the pilot's
#: public summary (NO-GIZMOS, "Thuisbatterijen als publiek goed", 2026).
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "household use [kWh/yr]": (
        2000.0, 4000.0,
        "CBS StatLine 81528NED: NL 2024 mean 2,550 kWh per household, Drenthe 2,730 kWh; "
        "homes with heat pump or EV use more",
    ),
    "PV yield [kWh/kWp/yr]": (
        750.0, 1000.0,
        "Dutch rule of thumb 0.85-0.9 kWh/Wp (Regionaal Energieloket); De Bilt 1,054 kWh/kWp "
        "in sunny 2020 for an optimal roof (Utrecht University via Tweakers, 2021); mixed "
        "orientations lower",
    ),
    "PV per dwelling [kWp]": (
        2.0, 6.0,
        "CBS 2024: up to 2.8 kWp per dwelling in rural municipalities; the pilot report "
        "describes Ansen's PV density as very high (NO-GIZMOS 2026)",
    ),
    "transformer import peak [kW/kVA]": (
        0.2, 1.0,
        "assumption: the winter evening peak of a village LV transformer stays below its "
        "rating",
    ),
    "transformer export peak [kW/kVA]": (
        0.3, 1.2,
        "calibrated: the pilot report says the local grid is at its limit, mainly by feed-in "
        "(NO-GIZMOS 2026); reverse peaks near the rating",
    ),
    "MV weekly |peak| median [kW]": (
        500.0, 2000.0,
        "calibrated: the report's 4.2% mean MV peak reduction by ten 5 kW batteries implies "
        "weekly MV peaks of about 1 MW (NO-GIZMOS 2026; data/README.md)",
    ),
    "price mean [EUR/MWh]": (
        60.0, 110.0,
        "NL day-ahead 2024-25 monthly means about 50-130 EUR/MWh (ENTSO-E transparency "
        "platform)",
    ),
    "negative price hours [h/yr]": (
        300.0, 700.0,
        "NL 2024: 233 h by 30 June (Flink Nederland), 326 h by mid-August (Welingelichte "
        "Kringen), about 8% of hours by September (ENTSO-E data via Livemint); 316 h in 2023",
    ),
}


def pv_kwp(ds: xr.Dataset) -> np.ndarray | None:
    """Installed PV per household [kWp], from the variable ``pv_kwp`` or ``attrs['pv_kwp']``.

    Returns
    -------
    numpy.ndarray or None
        One value per household; None when the village gives neither.

    Raises
    ------
    DataError
        ``attrs['pv_kwp']`` is not one number per household.
    """
    if "pv_kwp" in ds:
        return ds["pv_kwp"].values.astype(float)
    if "pv_kwp" not in ds.attrs:
        return None
    values = np.atleast_1d(np.asarray(ds.attrs["pv_kwp"], dtype=float))
    if values.shape != (ds.sizes["household"],):
        raise DataError(f"attrs['pv_kwp']: one value per household needed "
                        f"({ds.sizes['household']}), got shape {values.shape}")
    return values


def household_net_kw(ds: xr.Dataset) -> xr.DataArray:
    """Household net exchange without battery [kW]: load - PV (import positive)."""
    return ds["load_kw"] - ds["pv_kw"]


def transformer_kw(ds: xr.Dataset, net: xr.DataArray | None = None) -> xr.DataArray:
    """Load of each transformer [kW] (import from MV positive).

    ``net`` is the households' net exchange (default: without battery); the
    transformer carries the sum over its households plus ``transformer_rest_kw``.
    """
    net = household_net_kw(ds) if net is None else net
    grouped = net.groupby(ds["household_transformer"].rename("transformer")).sum("household")
    # a transformer without households carries its own load alone (not NaN)
    return (grouped.reindex(transformer=ds["transformer"].values, fill_value=0.0)
            + ds["transformer_rest_kw"])


#: Figures whose range is a calibration target of the synthetic village, not a plausibility
#: range for villages in general: judged only on a village the generator made from the
#: shipped spec (any seed and period: :func:`_shipped_spec`).
CALIBRATED = ("MV weekly |peak| median [kW]", "transformer export peak [kW/kVA]")
#: Fields of a VillageSpec that leave the calibration standing: its name and its period.
_FREE_FIELDS = ("name", "start_local", "end_local")

#: Figures of winter: judged only on data that hold two weeks of winter (December to
#: February; June to August south of the equator, :func:`ansen.data.schema.seasons`).
WINTER = ("transformer import peak [kW/kVA]",)
#: The figures of :func:`summary` that are per year (judged only on a year of data or more).
PER_YEAR = ("household use [kWh/yr]", "PV yield [kWh/kWp/yr]", "negative price hours [h/yr]")


def _shipped_spec(ds: xr.Dataset) -> bool:
    """Whether the generator made ``ds`` from the shipped :class:`VillageSpec` (its name,
    period and seed aside): the village its :data:`CALIBRATED` targets were set for."""
    import ast
    from dataclasses import asdict

    from ansen.data.synthetic import VillageSpec

    if ds.attrs.get("generator") != "ansen.data.synthesize":
        return False
    try:
        spec = ast.literal_eval(str(ds.attrs.get("spec", "")))
    except (ValueError, SyntaxError):
        return False
    shipped = asdict(VillageSpec())
    return isinstance(spec, dict) and all(
        spec.get(k) == v for k, v in shipped.items() if k not in _FREE_FIELDS)


def summary(ds: xr.Dataset) -> pd.DataFrame:
    """Annual figures of a village (without batteries).

    Energies per year are those of the first twelve months where the data hold
    them (:func:`ansen.data.schema.annual_kwh`: a period of more than a year but
    not of whole years would weigh some seasons twice), else of the whole
    period scaled to a year (with a warning: the seasons it misses are missing
    from the figures). Peaks are over the whole period. The PV
    rows need the installed PV per household (:func:`pv_kwp`: a ``pv_kwp``
    variable or attribute). Connections that are not homes (the village hall:
    :func:`ansen.data.schema.is_home_id`) are left out of the household
    figures when present.

    Returns
    -------
    pandas.DataFrame
        Index: figure; columns value, low, high, ok (within range: True or
        False; None where not judged: the :data:`PER_YEAR` figures of less than
        a year of data, the price figures of a village without prices, the
        :data:`CALIBRATED` figures of a village the generator did not make from the
        shipped spec), source.
    """
    days = ds.sizes["time"] * step_hours(ds) / 24.0
    local = local_time(ds)
    a_year = holds_a_year(local)
    if not a_year:
        import warnings

        warnings.warn(f"data summary: the data hold {days:.1f} days; the annual figures are "
                      f"scaled up from them (x {365.25 / days:.3g}), without the seasons they "
                      "miss", UserWarning, stacklevel=2)
    homes = np.flatnonzero(home_flags(ds["household"].values, "data summary"))
    use = float(annual_kwh(ds["load_kw"].values[:, homes], local).mean())
    rows: dict[str, float] = {"household use [kWh/yr]": use}
    kwp = pv_kwp(ds)
    if kwp is not None and kwp.sum() > 0:
        pv = annual_kwh(ds["pv_kw"].values.sum(axis=1), local)
        rows["PV yield [kWh/kWp/yr]"] = float(pv) / kwp.sum()
        rows["PV per dwelling [kWp]"] = float(kwp[homes].mean())
    tr = transformer_kw(ds)
    kva = ds["transformer_kva"]
    # 0 where no transformer imports (exports) at all: a peak of flow in that direction
    rows["transformer import peak [kW/kVA]"] = max(0.0, float((tr.max("time") / kva).max()))
    rows["transformer export peak [kW/kVA]"] = max(0.0, float((-tr.min("time") / kva).max()))
    mv = pd.Series(np.abs(ds["mv_kw"].values), index=ds.indexes["time"])
    weekly = mv.groupby(local.tz_localize(None).to_period("W-SUN")).max()  # local Mon-Sun
    rows["MV weekly |peak| median [kW]"] = float(weekly.median())
    price = ds["price_eur_per_kwh"].to_series() * 1000.0
    rows["price mean [EUR/MWh]"] = float(price.mean())
    rows["negative price hours [h/yr]"] = float(annual_kwh((price.values < 0) * 1.0, local))
    out = pd.DataFrame({"value": pd.Series(rows)})
    out["low"] = [PLAUSIBLE[k][0] for k in out.index]
    out["high"] = [PLAUSIBLE[k][1] for k in out.index]
    out["ok"] = ((out["value"] >= out["low"]) & (out["value"] <= out["high"])).astype(object)
    # not judged (None): a year's figures from less than a year of data, whose seasons are
    # missing (spring and summer alone give a PV yield far above any whole year's), and
    # price figures of a village without prices
    not_judged = [] if a_year else [k for k in PER_YEAR if k in out.index]
    if not (price != 0).any():
        not_judged += [k for k in out.index if "price" in k]
    if not _shipped_spec(ds):  # the synthetic village's targets, not other villages' ranges
        not_judged += [k for k in CALIBRATED if k in out.index]
    winter_days = local[seasons(ds, local) == "winter"].normalize().nunique()
    if winter_days < 14:  # a winter peak from data without (two weeks of) winter
        not_judged += [k for k in WINTER if k in out.index]
    out.loc[not_judged, "ok"] = None
    out["source"] = [PLAUSIBLE[k][2] for k in out.index]
    return out


def details(ds: xr.Dataset) -> pd.DataFrame:
    """Per-transformer and MV figures in kW (without batteries), for the README and notebook."""
    tr = transformer_kw(ds)
    rows = {}
    for t in ds["transformer"].values:
        s = tr.sel(transformer=t)
        n = int((ds["household_transformer"] == t).sum())
        rows[f"{t} ({n} connections, {float(ds['transformer_kva'].sel(transformer=t)):.0f} kVA)"] = {
            "import peak [kW]": max(0.0, float(s.max())),  # 0: never imports
            "export peak [kW]": max(0.0, float(-s.min())),  # 0: never exports
            "mean [kW]": float(s.mean()),
        }
    mv = ds["mv_kw"]
    rows["MV feeder"] = {
        "import peak [kW]": max(0.0, float(mv.max())),
        "export peak [kW]": max(0.0, float(-mv.min())),
        "mean [kW]": float(mv.mean()),
    }
    return pd.DataFrame(rows).T


def peak_timing(ds: xr.Dataset) -> pd.DataFrame:
    """When the weekly peaks fall, and how cheap power is then (without batteries).

    For each week (Monday to Sunday, local time) and each grid level (each transformer
    and the MV feeder), the step of the largest absolute load is found and the
    day-ahead price at that step is ranked within its week (0 = the week's
    cheapest step, 1 = the dearest).

    Returns
    -------
    pandas.DataFrame
        One row per level: share of weekly peaks that are export (reverse
        flow), mean price rank at the peak, and share of peaks in the week's
        cheapest quarter of steps (NaN for a village without prices).
    """
    utc = ds.indexes["time"]
    week = local_time(ds).tz_localize(None).to_period("W-SUN")  # local Monday to Sunday
    price = pd.Series(ds["price_eur_per_kwh"].values, index=utc)
    has_prices = bool((price != 0).any())
    rank = price.groupby(week).rank(pct=True)
    tr = transformer_kw(ds)
    series = {str(t): pd.Series(tr.sel(transformer=t).values, index=utc)
              for t in ds["transformer"].values}
    series["MV"] = pd.Series(ds["mv_kw"].values, index=utc)
    rows = {}
    for name, s in series.items():
        idx = s.abs().groupby(week).idxmax().dropna()
        r = rank.loc[idx.values]
        rows[name] = {
            "weeks": len(idx),
            "export share of weekly peaks": float((s.loc[idx.values] < 0).mean()),
            "mean price rank at peak": float(r.mean()) if has_prices else np.nan,
            "peaks in cheapest quarter": float((r <= 0.25).mean()) if has_prices else np.nan,
        }
    out = pd.DataFrame(rows).T
    out["weeks"] = out["weeks"].astype(int)
    return out


def price_pv_correlation(ds: xr.Dataset) -> pd.Series:
    """How much the day-ahead price says about the village's own PV (hourly means).

    Three Pearson correlations between the hourly price and the hourly total
    PV of the village: over all hours, over daylight hours (village PV above
    1 % of its peak), and of the *anomalies* in daylight, i.e. both series
    minus their mean for the same month and hour of day. The last one is the
    day-to-day part: how well a cheap hour tells a sunny day in the village
    from a grey one (data/README.md, "Prices"). NaN where PV is all zero.
    """
    frame = pd.DataFrame({"price": ds["price_eur_per_kwh"].values,
                          "pv": ds["pv_kw"].sum("household").values},
                         index=ds.indexes["time"])
    hourly = frame.resample("1h").mean().dropna()
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    hours = hourly.index.tz_localize("UTC").tz_convert(tz) \
        if hourly.index.tz is None else hourly.index.tz_convert(tz)
    day = hourly["pv"] > 0.01 * hourly["pv"].max()
    keys = [hours.month, hours.hour]
    anomaly = hourly - hourly.groupby(keys).transform("mean")
    light = anomaly[day.values]

    def corr(df: pd.DataFrame) -> float:
        if len(df) < 3 or df["pv"].std() == 0 or df["price"].std() == 0:
            return float("nan")
        return float(df["price"].corr(df["pv"]))

    return pd.Series({"all hours": corr(hourly), "daylight hours": corr(hourly[day.values]),
                      "daylight, anomalies within month and hour": corr(light)},
                     name="correlation of price and village PV")

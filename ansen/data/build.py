"""Build a village Dataset from plain arrays (tests, notebooks, other villages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import VARIABLES, validate

__all__ = ["from_arrays"]


def from_arrays(
    time,
    load_kw,
    pv_kw,
    *,
    household_transformer,
    transformer_kva,
    transformer_rest_kw=None,
    mv_kw=None,
    price_eur_per_kwh=None,
    battery_kwh=None,
    battery_kw=None,
    battery_eff=None,
    household=None,
    transformer=None,
    pv_kwp=None,
    timezone: str = "Europe/Amsterdam",
    **attrs,
) -> xr.Dataset:
    """A validated village Dataset from arrays.

    Parameters
    ----------
    time : array-like of datetimes
        Start of each step, UTC (naive or tz-aware), regular.
    load_kw, pv_kw : array-like, shape (time, household)
        Consumption and PV generation [kW].
    household_transformer : sequence of str, length household
        Transformer of each household.
    transformer_kva : sequence of float, length transformer
        Ratings [kVA]; with ``transformer`` ids (default ``T1``, ``T2``, ...).
    transformer_rest_kw : array-like, shape (time, transformer), optional
        Other load behind each transformer [kW]; default 0.
    mv_kw : array-like, shape (time,), optional
        MV feeder load without batteries [kW]; default: the sum of the
        transformers (a feeder carrying only this village).
    price_eur_per_kwh : array-like, shape (time,), optional
        Day-ahead price [EUR/kWh]; default 0.
    battery_kwh, battery_kw, battery_eff : array-like, shape (household,), optional
        Capacity [kWh] (default 0), power limit [kW] (default 0) and one-way
        efficiency [-] (default 1).
    household : sequence of str, optional
        Household ids (default ``H001``...).
    transformer : sequence of str, optional
        Transformer ids (default ``T1``, ``T2``, ...).
    pv_kwp : array-like, shape (household,), optional
        Installed PV peak power [kWp] (the optional variable ``pv_kwp``).
    timezone : str
        IANA time zone name of the village (local time for tariffs and plots).
    **attrs
        Extra Dataset attributes (name, source, ...).

    Raises
    ------
    ansen.data.DataError
        When the result breaks the schema.
    """
    t = pd.DatetimeIndex(time)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    load_kw = np.asarray(load_kw, dtype=float)
    pv_kw = np.asarray(pv_kw, dtype=float)
    n_t, n_h = load_kw.shape
    kva = np.asarray(transformer_kva, dtype=float)
    n_tr = len(kva)
    household = list(household) if household is not None else [
        f"H{i + 1:03d}" for i in range(n_h)
    ]
    transformer = list(transformer) if transformer is not None else [
        f"T{i + 1}" for i in range(n_tr)
    ]
    rest = (np.zeros((n_t, n_tr)) if transformer_rest_kw is None
            else np.asarray(transformer_rest_kw, dtype=float).reshape(n_t, n_tr))
    ds = xr.Dataset(
        {
            "load_kw": (("time", "household"), load_kw),
            "pv_kw": (("time", "household"), pv_kw),
            "transformer_rest_kw": (("time", "transformer"), rest),
            "price_eur_per_kwh": (("time",), np.zeros(n_t) if price_eur_per_kwh is None
                                  else np.asarray(price_eur_per_kwh, dtype=float)),
            "battery_kwh": (("household",), np.zeros(n_h) if battery_kwh is None
                            else np.asarray(battery_kwh, dtype=float)),
            "battery_kw": (("household",), np.zeros(n_h) if battery_kw is None
                           else np.asarray(battery_kw, dtype=float)),
            "battery_eff": (("household",), np.ones(n_h) if battery_eff is None
                            else np.asarray(battery_eff, dtype=float)),
            "household_transformer": (("household",), np.asarray(household_transformer, str)),
            "transformer_kva": (("transformer",), kva),
        },
        coords={"time": t.to_numpy(), "household": household, "transformer": transformer},
        attrs={"source": "arrays", "timezone": timezone, **attrs},
    )
    if mv_kw is None:
        mv_kw = (ds["load_kw"] - ds["pv_kw"]).sum("household") + ds["transformer_rest_kw"].sum(
            "transformer")
    ds["mv_kw"] = ("time", np.asarray(mv_kw, dtype=float))
    if pv_kwp is not None:
        ds["pv_kwp"] = ("household", np.asarray(pv_kwp, dtype=float))
    for name, da in ds.data_vars.items():
        da.attrs["units"] = VARIABLES[name].unit
    return validate(ds)

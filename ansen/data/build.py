"""Build a village Dataset from plain arrays (tests, notebooks, other villages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import VARIABLES, DataError, validate

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
        Extra Dataset attributes (name, source, ...): text or numbers. A name
        close to one of the parameters above or to a variable of the schema
        is refused as a likely misspelling (``prices_eur_per_kwh``).

    Raises
    ------
    ansen.data.DataError
        When the result breaks the schema.
    """
    _check_attrs_kwargs(attrs)
    t = pd.DatetimeIndex(time)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    load_kw = np.asarray(load_kw, dtype=float)
    pv_kw = np.asarray(pv_kw, dtype=float)
    if load_kw.ndim != 2:
        raise DataError(f"from_arrays: load_kw must be 2-D (time, household), got shape "
                        f"{load_kw.shape}")
    n_t, n_h = len(t), len(np.atleast_1d(np.asarray(household_transformer)))
    kva = np.asarray(transformer_kva, dtype=float).reshape(-1)
    n_tr = len(kva)
    _shape("load_kw", load_kw, (n_t, n_h), ("time", "household"))
    _shape("pv_kw", pv_kw, (n_t, n_h), ("time", "household"))
    _shape("household_transformer", np.asarray(household_transformer), (n_h,), ("household",))
    for name, value, shape, dims in (
            ("transformer_rest_kw", transformer_rest_kw, (n_t, n_tr), ("time", "transformer")),
            ("mv_kw", mv_kw, (n_t,), ("time",)),
            ("price_eur_per_kwh", price_eur_per_kwh, (n_t,), ("time",)),
            ("battery_kwh", battery_kwh, (n_h,), ("household",)),
            ("battery_kw", battery_kw, (n_h,), ("household",)),
            ("battery_eff", battery_eff, (n_h,), ("household",)),
            ("household", household, (n_h,), ("household",)),
            ("transformer", transformer, (n_tr,), ("transformer",)),
            ("pv_kwp", pv_kwp, (n_h,), ("household",))):
        if value is not None:
            if name == "transformer_rest_kw" and np.ndim(value) == 1 and n_tr == 1:
                value = np.asarray(value).reshape(-1, 1)  # one transformer: a column will do
            _shape(name, np.asarray(value), shape, dims)
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


def _check_attrs_kwargs(attrs: dict) -> None:
    """Refuse extra attributes that are misspelt parameters or not text and numbers."""
    import difflib
    import inspect

    known = [n for n in inspect.signature(from_arrays).parameters if n != "attrs"]
    for key, value in attrs.items():
        close = difflib.get_close_matches(key, known + list(VARIABLES), n=1, cutoff=0.85)
        if close:
            raise TypeError(f"from_arrays: unknown keyword {key!r} (did you mean {close[0]!r}?); "
                            "extra keywords become the village's attrs (for an attribute of "
                            "that name, set ds.attrs after)")
        if isinstance(value, (list, tuple)) and all(
                isinstance(v, (str, int, float, bool)) for v in value):
            continue  # a list of text or numbers is a valid NetCDF attribute
        if not isinstance(value, (str, int, float, bool, np.integer, np.floating)):
            raise TypeError(f"from_arrays: keyword {key!r} is not a parameter, and its "
                            f"{type(value).__name__} value cannot be a village attribute (text "
                            f"or numbers); parameters: {', '.join(known)}")


def _shape(name: str, value: np.ndarray, shape: tuple, dims: tuple) -> None:
    """Refuse an argument of another shape than its dimensions need, naming both."""
    if value.shape == shape:
        return
    want = ", ".join(f"{d}={n}" for d, n in zip(dims, shape, strict=True))
    hint = " (transposed?)" if value.shape == shape[::-1] and len(shape) == 2 else ""
    raise DataError(f"from_arrays: {name} has shape {value.shape}, expected ({want}){hint}")

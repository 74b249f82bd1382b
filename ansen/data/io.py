"""Reading and writing villages: NetCDF files and folders of measurement exports.

A folder of exports (the format a researcher with the pilot's data fills, see
``data/README.md`` and ``tests/data/example_export``) holds:

=====================  ========================================================
file                   content
=====================  ========================================================
``village.toml``       ``[village]`` name, timezone, ``timestamps`` ("utc" or
                       "local"), latitude, longitude, source, licence
``sites.csv``          household, transformer, battery_kwh, battery_kw,
                       battery_eff [, pv_kwp]
``transformers.csv``   transformer, kva
``load.csv``           time + one column per household: consumption [kW]
``pv.csv``             time + one column per household: PV generation [kW]
``transformer.csv``    time + one column per transformer: *measured* load [kW],
                       import from MV positive
``mv.csv``             time, mv_kw: *measured* MV feeder load [kW]
``prices.csv``         time, price_eur_per_kwh (or price_eur_per_mwh); hourly
                       prices are spread over the quarters of their hour
``battery.csv``        optional: time + one column per household: battery
                       power during the measurement [kW], charge positive
=====================  ========================================================

Each table may be ``.csv`` or ``.parquet`` (Parquet needs pyarrow). Power is
the mean over the interval that *starts* at the timestamp. Timestamps carry a
UTC offset, or are naive and then read in the zone ``timestamps`` names.
The transformer and MV measurements include the pilot's batteries; the reader
removes them (``battery.csv``) and the households' own net exchange to obtain
``transformer_rest_kw`` and the battery-free ``mv_kw``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import DataError, check_time_index, validate
from ansen.io import atomic_path

__all__ = ["DEFAULT_PATH", "load", "load_default", "read_folder", "save"]

#: The shipped synthetic village.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "ansen_synthetic.nc"

#: Storage resolution per variable. ``save`` packs a variable into integers of
#: this resolution only when that is exact (the synthetic village is generated
#: on this grid); anything else is stored as float64, never rounded.
PACKING = {
    "load_kw": (0.01, "int32"),
    "pv_kw": (0.01, "int32"),
    "heat_pump_kw": (0.01, "int32"),
    "ev_kw": (0.01, "int32"),
    "transformer_rest_kw": (0.01, "int32"),
    "mv_kw": (0.01, "int32"),
    "price_eur_per_kwh": (1e-5, "int32"),
}


def load(path: str | os.PathLike, start=None, end=None) -> xr.Dataset:
    """Read and validate a village.

    Parameters
    ----------
    path : path-like
        A NetCDF file written by :func:`save`, or a folder of exports (module
        docstring).
    start, end : str or pandas.Timestamp, optional
        Period the data must cover (local time of the village if naive).

    Returns
    -------
    xarray.Dataset
        The village, loaded into memory and validated.

    Raises
    ------
    DataError
        Invalid data (see :func:`ansen.data.validate`).
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no village at {path}")
    if path.is_dir():
        ds = read_folder(path)
    else:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
        if "household_transformer" in ds:
            ds["household_transformer"] = ds["household_transformer"].astype(str)
        for coord in ("household", "transformer"):
            if coord in ds.coords:
                ds = ds.assign_coords({coord: ds.indexes[coord].astype(str)})
    return validate(ds, start=start, end=end)


def load_default(start=None, end=None) -> xr.Dataset:
    """The shipped synthetic Ansen village (``data/ansen_synthetic.nc``), validated."""
    if not DEFAULT_PATH.exists():
        raise FileNotFoundError(
            f"the shipped village {DEFAULT_PATH} is missing; rebuild it with "
            "`ansen data synthesize`"
        )
    return load(DEFAULT_PATH, start=start, end=end)


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for name, da in ds.data_vars.items():
        if da.dtype.kind not in "fc" or da.ndim == 0:
            continue
        e = {"zlib": True, "complevel": 6, "shuffle": True}
        if name in PACKING:
            res, dtype = PACKING[name]
            n = np.round(da.values / res)
            info = np.iinfo(dtype)
            if (
                np.array_equal(n * res, da.values)
                and n.min(initial=0) > info.min
                and n.max(initial=0) < info.max
            ):
                e.update(dtype=dtype, scale_factor=res, _FillValue=info.min)
        if da.ndim == 2:
            e["chunksizes"] = (min(da.shape[0], 96 * 31), da.shape[1])
        enc[name] = e
    return enc


def save(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate ``ds`` and write it to NetCDF atomically.

    The file is written to a temporary file in the target folder and renamed
    over ``path``, so a reader never sees a half-written village. Values are
    stored exactly (see :data:`PACKING`).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    validate(ds)
    out = ds.copy()
    out["household_transformer"] = out["household_transformer"].astype(str)
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf", encoding=_encoding(out))
    return Path(path)


# --------------------------------------------------------------------------- folders


def _read_table(folder: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    for suffix in (".csv", ".parquet"):
        f = folder / f"{name}{suffix}"
        if f.exists():
            if suffix == ".csv":
                return pd.read_csv(f)
            return pd.read_parquet(f)
    if required:
        raise DataError(f"{name}: file {name}.csv (or .parquet) missing in {folder}")
    return None


def _time_index(df: pd.DataFrame, what: str, meta: dict) -> pd.DatetimeIndex:
    """Parse the ``time`` column to naive UTC, refusing ambiguous local times."""
    if "time" not in df.columns:
        raise DataError(f"{what}: no 'time' column (columns: {list(df.columns)[:6]})")
    raw = df["time"]
    tz = meta.get("timezone", "Europe/Amsterdam")
    try:
        parsed = pd.to_datetime(raw, utc=False, format="ISO8601")
    except (ValueError, TypeError) as exc:
        try:
            parsed = pd.to_datetime(raw, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            raise DataError(f"{what}: cannot parse timestamps: {exc}") from exc
    idx = pd.DatetimeIndex(parsed)
    if idx.tz is not None:
        return idx.tz_convert("UTC").tz_localize(None)
    declared = meta.get("timestamps")
    if declared == "utc":
        return idx
    if declared != "local":
        raise DataError(
            f"{what}: timestamps have no UTC offset; declare timestamps = \"utc\" or "
            "\"local\" in village.toml"
        )
    # Local clock time: the repeated hour at the end of DST cannot be placed.
    check_time_index_local(idx, what, tz)
    try:
        loc = idx.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception as exc:
        raise DataError(
            f"{what}: local timestamps cannot be mapped to UTC around a DST change ({exc}); "
            "export with UTC offsets"
        ) from exc
    return loc.tz_convert("UTC").tz_localize(None)


def check_time_index_local(idx: pd.DatetimeIndex, what: str, tz: str) -> None:
    """Duplicates in naive local time are DST doubles when they fall in the repeated hour."""
    if idx.has_duplicates:
        check_time_index(idx, what, tz)  # raises, with the DST diagnosis


def _wide(folder: Path, name: str, meta: dict, columns, required=True) -> pd.DataFrame | None:
    df = _read_table(folder, name, required)
    if df is None:
        return None
    idx = _time_index(df, f"{name}.csv", meta)
    df = df.drop(columns="time").set_axis(idx, axis=0)
    check_time_index(df.index, f"{name}.csv", meta.get("timezone", "Europe/Amsterdam"))
    cols = [str(c) for c in df.columns]
    missing = [c for c in columns if c not in cols]
    extra = [c for c in cols if c not in columns]
    if missing or extra:
        raise DataError(
            f"{name}.csv: columns do not match the sites/transformers table "
            f"(missing {missing[:5]}, unknown {extra[:5]})"
        )
    df.columns = cols
    return df[list(columns)].astype(float)


def _on_index(df: pd.DataFrame, index: pd.DatetimeIndex, what: str) -> pd.DataFrame:
    """Put ``df`` on ``index``; a coarser regular series (hourly prices) is spread."""
    if df.index.equals(index):
        return df
    step, own = index[1] - index[0], df.index[1] - df.index[0]
    if own > step and own % step == pd.Timedelta(0):
        k = int(own / step)
        spread = df.loc[df.index.repeat(k)].set_axis(
            (df.index.repeat(k) + pd.to_timedelta(np.tile(np.arange(k), len(df)) * step)),
            axis=0,
        )
        if spread.index[0] <= index[0] and spread.index[-1] >= index[-1]:
            return spread.loc[index[0] : index[-1]]
    raise DataError(
        f"{what}: timestamps do not match load.csv (from {df.index[0]} to {df.index[-1]} "
        f"every {own}, expected {index[0]} to {index[-1]} every {step})"
    )


def read_folder(folder: str | os.PathLike) -> xr.Dataset:
    """Build a village Dataset from a folder of exports (module docstring).

    The result is not yet validated; :func:`load` validates it.
    """
    folder = Path(folder)
    toml = folder / "village.toml"
    if not toml.exists():
        raise DataError(f"village.toml: missing in {folder}")
    meta = tomllib.loads(toml.read_text()).get("village", {})
    tz = meta.get("timezone", "Europe/Amsterdam")

    sites = _read_table(folder, "sites")
    need = ["household", "transformer", "battery_kwh", "battery_kw", "battery_eff"]
    if miss := [c for c in need if c not in sites.columns]:
        raise DataError(f"sites.csv: missing columns {miss}")
    sites["household"] = sites["household"].astype(str)
    sites["transformer"] = sites["transformer"].astype(str)
    trafos = _read_table(folder, "transformers")
    if miss := [c for c in ("transformer", "kva") if c not in trafos.columns]:
        raise DataError(f"transformers.csv: missing columns {miss}")
    trafos["transformer"] = trafos["transformer"].astype(str)
    hh = list(sites["household"])
    tr = list(trafos["transformer"])

    load_ = _wide(folder, "load", meta, hh)
    index = load_.index
    pv = _on_index(_wide(folder, "pv", meta, hh), index, "pv.csv")
    trafo = _on_index(_wide(folder, "transformer", meta, tr), index, "transformer.csv")
    mv = _on_index(_wide(folder, "mv", meta, ["mv_kw"]), index, "mv.csv")["mv_kw"]
    prices = _read_table(folder, "prices")
    pidx = _time_index(prices, "prices.csv", meta)
    prices = prices.drop(columns="time").set_axis(pidx, axis=0)
    check_time_index(prices.index, "prices.csv", tz)
    if "price_eur_per_kwh" in prices:
        price = prices[["price_eur_per_kwh"]]
    elif "price_eur_per_mwh" in prices:
        price = (prices[["price_eur_per_mwh"]] / 1000.0).set_axis(["price_eur_per_kwh"], axis=1)
    else:
        raise DataError("prices.csv: needs a column price_eur_per_kwh or price_eur_per_mwh")
    price = _on_index(price, index, "prices.csv")["price_eur_per_kwh"]
    battery = _wide(folder, "battery", meta, hh, required=False)

    net = load_ - pv
    if battery is not None:
        battery = _on_index(battery, index, "battery.csv")
        net = net + battery
        mv = mv - battery.sum(axis=1)
    on = sites.set_index("household")["transformer"]
    rest = pd.DataFrame(
        {t: trafo[t] - net.loc[:, on.index[on == t]].sum(axis=1) for t in tr}, index=index
    )

    ds = xr.Dataset(
        {
            "load_kw": (("time", "household"), load_.to_numpy()),
            "pv_kw": (("time", "household"), pv.to_numpy()),
            "transformer_rest_kw": (("time", "transformer"), rest.to_numpy()),
            "mv_kw": (("time",), mv.to_numpy()),
            "price_eur_per_kwh": (("time",), price.to_numpy()),
            "battery_kwh": (("household",), sites["battery_kwh"].to_numpy(float)),
            "battery_kw": (("household",), sites["battery_kw"].to_numpy(float)),
            "battery_eff": (("household",), sites["battery_eff"].to_numpy(float)),
            "household_transformer": (("household",), sites["transformer"].to_numpy(str)),
            "transformer_kva": (("transformer",), trafos["kva"].to_numpy(float)),
        },
        coords={"time": index.to_numpy(), "household": hh, "transformer": tr},
        attrs={
            "name": meta.get("name", folder.name),
            "source": meta.get("source", "measured"),
            "timezone": tz,
            "latitude": meta.get("latitude", np.nan),
            "longitude": meta.get("longitude", np.nan),
            "licence": meta.get("licence", "unknown"),
            "read_from": str(folder),
        },
    )
    if "pv_kwp" in sites:
        ds["pv_kwp"] = ("household", sites["pv_kwp"].to_numpy(float))
    return ds

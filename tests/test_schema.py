"""Every bad-input case of the schema raises DataError naming the problem."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ansen.data import DataError, validate
from tests.conftest import tiny


def test_valid_village_passes(village):
    assert validate(village) is village


def test_not_a_dataset():
    with pytest.raises(DataError, match="xarray.Dataset"):
        validate({"load_kw": 1})


def test_missing_variable(village):
    with pytest.raises(DataError, match="pv_kw: missing variable"):
        validate(village.drop_vars("pv_kw"))


def test_wrong_dims(village):
    bad = village.assign(mv_kw=village["load_kw"])
    with pytest.raises(DataError, match=r"mv_kw: wrong dimensions \('time', 'household'\)"):
        validate(bad)


def _with_time(ds, times):
    return ds.assign_coords(time=pd.DatetimeIndex(times).to_numpy())


def test_non_monotonic_timestamps(village):
    t = village.indexes["time"].to_numpy().copy()
    t[[10, 11]] = t[[11, 10]]
    with pytest.raises(DataError, match="time: timestamps not increasing at 2025-06-02 02:30"):
        validate(_with_time(village, t))


def test_duplicate_timestamps(village):
    t = village.indexes["time"].to_numpy().copy()
    t[11] = t[10]
    with pytest.raises(DataError, match="time: duplicate timestamps"):
        validate(_with_time(village, t))


def test_gap(village):
    ds = village.isel(time=np.r_[0:20, 25:192])
    with pytest.raises(DataError, match=r"time: gap of 0 days 01:30:00 after 2025-06-02 04:45"):
        validate(ds)


def test_irregular_step(village):
    t = village.indexes["time"] + pd.to_timedelta(np.r_[np.zeros(50), np.full(142, 5)], "min")
    with pytest.raises(DataError, match="time: irregular step of 0 days 00:20:00"):
        validate(_with_time(village, t))


def test_dst_doubled_local_timestamps():
    """Local clock times stored without offset repeat 02:00-02:45 on the last Sunday of October."""
    ds = tiny(days=2, start="2025-10-25 22:00")
    local = ds.indexes["time"].tz_localize("UTC").tz_convert("Europe/Amsterdam").tz_localize(None)
    with pytest.raises(DataError, match="DST-doubled"):
        validate(_with_time(ds, local))


def test_nan(village):
    ds = village.copy(deep=True)
    ds["pv_kw"][40, 2] = np.nan
    with pytest.raises(DataError, match=r"pv_kw: 1 NaN value\(s\), first at \(time=2025-06-02T10:00:00Z, household=H003\)"):
        validate(ds)


def test_negative_pv(village):
    ds = village.copy(deep=True)
    ds["pv_kw"][50, 0] = -0.2
    with pytest.raises(DataError, match=r"pv_kw: 1 negative value\(s\)"):
        validate(ds)


@pytest.mark.parametrize("name", ["battery_kwh", "battery_kw"])
def test_negative_capacity(village, name):
    ds = village.copy(deep=True)
    ds[name][0] = -10.0
    with pytest.raises(DataError, match=f"{name}: 1 negative value"):
        validate(ds)


def test_efficiency_out_of_range(village):
    ds = village.copy(deep=True)
    ds["battery_eff"][0] = 95.0
    with pytest.raises(DataError, match="battery_eff: must lie in"):
        validate(ds)


@pytest.mark.parametrize("name", ["load_kw", "pv_kw", "mv_kw", "transformer_rest_kw"])
def test_watts_instead_of_kilowatts(village, name):
    ds = village.copy(deep=True)
    ds[name] = ds[name] * 1000.0 + (1000.0 if name == "mv_kw" else 0.0) * 1000
    with pytest.raises(DataError, match="W instead of kW"):
        validate(ds)


@pytest.mark.parametrize("name", ["load_kw", "pv_kw"])
def test_cumulative_meter_readings(village, name):
    ds = village.copy(deep=True)
    energy = (ds[name] * 0.25).cumsum("time") + 0.01 * np.arange(ds.sizes["time"])[:, None]
    ds[name] = energy
    with pytest.raises(DataError, match="cumulative meter readings"):
        validate(ds)


def test_unknown_transformer(village):
    ds = village.copy(deep=True)
    ds["household_transformer"] = ("household", np.array(["T1", "T9", "T2"]))
    with pytest.raises(DataError, match="household H002 is mapped to unknown transformer 'T9'"):
        validate(ds)


def test_period_not_covered(village):
    validate(village, start="2025-06-02 02:00", end="2025-06-04 02:00")  # local, covered
    with pytest.raises(DataError, match="before the requested end"):
        validate(village, end="2025-06-10")
    with pytest.raises(DataError, match="after the requested start"):
        validate(village, start="2025-05-01")


def test_missing_coordinate(village):
    ds = xr.Dataset({k: v.variable for k, v in village.data_vars.items()})
    with pytest.raises(DataError, match="missing coordinate"):
        validate(ds)

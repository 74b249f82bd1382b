"""NetCDF round trip, atomic writes, and the folder-of-exports reader."""

import shutil

import numpy as np
import pandas as pd
import pytest

from ansen.data import DataError, load, read_folder, save
from ansen.data.summary import transformer_kw
from tests.conftest import EXAMPLE_EXPORT


def test_roundtrip_is_exact(village, tmp_path):
    path = save(village, tmp_path / "v.nc")
    back = load(path)
    for name in village.data_vars:
        np.testing.assert_array_equal(back[name].values, village[name].values, err_msg=name)
    assert list(back.indexes["time"]) == list(village.indexes["time"])
    assert back.attrs["name"] == "tiny"


def test_save_is_atomic(village, tmp_path):
    """A failed write leaves the previous file intact and no temporary file behind."""
    path = save(village, tmp_path / "v.nc")
    before = path.read_bytes()
    bad = village.copy(deep=True)
    bad["pv_kw"][0, 0] = np.nan
    with pytest.raises(DataError):
        save(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.nc"]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no village at"):
        load(tmp_path / "nothing.nc")


def test_example_export_folder():
    ds = load(EXAMPLE_EXPORT)
    assert ds.sizes == {"time": 188, "household": 3, "transformer": 2}  # 23-hour DST day
    assert ds.indexes["time"][0] == pd.Timestamp("2025-03-28 23:00")  # UTC
    # the reader removes the households and the battery from the measurements
    np.testing.assert_allclose(ds["transformer_rest_kw"].sel(transformer="T1"), 5.0, atol=1e-3)
    np.testing.assert_allclose(ds["transformer_rest_kw"].sel(transformer="T2"), 3.0, atol=1e-3)
    rest_of_feeder = ds["mv_kw"] - transformer_kw(ds).sum("transformer")
    np.testing.assert_allclose(rest_of_feeder, 40.0, atol=1e-3)
    # hourly prices in EUR/MWh are spread over their quarters in EUR/kWh
    p = ds["price_eur_per_kwh"].values
    assert (p[0:4] == p[0]).all() and abs(p[0] - 0.09294) < 1e-9
    assert ds.attrs["source"] == "measured"


def _copy(tmp_path):
    dst = tmp_path / "export"
    shutil.copytree(EXAMPLE_EXPORT, dst)
    return dst


def test_folder_naive_timestamps_need_a_declared_zone(tmp_path):
    d = _copy(tmp_path)
    df = pd.read_csv(d / "load.csv")
    df["time"] = df["time"].str[:19]
    df.to_csv(d / "load.csv", index=False)
    (d / "village.toml").write_text('[village]\ntimezone = "Europe/Amsterdam"\n')
    with pytest.raises(DataError, match="load.csv: timestamps have no UTC offset"):
        read_folder(d)


def test_folder_dst_doubled_local_timestamps(tmp_path):
    """An export in local clock time without offsets repeats an hour in October."""
    d = _copy(tmp_path)
    t = pd.date_range("2025-10-25 22:00", periods=192, freq="15min", tz="UTC")
    local = t.tz_convert("Europe/Amsterdam").strftime("%Y-%m-%d %H:%M:%S")
    for name in ("load", "pv", "battery", "transformer", "mv"):
        df = pd.read_csv(d / f"{name}.csv").iloc[:192]
        df["time"] = local[: len(df)]
        df.to_csv(d / f"{name}.csv", index=False)
    with pytest.raises(DataError, match="load.csv: duplicate timestamps.*DST-doubled"):
        read_folder(d)


HOUSEHOLDS = ["H1", "H2", "H3"]


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        ("pv", lambda x: x * 1000, "pv_kw: .* W instead of kW"),
        ("load", lambda x: (x * 0.25).cumsum(), "load_kw: .* cumulative meter readings"),
        ("load", lambda x: x.mask(np.arange(x.size).reshape(x.shape) == 21), r"load_kw: 1 NaN value\(s\)"),
        ("pv", lambda x: x - 0.5, "pv_kw: .* negative value"),
    ],
    ids=["watts", "cumulative", "nan", "negative-pv"],
)
def test_folder_bad_values(tmp_path, table, edit, message):
    d = _copy(tmp_path)
    df = pd.read_csv(d / f"{table}.csv")
    df[HOUSEHOLDS] = edit(df[HOUSEHOLDS])
    df.to_csv(d / f"{table}.csv", index=False)
    with pytest.raises(DataError, match=message):
        load(d)


def test_folder_unknown_transformer(tmp_path):
    d = _copy(tmp_path)
    sites = pd.read_csv(d / "sites.csv")
    sites.loc[2, "transformer"] = "T7"
    sites.to_csv(d / "sites.csv", index=False)
    with pytest.raises(DataError, match="H3 is mapped to unknown transformer 'T7'"):
        load(d)


def test_folder_gap(tmp_path):
    d = _copy(tmp_path)
    df = pd.read_csv(d / "pv.csv").drop(index=[50, 51])
    df.to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match="pv.csv: gap of"):
        load(d)


def test_folder_missing_file_and_columns(tmp_path):
    d = _copy(tmp_path)
    (d / "mv.csv").unlink()
    with pytest.raises(DataError, match="mv: file mv.csv"):
        load(d)
    d2 = _copy(tmp_path / "b")
    pd.read_csv(d2 / "load.csv").drop(columns="H2").to_csv(d2 / "load.csv", index=False)
    with pytest.raises(DataError, match=r"load.csv: columns do not match.*missing \['H2'\]"):
        load(d2)


def test_folder_period_not_covered():
    with pytest.raises(DataError, match="before the requested end"):
        load(EXAMPLE_EXPORT, end="2025-04-02")

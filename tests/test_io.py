"""NetCDF round trip, atomic writes, and the folder-of-exports reader."""

import re
import shutil
import warnings

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
    with pytest.raises(ValueError, match=r"p.csv: a village is written as NetCDF; give a path "
                                         r"ending in .nc"):
        save(village, tmp_path / "p.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["v.nc"]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no village at"):
        load(tmp_path / "nothing.nc")


def test_a_file_that_is_not_a_village_is_named(capsys):
    """One file of an export folder, given as the village, gave h5py's "file signature not
    found" without the path, and exit 1 from the command line."""
    from ansen.cli import main
    from ansen.data import DataError

    with pytest.raises(DataError, match=r"load.csv: not a village: give a NetCDF village "
                                        r"file .* or an export folder"):
        load(EXAMPLE_EXPORT / "load.csv")
    assert main(["data", "validate", "--data", str(EXAMPLE_EXPORT / "load.csv")]) == 2
    assert "load.csv: not a village" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["village", "load", "exports"])
def test_every_message_of_a_folder_names_the_folder(tmp_path, monkeypatch, name):
    """Also a folder whose name begins the file's name in the message (``village`` before
    ``village.toml: ...``): it was taken for a message that already named it."""
    d = _copy(tmp_path / "x")
    folder = tmp_path / name
    d.rename(folder)
    (folder / "village.toml").write_text("[village\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=rf"^{name}: village.toml: not valid TOML"):
        load(name)


def test_a_netcdf_file_that_cannot_be_decoded_is_named(village, tmp_path):
    """xarray's ValueError on a time it cannot decode came without the file's name."""
    path = save(village, tmp_path / "v.nc")
    import h5py

    with h5py.File(path, "r+") as f:
        f["time"].attrs["units"] = np.bytes_("fortnights since yesterday")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: cannot be decoded as a village: .*"
                                        "fortnights since yesterday"):
        load(path)


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
    # the time as the file gives it (local clock time, not read as UTC), and its lines
    with pytest.raises(DataError, match=r"load.csv: duplicate timestamps, first 2025-10-26 "
                       r"02:00 local time \(Europe/Amsterdam\) twice \(line 10 and line 14\).*"
                       "repeated when daylight saving time ends"):
        read_folder(d)


HOUSEHOLDS = ["H1", "H2", "H3"]


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        ("pv", lambda x: x * 1000, r"pv_kw: .* W instead of kW.* \(read from pv.csv: find the "
                                   r"row by its time"),
        ("load", lambda x: (x * 0.25).cumsum(), "load_kw: .* cumulative meter readings"),
        ("load", lambda x: x.mask(np.arange(x.size).reshape(x.shape) == 21), r"load.csv: column .H1.: 1 empty or NaN value\(s\), first in line 9"),
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


def test_a_table_whose_times_differ_from_load_csv_is_named_in_local_time(tmp_path):
    """The message gave UTC only, where every other message gives the file's local time."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / "mv.csv").iloc[96:]  # the first day missing
    df.to_csv(d / "mv.csv", index=False)
    with pytest.raises(DataError, match=r"mv.csv: timestamps do not match load.csv \(from "
                                        r"\S+ \S+ local \(.*Z\) to .* local \(.*Z\) every "
                                        r"15 min, expected .* local \(.*Z\) to .* local"):
        load(d)


def test_a_table_whose_times_are_load_csvs_moved_says_by_how_much(tmp_path):
    """One file exported in local clock time read as UTC: its times were 'do not match' only,
    and the message blamed the file that was right when load.csv was the odd one (outside
    check 14); now it says the times are load.csv's moved, and by how much."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / "pv.csv")
    t = pd.to_datetime(df["time"], format="ISO8601", utc=True) - pd.Timedelta(hours=2)
    df.assign(time=[x.isoformat() for x in t]).to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match=r"pv.csv: timestamps do not match load.csv \(.*\); each "
                                        r"2 h earlier than load.csv's: one of the two files in "
                                        r"another time zone or UTC offset\?"):
        load(d)
    later = t + pd.Timedelta(hours=2, minutes=15)  # one step later: the step's end labelled
    df.assign(time=[x.isoformat() for x in later]).to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match=r"each 15 min later than load.csv's: one of the two "
                                        r"files labelling the end of each step"):
        load(d)


def test_folder_gap(tmp_path):
    d = _copy(tmp_path)
    df = pd.read_csv(d / "pv.csv").drop(index=[50, 51])
    df.to_csv(d / "pv.csv", index=False)
    # the time as the file gives it (local) beside UTC, and the file's line (data row 49)
    with pytest.raises(DataError, match=r"pv.csv: gap \(2 step\(s\) of 15 min missing: the next stamp 45 min later\) after .* local "
                                        r"\(.*Z\), line 51 "):
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


def test_a_column_in_other_units_or_a_missing_rating_is_named(tmp_path):
    """mv.csv's header mv_mw was said not to match "the sites/transformers table"; a
    transformers.csv with kw for kva did not say what it found."""
    d = _copy(tmp_path)
    pd.read_csv(d / "mv.csv").rename(columns={"mv_kw": "mv_mw"}).to_csv(d / "mv.csv",
                                                                      index=False)
    pd.read_csv(d / "mv.csv").rename(columns={"mv_mw": "MV_kW"}).to_csv(d / "mv.csv",
                                                                      index=False)
    with pytest.raises(DataError, match=r"column names are case-sensitive: name 'MV_kW' 'mv_kw'"):
        load(d)
    pd.read_csv(d / "mv.csv").rename(columns={"MV_kW": "mv_mw"}).to_csv(d / "mv.csv",
                                                                      index=False)
    with pytest.raises(DataError, match=r"mv.csv: columns do not match the one column of an MV "
                                        r"table .* 'mv_mw' looks like 'mv_kw' in other units: "
                                        r"convert the values to kW"):
        load(d)
    d = _copy(tmp_path / "b")
    pd.read_csv(d / "transformers.csv").rename(columns={"kva": "kw"}).to_csv(
        d / "transformers.csv", index=False)
    with pytest.raises(DataError, match=r"transformers.csv: missing columns \['kva'\] \(found "
                                        r"\['transformer', 'kw'\]\); give each transformer's "
                                        r"rating in kVA"):
        load(d)
    d = _copy(tmp_path / "c")
    pd.read_csv(d / "pv.csv").rename(columns={"H2": "H9"}).to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match=r"pv.csv: columns do not match the households of "
                                        r"sites.csv \(missing \['H2'\]; not among them "
                                        r"\['H9'\]\)$"):
        load(d)


def test_battery_power_that_no_battery_could_store_is_refused(tmp_path):
    """3 kW charged for a whole day into a 10 kWh battery (within its 5 kW rating) read as
    valid: the reader then took 72 kWh a day out of the transformer's rest load."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / "battery.csv")
    df["H1"] = 3.0
    df.to_csv(d / "battery.csv", index=False)
    with pytest.raises(DataError, match=r"battery.csv: column 'H1': the measured power stores "
                                        r"68.4 kWh net within the 24 hours from 2025-03-29 00:00 "
                                        r"local .* but H1's battery holds 10 kWh \(sites.csv\) "
                                        r"and may show at most 14.9 kWh \(\+25% and 2.4 kWh "
                                        r"of standby\)"):
        load(d)
    # at rest with 120 W of standby drawn on the charge side (2.7 kWh in a day), then charged
    # full (10 kWh stored over the last 5 hours): 12.7 kWh within 24 hours, a real battery
    df["H1"] = 0.12
    df.loc[df.index[-20:], "H1"] = 10.0 / 0.95 / 5.0
    df.to_csv(d / "battery.csv", index=False)
    load(d)


def test_batteries_without_battery_csv_are_said(tmp_path):
    """The measurements are then read as holding no battery power: said, not assumed."""
    d = _copy(tmp_path)
    (d / "battery.csv").unlink()
    with pytest.warns(UserWarning, match=r"sites.csv gives 1 household\(s\) a battery \(H1\), "
                                         r"but there is no battery.csv"):
        load(d)


def test_folder_period_not_covered():
    with pytest.raises(DataError, match="before the requested end"):
        load(EXAMPLE_EXPORT, end="2025-04-02")


# --------------------------------------------------------------------------- bad export files


def _edit_text(name, edit):
    def apply(d):
        f = d / name
        f.write_text(edit(f.read_text()))
    return apply


def _edit_frame(name, edit):
    def apply(d):
        df = pd.read_csv(d / name, dtype=str)
        edit(df).to_csv(d / name, index=False)
    return apply


def _set(df, row, col, value):
    df.loc[row, col] = value
    return df


def _hourly(name):
    return _edit_frame(name, lambda df: df.iloc[::4])


def _steps(name, freq):
    """Rewrite a table on a regular ``freq`` grid (values repeated as they come)."""
    def edit(df):
        t0 = pd.to_datetime(df["time"], format="ISO8601", utc=True).iloc[0]
        t = pd.date_range(t0, periods=len(df), freq=freq)
        return df.assign(time=[x.isoformat() for x in t])
    return _edit_frame(name, edit)


BAD_EXPORTS = {
    "empty-csv": (_edit_text("load.csv", lambda t: ""), r"load.csv: the file is empty"),
    "csv-and-parquet": (
        lambda d: pd.read_csv(d / "mv.csv").to_parquet(d / "mv.parquet"),
        r"mv.csv and mv.parquet: both in .*; keep one"),
    "battery-power-without-battery": (
        _edit_frame("battery.csv", lambda df: _set(df, 40, "H2", "1.5")),
        r"battery.csv: column 'H2': 1.5 kW at 2025-03-29 10:00 local \(09:00Z\) .* but H2 has no battery \(battery_kw = 0"),
    "battery-power-above-rating": (
        _edit_frame("battery.csv", lambda df: _set(df, 40, "H1", "-7.5")),
        r"battery.csv: column 'H1': -7.5 kW at .* but H1 has a battery of 5 kW"),
    "transformer-in-mw": (
        _edit_frame("transformer.csv", lambda df: df.assign(
            T1=df["T1"].astype(float) / 1000)),
        r"transformer.csv: column 'T1' peaks at .* values look like MW instead of kW"),
    "mv-in-mw": (
        _edit_frame("mv.csv", lambda df: df.assign(mv_kw=df["mv_kw"].astype(float) / 1000)),
        r"mv.csv: mv_kw peaks at .* values look like MW instead of kW"),
    "prices-unknown-column": (
        _edit_frame("prices.csv", lambda df: df.assign(price_eur_per_mwh_incl_vat="1")),
        r"prices.csv: unknown columns \['price_eur_per_mwh_incl_vat'\]; known: time and one "
        r"of price_eur_per_kwh, price_eur_per_mwh"),
    "prices-duplicate-row": (
        _edit_text("prices.csv", lambda t: "\n".join(
            (lambda ls: ls[:5] + [ls[4]] + ls[5:])(t.split("\n")))),
        r"prices.csv: duplicate timestamps, first .* twice \(line 5 and line 6\)"),
    "transformers-unknown-column": (
        _edit_frame("transformers.csv", lambda df: df.assign(year="2019")),
        r"transformers.csv: unknown columns \['year'\]; known: \['transformer', 'kva'\]"),
    "transformer-meter-readings": (
        _edit_frame("transformer.csv", lambda df: df.assign(T1=50000 + 0.5 * np.arange(len(df)))),
        r"transformer.csv: column 'T1' never decreases over 188 steps .* cumulative meter "
        r"readings"),
    "mv-meter-readings": (
        _edit_frame("mv.csv", lambda df: df.assign(mv_kw=900000 + 7.0 * np.arange(len(df)))),
        r"mv.csv: mv_kw never decreases over 188 steps .* cumulative meter readings"),
    "infinite-value": (_edit_frame("pv.csv", lambda df: _set(df, 7, "H3", "inf")),
                       r"pv.csv: column 'H3': 'inf' in line 9 is not a finite number"),
    "implausible-efficiency": (_edit_frame("sites.csv", lambda df: _set(df, 0, "battery_eff",
                                                                        "0.01")),
                               r"battery_eff: must lie in \[0.5, 1\] for a battery"),
    "column-twice-after-stripping": (
        _edit_text("load.csv", lambda t: "\n".join(
            ln + (", H1" if i == 0 else "," + ln.split(",")[1]) if ln else ln
            for i, ln in enumerate(t.split("\n")))),
        r"load.csv: column\(s\) \['H1'\] appear more than once in the header"),
    # exactly the same name twice: pandas renames the second 'H1.1', a column not in the file
    "column-twice": (_edit_text("load.csv", lambda t: t.replace("time,H1,H2,H3", "time,H1,H2,H1",
                                                                1)),
                     r"load.csv: column\(s\) \['H1'\] appear more than once in the header"),
    "time-twice": (_edit_text("mv.csv", lambda t: "\n".join(
        ln + ("," + ln.split(",")[0] if ln else "") if i else "time,mv_kw,time"
        for i, ln in enumerate(t.split("\n")))),
        r"mv.csv: column\(s\) \['time'\] appear more than once in the header"),
    "transformer-zero-throughout": (
        _edit_frame("transformer.csv", lambda df: df.assign(T1="0")),
        r"transformer.csv: column 'T1' is zero throughout, .* no measurement\?"),
    "battery-in-w": (
        _edit_frame("battery.csv", lambda df: _set(df, 40, "H1", "4000")),
        r"battery.csv: column 'H1': 4000 kW at 2025-03-29 10:00 local \(09:00Z\) .* values look like W instead of kW"),
    "household-twice": (_edit_text("sites.csv", lambda t: t + "H2,T2,0.0,0.0,1.0,0.0\n"),
                        r"sites.csv: household 'H2' is listed twice \(line 3 and line 5\)"),
    "transformer-twice": (_edit_text("transformers.csv", lambda t: t + "T1,100\n"),
                          r"transformers.csv: transformer 'T1' is listed twice \(line 2 and "
                          r"line 4\)"),
    "header-only": (_edit_text("pv.csv", lambda t: t.splitlines()[0] + "\n"),
                    r"pv.csv: no data rows"),
    "text-value": (_edit_frame("load.csv", lambda df: _set(df, 3, "H2", "ten")),
                   r"load.csv: column 'H2': 'ten' in line 5 is not a number"),
    "unit-in-cell": (_edit_frame("transformers.csv", lambda df: _set(df, 0, "kva", "250 kVA")),
                     r"transformers.csv: column 'kva': '250 kVA' in line 2 is not a number"),
    "empty-cell": (_edit_frame("mv.csv", lambda df: _set(df, 10, "mv_kw", "")),
                   r"mv.csv: column 'mv_kw': 1 empty or NaN value\(s\), first in line 12"),
    "decimal-comma-in-comma-file": (
        _edit_text("load.csv", lambda t: t.replace(".", ",")),
        r"load.csv: cannot be read as CSV .* decimal commas in a comma-separated file"),
    "mixed-decimal-marks": (
        _edit_text("pv.csv", lambda t: t.replace(",", ";").replace("0.0000", "0,0", 3)),
        r"pv.csv: separated by ';' but mixes decimal commas and decimal points"),
    "eur-per-kwh-in-mwh-column": (
        _edit_frame("prices.csv", lambda df: df.assign(
            price_eur_per_mwh=df["price_eur_per_mwh"].astype(float) / 1000)),
        r"prices.csv: column price_eur_per_mwh: .* look like EUR/kWh"),
    "eur-per-mwh-in-kwh-column": (
        _edit_frame("prices.csv", lambda df: df.rename(
            columns={"price_eur_per_mwh": "price_eur_per_kwh"})),
        r"prices.csv: column price_eur_per_kwh: .* look like EUR/MWh"),
    "both-price-columns": (
        _edit_frame("prices.csv", lambda df: df.assign(
            price_eur_per_kwh=df["price_eur_per_mwh"].astype(float) / 1000)),
        r"prices.csv: both price_eur_per_kwh and price_eur_per_mwh given"),
    "misspelt-key": (
        _edit_text("village.toml", lambda t: t.replace("timezone", "time_zone")),
        r"village.toml: unknown key 'time_zone' \(did you mean 'timezone'\?\)"),
    "timezone-number": (
        _edit_text("village.toml", lambda t: t.replace('"Europe/Amsterdam"', "1")),
        r"village.toml: timezone = 1 must be a str \(IANA time zone name"),
    "misspelt-zone": (
        _edit_text("village.toml", lambda t: t.replace("Amsterdam", "Amsterdm")),
        r"village.toml: timezone = 'Europe/Amsterdm' is not an IANA time zone name"),
    "timestamps-value": (
        _edit_text("village.toml", lambda t: t.replace('"local"', '"cet"')),
        r"village.toml: timestamps = 'cet' must be 'utc' or 'local'"),
    "local-winter-time-across-the-spring-change": (  # naive, an hour early after 30 March
        _edit_frame("load.csv", lambda df: df.assign(time=pd.to_datetime(df["time"], utc=True)
                                                     .dt.tz_convert("Etc/GMT-1")
                                                     .dt.strftime("%Y-%m-%dT%H:%M:%S"))),
        r"load.csv: local timestamps without UTC offset cannot be placed around a change of "
        r"daylight saving time in Europe/Amsterdam \(first 2025-03-30 02:00:00 in line 106: the "
        r"clock skips it \(the hour left out when daylight saving time begins\)\)"),
    "extra-table": (_edit_text("village.toml", lambda t: t + "\n[sites]\nn = 3\n"),
                    r"village.toml: unknown table or key \['sites'\]"),
    "capacity-without-power": (
        _edit_frame("sites.csv", lambda df: _set(df, 0, "battery_kw", "0")),
        r"sites.csv: household H1: battery_kwh = 10 but battery_kw = 0"),
    "power-without-capacity": (
        _edit_frame("sites.csv", lambda df: _set(df, 2, "battery_kw", "5")),
        r"sites.csv: household H3: battery_kwh = 0 but battery_kw = 5"),
    "unknown-site-column": (
        _edit_frame("sites.csv", lambda df: df.assign(colour="red")),
        r"sites.csv: unknown columns \['colour'\]"),
    "hourly-pv": (_hourly("pv.csv"), r"pv.csv: time step 1 h differs from load.csv's 15 min"),
    "hourly-transformer": (_hourly("transformer.csv"),
                           r"transformer.csv: time step 1 h differs from load.csv's 15 min"),
    "hourly-mv": (_hourly("mv.csv"), r"mv.csv: time step 1 h differs from load.csv's 15 min"),
    "step-not-a-multiple": (
        lambda d: (_edit_text("village.toml", lambda t: t + "resample = true\n")(d),
                   _steps("pv.csv", "10min")(d)),
        r"pv.csv: time step 10 min and load.csv's 15 min are not whole multiples"),
    "unsupported-load-step": (_steps("load.csv", "7min"),
                              r"load.csv: a time step of 7 min is not supported"),
    "thousands-separator": (_edit_frame("transformers.csv", lambda df: _set(df, 0, "kva", "1,250.0")),
                            r"'1,250.0' in line 2 is not a number .*without thousands separators"),
    "bad-timestamp": (_edit_frame("mv.csv", lambda df: _set(df, 4, "time", "2025-13-29T01:00+01:00")),
                      r"mv.csv: timestamp '2025-13-29T01:00\+01:00' in line 6 is not ISO 8601"),
    "resample-not-bool": (_edit_text("village.toml", lambda t: t + 'resample = "yes"\n'),
                          r"village.toml: resample = 'yes' must be a bool"),
    # a transformer table in W is named as such, not blamed on mv.csv (which it dwarfs)
    "transformer-in-w": (
        _edit_frame("transformer.csv", lambda df: df.assign(
            T1=df["T1"].astype(float) * 1000)),
        r"transformer.csv: column 'T1' peaks at .* on a rating of .* kVA .* look like W"),
    "duplicate-row": (
        _edit_text("load.csv", lambda t: "\n".join(
            (ln + "\n" + ln) if i == 40 else ln for i, ln in enumerate(t.split("\n")))),
        r"load.csv: duplicate timestamps, first .* local \(.*Z\) twice \(line 41 and line 42\)"),
    "battery-faster-than-4c": (
        _edit_frame("sites.csv", lambda df: _set(df, 0, "battery_kw", "99")),
        r"battery_kw: household H1 has battery_kw = 99 kW for battery_kwh = 10 kWh, more than 4"
        r".*\(read from sites.csv\)$"),
    "negative-capacity": (
        _edit_frame("sites.csv", lambda df: _set(df, 0, "battery_kwh", "-10")),
        r"sites.csv: household H1: battery_kwh = -10, negative"),
    "pv-above-its-kwp": (
        _edit_frame("sites.csv", lambda df: _set(df, 0, "pv_kwp", "0.1")),
        r"pv_kw: household H1 generates up to .* kW with pv_kwp = 0.1 kWp, more than 1.5 kW "
        r"per kWp"),
}


@pytest.mark.parametrize(("edit", "message"), BAD_EXPORTS.values(), ids=BAD_EXPORTS.keys())
def test_bad_export_is_refused_by_file_and_column(tmp_path, edit, message):
    d = _copy(tmp_path)
    edit(d)
    with pytest.raises(DataError, match=message):
        load(d)


def test_semicolon_export_with_decimal_commas_reads_the_same(tmp_path):
    """The Dutch spreadsheet export: ';' between fields, ',' as decimal mark."""
    d = _copy(tmp_path)
    for f in d.glob("*.csv"):
        f.write_text(f.read_text().replace(",", ";").replace(".", ","))
    ds, ref = load(d), load(EXAMPLE_EXPORT)
    for name in ref.data_vars:
        np.testing.assert_array_equal(ds[name].values, ref[name].values, err_msg=name)


def test_whole_numbers_with_dutch_thousands_points_are_refused(tmp_path):
    """A ';' export of whole kW with a thousands point ('1.112' for 1112) was read as 1.112 kW
    (outside check 14): where every number with a point in a column reads as thousands beside
    numbers below a thousand without one, the point's meaning is asked, by column; ids, zeros,
    other columns and one decimal such as 0.450 do not count (a review)."""
    from ansen.data.io import _read_csv

    def read(text, name="mv.csv"):
        f = tmp_path / name
        f.write_text(text)
        return _read_csv(f)

    text = "time;mv_kw\n2025-06-02T00:00Z;987\n2025-06-02T00:15Z;1.112\n"
    with pytest.raises(DataError, match=r"mv.csv: column 'mv_kw': every number with a point "
                                        r"reads as a whole number in thousands \('1.112' in line "
                                        r"3\), beside numbers below a thousand without one "
                                        r"\('987' in line 2\): is the point a thousands "
                                        r"separator \(1112\) or a decimal point \(1.112\)\?"):
        read(text)
    with pytest.raises(DataError, match=r"column 'mv_kw': every number"):  # quoted, tabs
        read(text.replace(";1.112", ';"1.112"'))
    with pytest.raises(DataError, match=r"column 'mv_kw': every number"):
        read(text.replace(";", "\t"))
    assert read(text + "2025-06-02T00:30Z;0.450\n")[1] == "."  # a decimal settles it
    assert read(text.replace(";987", ";987.500"))[1] == "."  # no whole number
    assert read(text.replace(";987", ";0"))[1] == "."  # zero proves nothing
    assert read(text.replace("1.112", "1112"))[1] == "."
    # a review's false refusals: ids and other columns are not the column's whole numbers
    assert read("household;transformer;pv_kwp\n871687140000000001;1;4.380\n"
                "871687140000000002;2;3.645\n", "sites.csv")[1] == "."
    assert read("time;price_eur_per_mwh;n\n2025-06-02T00:00Z;85.123;100\n"
                "2025-06-02T01:00Z;102.456;7\n", "prices.csv")[1] == "."
    # through the reader, naming the file
    d = _copy(tmp_path)
    df = pd.read_csv(d / "mv.csv")
    low, high = df["mv_kw"].min(), df["mv_kw"].max()
    whole = [f"{x:,.0f}".replace(",", ".")  # 1112 -> '1.112'
             for x in (df["mv_kw"] - low) * 2000.0 / (high - low)]
    (d / "mv.csv").write_text("time;mv_kw\n" + "".join(
        f"{t};{w}\n" for t, w in zip(df["time"], whole, strict=True)))
    assert any("." in w for w in whole) and any("." not in w for w in whole)
    with pytest.raises(DataError, match=r"mv.csv: column 'mv_kw': every number with a point"):
        load(d)


def test_trailing_separators_are_named_as_columns_without_a_name(tmp_path):
    """A spreadsheet export whose lines end in ';;' was refused as "not among them
    ['Unnamed: 4', ...]" and then as a column '' twice (a review)."""
    d = _copy(tmp_path)
    f = d / "pv.csv"
    f.write_text("".join(ln.replace(",", ";") + ";;\n" for ln in f.read_text().splitlines()))
    with pytest.raises(DataError, match=r"pv.csv: 2 column\(s\) without a name in the header "
                                        r"\(fields \[5, 6\] of 6\): trailing separators"):
        load(d)
    # only the data lines end in ';' (a newcomer's check): said as such, not only the count
    lines = f.read_text().splitlines()
    f.write_text("\n".join([lines[0][:-2]] + [ln[:-1] for ln in lines[1:]]) + "\n")
    with pytest.raises(DataError, match=r"pv.csv: cannot be read as CSV \(line 2 has 5 fields, "
                                        r"the header 4\) - its last 1 field\(s\) are empty: "
                                        r"separators \(';'\) at the end of the data lines"):
        load(d)


def test_toml_files_with_a_byte_order_mark_are_read(tmp_path):
    from ansen.io import read_toml

    f = tmp_path / "spec.toml"
    f.write_bytes(b"\xef\xbb\xbf[village]\nn_homes = 39\n")
    assert read_toml(f, "village spec") == {"village": {"n_homes": 39}}
    f.write_bytes("[village]\nname = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"spec.toml: not UTF-8 text .*save it as UTF-8"):
        read_toml(f, "village spec")


def test_a_byte_order_mark_in_village_toml_is_read_as_in_the_csvs(tmp_path):
    """village.toml saved with a BOM was 'not valid TOML (Invalid statement (at line 1,
    column 1))' while the CSVs with one are read (outside check 14)."""
    d = _copy(tmp_path)
    f = d / "village.toml"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    ref = load(EXAMPLE_EXPORT)
    assert load(d).attrs["name"] == ref.attrs["name"]
    f.write_bytes("[village]\nname = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"village.toml: not UTF-8 text .*save it as UTF-8"):
        load(d)


def test_decimal_commas_after_many_whole_numbers_are_read():
    """The decimal mark is decided on the whole file: an idle battery's column of zeros for
    the first 300 rows does not hide the decimal commas after them (only the first 200 lines
    were looked at)."""
    from ansen.data.io import _dialect

    rows = [f"2025-06-01T{i // 4 % 24:02d}:{i % 4 * 15:02d}:00+02:00;0;0" for i in range(300)]
    text = "\n".join(["time;H1;H2", *rows, "2025-06-04T03:00:00+02:00;1,5;-0,25"]) + "\n"
    assert _dialect(text, "battery.csv") == (";", ",")
    assert _dialect(text.replace("1,5", "1.5").replace("-0,25", "-0.25"), "b.csv") == (";", ".")
    assert _dialect(text.replace(";", "\t"), "b.csv") == ("\t", ",")
    with pytest.raises(DataError, match=r"b.csv: separated by ';' but mixes decimal commas and "
                                        r"decimal points \(first '-0,25' in line 302, first "
                                        r"'1.5' in line 302\)"):
        _dialect(text.replace("1,5", "1.5"), "b.csv")


def test_spaces_around_header_cells_are_stripped_like_the_cells(tmp_path):
    d = _copy(tmp_path)
    f = d / "load.csv"
    lines = f.read_text().splitlines()
    f.write_text("\n".join([lines[0].replace(",", " , ") + " "] + lines[1:]) + "\n")
    with pytest.warns(UserWarning, match=r"load.csv: spaces around header name\(s\) \['time ', "
                                         r"' H1 ', ' H2 '\] trimmed; the values read are the "
                                         r"trimmed ones"):
        trimmed = load(d)
    np.testing.assert_array_equal(trimmed["load_kw"].values, load(EXAMPLE_EXPORT)["load_kw"].values)


def test_spaces_around_cells_are_said_with_the_first_cell(tmp_path):
    d = _copy(tmp_path)
    f = d / "pv.csv"
    lines = f.read_text().splitlines()
    lines[3] = lines[3].replace(",", ", ")
    f.write_text("\n".join(lines) + "\n")
    header = lines[0].split(",")
    first = lines[3].split(", ")[1]
    with pytest.warns(UserWarning, match=rf"pv.csv: spaces around {len(header) - 1} cell\(s\), "
                                         rf"the first ' {first}' in column '{header[1]}', line 4 "
                                         r"trimmed"):
        trimmed = load(d)
    np.testing.assert_array_equal(trimmed["pv_kw"].values, load(EXAMPLE_EXPORT)["pv_kw"].values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped export has none: no word
        load(EXAMPLE_EXPORT)


def test_parquet_errors_name_the_row_not_a_line(tmp_path):
    d = _copy(tmp_path)
    df = pd.read_csv(d / "mv.csv", dtype=str)
    df.loc[5, "mv_kw"] = None
    (d / "mv.csv").unlink()
    df.to_parquet(d / "mv.parquet")
    with pytest.raises(DataError, match=r"mv.parquet: column 'mv_kw': 1 empty or NaN value\(s\), "
                                        r"first in row 6;"):
        load(d)


def test_a_parquet_table_with_time_as_its_index_is_read(tmp_path):
    """pandas' default to_parquet keeps a time index as the index: read as 'no time column'."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / "mv.csv")
    df["time"] = pd.to_datetime(df["time"], utc=True)
    (d / "mv.csv").unlink()
    df.set_index("time").to_parquet(d / "mv.parquet")
    np.testing.assert_array_equal(load(d)["mv_kw"].values, load(EXAMPLE_EXPORT)["mv_kw"].values)
    df.set_index("time", drop=False).to_parquet(d / "mv.parquet")  # index and column
    np.testing.assert_array_equal(load(d)["mv_kw"].values, load(EXAMPLE_EXPORT)["mv_kw"].values)


def test_numeric_looking_ids_stay_text(tmp_path):
    d = _copy(tmp_path)
    hh = {"H1": "001", "H2": "002", "H3": "010"}
    tr = {"T1": "1", "T2": "02"}
    for f in d.glob("*.csv"):
        df = pd.read_csv(f, dtype=str).rename(columns={**hh, **tr})
        for col, ids in (("household", hh), ("transformer", tr)):
            if col in df:
                df[col] = df[col].map(ids)
        df.to_csv(f, index=False)
    ds = load(d)
    assert list(ds.indexes["household"]) == ["001", "002", "010"]
    assert list(ds.indexes["transformer"]) == ["1", "02"]
    assert list(ds["household_transformer"].values) == ["1", "1", "02"]


def test_resampling_is_explicit_and_recorded(tmp_path):
    d = _copy(tmp_path)
    _hourly("pv.csv")(d)
    _hourly("mv.csv")(d)
    (d / "village.toml").write_text((d / "village.toml").read_text() + "resample = true\n")
    ds = load(d)
    ref = pd.read_csv(EXAMPLE_EXPORT / "pv.csv")["H1"].to_numpy()
    np.testing.assert_array_equal(ds["pv_kw"].sel(household="H1").values[:8],
                                  np.repeat(ref[[0, 4]], 4))
    assert "pv.csv: 1 h values held over 15 min steps" in ds.attrs["resampled"]
    assert "mv.csv" in ds.attrs["resampled"]
    # the same folder without the option is refused; the option of load() overrides the file
    with pytest.raises(DataError, match="pv.csv: time step 1 h differs"):
        load(d, resample=False)


def test_finer_steps_are_averaged_on_request(tmp_path):
    """5-minute PV beside 15-minute load: with resample, the mean of each quarter."""
    d = _copy(tmp_path)
    pv = pd.read_csv(d / "pv.csv")
    t = pd.to_datetime(pv["time"], format="ISO8601", utc=True)
    fine = pd.DataFrame({"time": [x.isoformat() for x in
                                  pd.date_range(t.iloc[0], periods=3 * len(t), freq="5min")]})
    for h in HOUSEHOLDS:
        fine[h] = np.repeat(pv[h].to_numpy(), 3) + np.tile([-0.001, 0.0, 0.001], len(pv))
    fine.to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match="pv.csv: time step 5 min differs from load.csv's 15 min"):
        load(d)
    ds = load(d, resample=True)
    np.testing.assert_allclose(ds["pv_kw"].values, load(EXAMPLE_EXPORT)["pv_kw"].values,
                               atol=1e-12)
    assert "pv.csv: 5 min values averaged over 15 min steps" in ds.attrs["resampled"]
    # the last 5 minutes missing: the last quarter was dropped, and the error then said the
    # file ended at 23:30 where it ends at 23:50
    fine.iloc[:-1].to_csv(d / "pv.csv", index=False)
    with pytest.raises(DataError, match=r"pv.csv: 1 step\(s\) of 15 min hold fewer than their 3 "
                                        r"values of 5 min, first the step from .* \(2 of 3\)"):
        load(d, resample=True)
    # readings past load.csv's end (its last quarter whole): left out, and said
    pd.concat([fine, fine.iloc[-1:].assign(time=(pd.Timestamp(fine["time"].iloc[-1])
                                                 + pd.Timedelta(minutes=5)).isoformat())]
              ).to_csv(d / "pv.csv", index=False)
    ds = load(d, resample=True)
    np.testing.assert_allclose(ds["pv_kw"].values, load(EXAMPLE_EXPORT)["pv_kw"].values,
                               atol=1e-12)
    assert "pv.csv: 1 part(s) of a step outside load.csv's period left out" in \
        ds.attrs["resampled"]


def test_hourly_prices_are_held_and_recorded():
    ds = load(EXAMPLE_EXPORT)
    assert ds.attrs["resampled"] == "prices.csv: 1 h values held over 15 min steps"


def test_prices_that_change_from_hourly_to_quarter_hours_are_held_and_noted(tmp_path):
    """The day-ahead market went from hourly to 15-minute prices on 1 October 2025: an export
    across the change is read, each price held over its own interval, and the change noted;
    a gap is still refused."""
    d = _copy(tmp_path)
    f = d / "prices.csv"
    df = pd.read_csv(f, dtype=str)
    t = pd.to_datetime(df["time"], format="ISO8601", utc=True)
    p = df["price_eur_per_mwh"].astype(float).to_numpy()
    n_hourly = 27
    quarters = [(t[i] + pd.Timedelta(minutes=15 * q), p[i] + q)
                for i in range(n_hourly, len(df)) for q in range(4)]
    rows = [(t[i], p[i]) for i in range(n_hourly)] + quarters
    pd.DataFrame({"time": [x.isoformat() for x, _ in rows],
                  "price_eur_per_mwh": [v for _, v in rows]}).to_csv(f, index=False)
    ds = load(d)
    got = ds["price_eur_per_kwh"].to_numpy() * 1000
    np.testing.assert_allclose(got[:4 * n_hourly], np.repeat(p[:n_hourly], 4))
    np.testing.assert_allclose(got[4 * n_hourly:], [v for _, v in quarters])
    assert "prices.csv: steps of 1 h from" in ds.attrs["resampled"]
    assert "15 min from" in ds.attrs["resampled"]
    gap = pd.read_csv(f, dtype=str).drop(index=10)  # a missing hour in the hourly part
    gap.to_csv(f, index=False)
    with pytest.raises(DataError, match=r"prices.csv: gap \(1 step\(s\) of 1 h missing") as exc:
        load(d)
    # a day before the clocks go forward, not at the hour they skip: no hint of clock time
    assert "daylight saving" not in str(exc.value)


def test_meter_noise_and_efficiency_zero_where_no_battery_is_are_accepted(tmp_path):
    """3 W of noise in battery.csv where no battery is, and battery_eff 0 for a household
    without a battery, are no error (each would be refused at a battery)."""
    d = _copy(tmp_path)
    _edit_frame("battery.csv", lambda df: _set(df, 40, "H2", "0.003"))(d)
    _edit_frame("sites.csv", lambda df: _set(df, 1, "battery_eff", "0"))(d)
    ds = load(d)
    assert float(ds["battery_eff"].sel(household="H2")) == 0.0


def test_files_the_reader_does_not_read_are_named(tmp_path):
    """heat_pump.csv and Load.CSV beside load.csv were ignored without a word."""
    d = _copy(tmp_path)
    (d / "heat_pump.csv").write_text("time,H1\n")
    (d / "Load_2025.CSV").write_text("x\n")  # not Load.CSV: case-insensitive file systems
    with pytest.warns(UserWarning, match=r"file\(s\) not read: \[.Load_2025.CSV., .heat_pump.csv.\]"):
        load(d)


def test_prices_beyond_the_load_are_left_out_and_recorded(tmp_path):
    """Prices may reach past the measurements (published a day ahead); what is left out is
    recorded in attrs['resampled'], not dropped in silence."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / "prices.csv", dtype=str)
    extra = pd.DataFrame({"time": ["2025-03-31T00:00:00+02:00", "2025-03-31T01:00:00+02:00"],
                          "price_eur_per_mwh": ["50.0", "40.0"]})
    pd.concat([df, extra]).to_csv(d / "prices.csv", index=False)
    ds = load(d)
    assert "prices.csv: 8 steps outside load.csv's period left out" in ds.attrs["resampled"]


def test_a_transformer_without_households_carries_its_own_load():
    """Its load was NaN in the summary (and the overview's figures): the sum over no
    households was not filled with 0 before its own load was added."""
    import pandas as pd

    from ansen.data import from_arrays
    from ansen.data.summary import summary, transformer_kw

    t = pd.date_range("2025-06-02", periods=96, freq="15min")
    ds = from_arrays(t, np.full((96, 2), 0.5), np.zeros((96, 2)),
                     household_transformer=["T1", "T1"], transformer_kva=[250.0, 400.0],
                     transformer_rest_kw=np.column_stack([np.zeros(96), np.full(96, 20.0)]),
                     name="empty T2")
    load = transformer_kw(ds)
    np.testing.assert_array_equal(load.sel(transformer="T2").values, 20.0)
    np.testing.assert_array_equal(load.sel(transformer="T1").values, 1.0)
    assert np.isfinite(summary(ds)["value"].astype(float)).sum() > 0


@pytest.mark.parametrize("table, column, said", [
    ("transformer.csv", "T1", "transformer.csv: column 'T1' runs against its households' net"),
    ("mv.csv", "mv_kw", "mv.csv: mv_kw runs against the transformers' sum"),
])
def test_a_measurement_with_feed_in_positive_is_refused(tmp_path, table, column, said):
    """A transformer table with export counted positive was read, and the derived rest of the
    load became minus the measured load less twice the households' (an outside check)."""
    d = _copy(tmp_path)
    df = pd.read_csv(d / table)
    df[column] = -df[column]
    df.to_csv(d / table, index=False)
    with pytest.raises(DataError, match=re.escape(said) + r".*correlation -\d\.\d\d.*sign turned"):
        load(d)


def test_a_few_metered_connections_unlike_their_transformer_are_only_warned_of():
    """A village hall without PV, the only metered connection on a transformer of PV homes,
    runs against it with the sign right: a small part of its swing, so a warning, no refusal."""
    from ansen.data.io import _check_sign

    t = pd.date_range("2025-06-02", periods=96, freq="15min")
    sun = np.clip(np.sin((t.hour + t.minute / 60 - 6) / 14 * np.pi), 0, None)
    transformer = pd.Series(20.0 - 100.0 * sun, index=t)  # PV homes: feed-in at noon
    hall = pd.Series(2.0 + 5.0 * sun, index=t)  # opens by day
    with pytest.warns(UserWarning, match=r"runs against its connection: correlation -1.00, "
                                         r"and what it carries swings 0.05 as much"):
        _check_sign(transformer, hall, "transformer.csv: column 'T1'", "its connection")
    with pytest.raises(DataError, match=r"swings 1.00 as much .* sign turned"):
        _check_sign(-transformer, transformer, "transformer.csv: column 'T1'", "its homes")


def test_a_feeder_in_mw_and_a_transformer_turned_are_warned_of_by_name(tmp_path):
    """Outside check 14: an MV feeder in MW at 2 % of its transformers' sum passed the 1 %
    floor unsaid; a transformer with its sign turned (-0.84 against its few households) passed
    unsaid while the feeder's warning blamed mv.csv alone."""
    from ansen.data.io import SCALE_FLOOR, SCALE_WARN, SIGN_WARN_BELOW, _check_scale

    t = pd.date_range("2025-06-02", periods=96, freq="15min", tz="UTC")
    sun = np.clip(np.sin((t.hour + t.minute / 60 - 6) / 14 * np.pi), 0, None)
    noise = np.random.default_rng(0).normal(0.0, 1.0, (len(t), 3))
    # one metered household on each transformer, most of each transformer's load elsewhere
    net = pd.DataFrame({"H1": 0.5 - 3.0 * sun + 0.3 * noise[:, 0],
                        "H2": 0.6 - 2.5 * sun + 0.3 * noise[:, 1]}, index=t)
    on = pd.Series({"H1": "T1", "H2": "T2"})
    kva = pd.Series({"T1": 250.0, "T2": 250.0})
    trafo = pd.DataFrame({"T1": 30.0 - 100.0 * sun + 20.0 * noise[:, 2],
                          "T2": 10.0 - 20.0 * sun}, index=t)
    mv = 500.0 - 1500.0 * sun + trafo.sum(axis=1)  # the feeder's other PV, far larger
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_scale(tmp_path, trafo, mv, net, on, kva)  # all as it should be: nothing said
    carried = trafo.sum(axis=1).abs().max()
    for share in (SCALE_FLOOR * 2, SCALE_WARN / 2):  # in the band: warned, not refused
        small = mv / mv.abs().max() * share * carried
        with pytest.warns(UserWarning, match=r"mv.csv: mv_kw peaks at .* kW, \d\.\d% of what "
                                             r"the village's transformers alone reach .* MW "
                                             r"instead of kW\?"):
            _check_scale(tmp_path, trafo, small, net, on, kva)
    turned = trafo.assign(T1=-trafo["T1"])
    with pytest.warns(UserWarning) as said:
        _check_scale(tmp_path, turned, mv, net, on, kva)
    text = [str(w.message) for w in said]
    first = next(x for x in text if x.startswith("transformer.csv: column 'T1' runs against"))
    r = float(re.search(r"correlation (-?\d\.\d\d)", first).group(1))
    assert -0.9 <= r < SIGN_WARN_BELOW  # the band that passed unsaid
    assert any(x.startswith("mv.csv: mv_kw runs against the transformers' sum") and
               "with transformer.csv's column 'T1' turned, mv_kw would follow" in x
               for x in text), text
    # the feeder itself turned: no transformer is blamed (the largest one was, a review)
    with pytest.raises(DataError) as refused:
        _check_scale(tmp_path, trafo, -(trafo.sum(axis=1) * 3.0 + 100.0), net, on, kva)
    assert "mv.csv: mv_kw runs against" in str(refused.value)
    assert "turned, mv_kw would follow" not in str(refused.value)
    # a transformer far below its households: MW as kW? warned, in the band above the floor
    small = trafo.assign(T2=trafo["T2"] / trafo["T2"].abs().max() * 0.05 * net["H2"].abs().max())
    with pytest.warns(UserWarning, match=r"transformer.csv: column 'T2' peaks at .* kW, "
                                         r"5\.0% of what its households' net exchange alone "
                                         r"reaches .* MW instead of kW\?"):
        _check_scale(tmp_path, small, mv, net, on, kva)


def test_a_battery_with_discharge_positive_is_refused_over_the_record():
    """With a one-way efficiency of 0.95 a turned sign drifts 1.6 kWh a day, inside the
    24-hour allowance; over four weeks it piles up far beyond the battery, while the turned
    record stays within it."""
    from ansen.data.io import _check_battery_energy

    t = pd.date_range("2025-06-02", periods=28 * 96, freq="15min", tz="UTC")
    hour = t.hour + t.minute / 60
    eta = 0.95
    # a daily cycle: 9.5 kWh into the cells from 10 to 15 h, all of it out from 18 to 22 h
    p = np.where((hour >= 10) & (hour < 15), 2.0, 0.0) - np.where(
        (hour >= 18) & (hour < 22), 9.5 * eta / 4, 0.0)
    sites = pd.DataFrame({"household": ["H1"], "battery_kwh": [10.0], "battery_eff": [eta]})
    _check_battery_energy(pd.DataFrame({"H1": p}, index=t), sites, "UTC")  # as measured
    with pytest.raises(DataError, match=r"battery.csv: column 'H1': with charge positive.*"
                                        r"stores \d+\.\d kWh net over the record.*with the sign "
                                        r"turned it stays within 9\.5 kWh.*turn its sign"):
        _check_battery_energy(pd.DataFrame({"H1": -p}, index=t), sites, "UTC")


def test_pv_far_below_its_kwp_in_the_sunny_season_is_warned_of():
    """Energy per 15-minute step [kWh] read as power [kW]: a quarter of the PV, unsaid."""
    from ansen.data import validate
    from tests.conftest import tiny

    ds = tiny(days=15)
    # tiny's PV is centred on 13:00 UTC: solar noon at longitude -15
    ds.attrs.update(latitude=52.8, longitude=-15.0, timezone="UTC")
    ds["pv_kwp"] = ("household", np.array([3.5, 0.0, 2.5]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(ds)  # 3 kW on 3.5 kWp: no warning
    ds["pv_kw"] = ds["pv_kw"] / 4
    with pytest.warns(UserWarning, match=r"no household's PV reaches 0.3 kW per kWp .* in 15 "
                                         r"days .* household H001, peaks at 0.21 kW/kWp.*energy "
                                         r"x 4 at 15-minute steps"):
        validate(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(ds.isel(time=slice(0, 13 * 96)))  # under a fortnight: no warning
        hourly = tiny(days=15, minutes=60)  # kWh per hour is kW: not this mistake
        hourly.attrs.update(ds.attrs, longitude=-22.5)  # its hours' middles: 30 min later
        hourly["pv_kwp"] = ds["pv_kwp"]
        hourly["pv_kw"] = hourly["pv_kw"] / 4
        validate(hourly)
        unmetered = ds.copy()
        unmetered["pv_kw"] = unmetered["pv_kw"] * 0  # PV behind the meter, kWp given
        validate(unmetered)

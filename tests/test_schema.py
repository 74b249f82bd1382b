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
    with pytest.raises(DataError, match=r"time: timestamps not increasing at 2025-06-02 04:30 local \(02:30Z\)"):
        validate(_with_time(village, t))


def test_duplicate_timestamps(village):
    t = village.indexes["time"].to_numpy().copy()
    t[11] = t[10]
    with pytest.raises(DataError, match="time: duplicate timestamps"):
        validate(_with_time(village, t))


def test_gap(village):
    ds = village.isel(time=np.r_[0:20, 25:192])
    with pytest.raises(DataError, match=r"time: gap \(5 step\(s\) of 15 min missing: the next stamp 1 h 30 min later\) after 2025-06-02 06:45 local \(04:45Z\) \(expected a regular step of 15 min\)"):
        validate(ds)


def test_irregular_step(village):
    t = village.indexes["time"] + pd.to_timedelta(np.r_[np.zeros(50), np.full(142, 5)], "min")
    with pytest.raises(DataError, match="time: irregular step of 20 min"):
        validate(_with_time(village, t))


def test_dst_doubled_local_timestamps():
    """Local clock times stored without offset repeat 02:00-02:45 on the last Sunday of October."""
    ds = tiny(days=2, start="2025-10-25 22:00")
    local = ds.indexes["time"].tz_localize("UTC").tz_convert("Europe/Amsterdam").tz_localize(None)
    with pytest.raises(DataError, match="DST-doubled"):
        validate(_with_time(ds, local))


def test_local_timestamps_skipping_the_spring_hour_are_named():
    """Local clock times read as UTC skip 02:00-02:45 on the last Sunday of March: a gap of
    1 h 15 min that the message explains (it said only 'gap')."""
    ds = tiny(days=2, start="2025-03-29 22:00")
    local = ds.indexes["time"].tz_localize("UTC").tz_convert("Europe/Amsterdam").tz_localize(None)
    with pytest.raises(DataError, match=r"next stamp 1 h 15 min later.* one hour missing where "
                                        r"daylight saving time begins: .* local clock time"
                                        r".*local clock time written with one offset, such as "
                                        r"\+00:00, is neither"):  # an export with +00:00 on
        validate(_with_time(ds, local))  # local clock times was told to declare them local
    for start in ("2025-06-02", "2025-10-25 12:00"):  # June; the end of summer time
        gap = tiny(days=2, start=start)
        gap = gap.isel(time=np.r_[0:60, 64:192])  # a gap of 1 h 15 min: no such hint
        with pytest.raises(DataError, match="the next stamp 1 h 15 min later") as exc:
            validate(gap)
        assert "daylight saving" not in str(exc.value), start


def test_nan(village):
    ds = village.copy(deep=True)
    ds["pv_kw"][40, 2] = np.nan
    with pytest.raises(DataError, match=r"pv_kw: 1 NaN value\(s\), first at \(time=2025-06-02 12:00 local \(10:00Z\), household=H003\)"):
        validate(ds)


@pytest.mark.parametrize(("name", "units", "ok"), [
    ("load_kw", "kWh", False), ("pv_kw", "W", False), ("price_eur_per_kwh", "EUR/MWh", False),
    ("battery_kwh", "Wh", False), ("load_kw", "kw", True), ("battery_eff", "", True),
    ("pv_kwp", "kW", True), ("load_kw", "kilowatt", True), ("battery_kwh", "kilowatt-hour", True),
    ("price_eur_per_kwh", "€/kWh", True), ("price_eur_per_kwh", "EUR per kWh", True),
    ("transformer_kva", "kilovolt-ampere", True), ("price_eur_per_kwh", "€/MWh", False),
    ("load_kw", "kilowatt hour", False), ("battery_eff", "%", False),
    ("price_eur_per_kwh", "EUR kWh", False), ("price_eur_per_kwh", "EUR-kWh", False)])
def test_a_units_attribute_other_than_the_schema_s_is_refused(village, name, units, ok, tmp_path):
    """Values whose units attribute says W, Wh or EUR/MWh are not read as kW, kWh, EUR/kWh;
    other spellings of the same unit pass. Read from a file, the message names the file."""
    import ansen.data

    ds = village.copy(deep=True)
    if name not in ds:
        ds[name] = ("household", np.full(ds.sizes["household"], 4.0))
    ds[name].attrs["units"] = units
    if ok:
        validate(ds)
        return
    with pytest.raises(DataError, match=rf"^{name}: its units attribute says '{units}', the "
                                        r"schema's unit is"):
        validate(ds)
    path = tmp_path / "v.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DataError, match=rf"^{path}: {name}: its units attribute"):
        ansen.data.load(path)


@pytest.mark.parametrize(("minutes", "shift", "message"), [
    (15, pd.Timedelta(minutes=7), r"time: 192 of 192 steps start off the 15-minute marks of the "
                                  r"local clock \(:00, :15, :30, :45\), the first at "
                                  r"2025-06-02 02:07 local \(00:07Z\), when Europe/Amsterdam is "
                                  r"UTC\+02:00; give each step the local time at which it "
                                  r"starts on those marks$"),
    (60, pd.Timedelta(minutes=30), r"time: 48 of 48 steps start off the 60-minute marks of the "
                                   r"local clock \(:00\), the first at 2025-06-02 02:30 local"),
    (15, pd.Timedelta(seconds=1), r"2025-06-02 02:00:01 local")])
def test_steps_off_the_clock_s_marks_are_refused(minutes, shift, message):
    """Hourly prices and plan steps count whole steps in each hour: a step that starts
    at :07 is refused, not run."""
    v = tiny(days=2, minutes=minutes)
    validate(v)
    with pytest.raises(DataError, match=message):
        validate(v.assign_coords(time=v.indexes["time"] + shift))


@pytest.mark.parametrize(("zone", "start", "minutes", "message"), [
    # the offset falls from +11:00 to +10:30 on 6 April 2025: hourly UTC steps leave the marks
    ("Australia/Lord_Howe", "2025-04-04", 60,
     r"57 of 96 steps .* the first at 2025-04-06 01:30 local \(2025-04-05 15:00Z\), when "
     r"Australia/Lord_Howe is UTC\+10:30; .* or a step that fits the zone's offset "
     r"\(5, 6, 10, 15, 30 minutes\)$"),
    ("Asia/Kolkata", "2025-06-02", 60, r"96 of 96 steps .* when Asia/Kolkata is UTC\+05:30"),
    ("America/St_Johns", "2025-06-02", 60, r".* 2025-06-01 21:30 local \(2025-06-02 00:00Z\), "
                                           r"when America/St_Johns is UTC-02:30"),
    ("Asia/Kolkata", "2025-06-02", 30, None),
    ("Asia/Kathmandu", "2025-06-02", 15, None),
    ("Asia/Kathmandu", "2025-06-02", 30, r".* Asia/Kathmandu is UTC\+05:45; .* "
                                         r"\(5, 15 minutes\)$")])
def test_every_step_is_on_the_local_marks_in_zones_of_half_and_quarter_hours(zone, start,
                                                                           minutes, message):
    """Every step is checked, not the first: a zone whose offset moves by half an hour
    takes regular UTC steps off the local clock's marks for part of the year."""
    v = tiny(days=4, start=start, minutes=minutes)
    v.attrs["timezone"] = zone
    if message is None:
        validate(v)
        return
    with pytest.raises(DataError, match=r"^time: " + message):
        validate(v)


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
    # a register of a meter years old is far above any power: still called a register, not W
    ds[name] = energy + 12000.0
    with pytest.raises(DataError, match="never decreases .* cumulative meter readings"):
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


@pytest.mark.parametrize("minutes", [1, 7, 90, 120])
def test_unsupported_step(minutes):
    ds = tiny(days=2)
    t = pd.date_range("2025-06-02", periods=ds.sizes["time"], freq=f"{minutes}min")
    with pytest.raises(DataError, match=f"time: a step of {minutes} min is not supported"):
        validate(_with_time(ds, t))


@pytest.mark.parametrize("minutes", [5, 60])
def test_supported_step_bounds(minutes):
    ds = tiny(days=2)
    t = pd.date_range("2025-06-02", periods=ds.sizes["time"], freq=f"{minutes}min")
    validate(_with_time(ds, t))


@pytest.mark.parametrize(("kwh", "kw", "message"), [
    (10.0, 0.0, "household H001 has battery_kwh = 10 kWh but battery_kw = 0 kW"),
    (0.0, 5.0, "household H001 has battery_kwh = 0 kWh but battery_kw = 5 kW"),
])
def test_battery_needs_capacity_and_power(village, kwh, kw, message):
    ds = village.copy(deep=True)
    ds["battery_kwh"][0], ds["battery_kw"][0] = kwh, kw
    with pytest.raises(DataError, match=message):
        validate(ds)


@pytest.mark.parametrize(("tz", "message"), [
    (1, r"attrs\['timezone'\]: must be an IANA time zone name .* got 1 \(int\)"),
    ("Europe/Amsterdm", r"attrs\['timezone'\]: 'Europe/Amsterdm' is not an IANA time zone"),
    ("../../etc/passwd", "is not an IANA time zone"),
])
def test_bad_timezone(village, tz, message):
    ds = village.copy()
    ds.attrs["timezone"] = tz
    with pytest.raises(DataError, match=message):
        validate(ds)


def test_summary_reads_pv_kwp_as_variable_or_attribute(village):
    from ansen.data.summary import summary

    as_attr = village.copy()
    as_attr.attrs["pv_kwp"] = [3.5, 0.0, 2.5]
    as_var = village.assign(pv_kwp=("household", np.array([3.5, 0.0, 2.5])))
    a, b = summary(as_attr), summary(as_var)
    assert "PV yield [kWh/kWp/yr]" in a.index and "PV per dwelling [kWp]" in a.index
    pd.testing.assert_frame_equal(a, b)
    assert a.loc["PV per dwelling [kWp]", "value"] == pytest.approx(2.0)
    bad = village.copy()
    bad.attrs["pv_kwp"] = [3.5, 0.0]
    with pytest.raises(DataError, match=r"attrs\['pv_kwp'\]: one value per household needed"):
        summary(bad)


def test_summary_cites_only_public_sources():
    from ansen.data.summary import PLAUSIBLE

    for name, (_, _, source) in PLAUSIBLE.items():
        assert "pilot-facts" not in source and "seed 0" not in source, name


def test_a_period_bound_between_steps_is_refused_not_rounded():
    """On hourly data 13:30 lay between two steps and was rounded to 14:00 in silence."""
    import ansen
    from tests.conftest import tiny

    v = tiny(days=3, minutes=60)
    with pytest.raises(DataError, match=r"requested start 2025-06-02 13:30 \(2025-06-02 "
                                         r"11:30:00Z\) is not on a step of the data \(every 1h "
                                         r"from .*give 2025-06-02 13:00 or 2025-06-02 14:00 "
                                         r"\(Europe/Amsterdam\)"):
        ansen.simulate(v, "M1", "2025-06-02 13:30", "2025-06-04", progress=False)
    with pytest.raises(DataError, match=r"requested end 2025-06-03 10:20 \(2025-06-03 08:20:00Z\)"):
        validate(v, end="2025-06-03 10:20")
    run = ansen.simulate(v, "M1", "2025-06-02 13:00", "2025-06-04", progress=False)
    assert run.sizes["time"] == 35  # hours from 13:00 local on 2 June to midnight on 4 June


def test_summary_of_short_data_says_its_figures_are_scaled_up():
    from ansen.data.summary import summary
    from tests.conftest import tiny

    with pytest.warns(UserWarning, match=r"data summary: the data hold 2.0 days; the annual "
                                         r"figures are scaled up from them \(x 183\)"):
        summary(tiny(days=2))


def test_a_years_figures_of_short_data_are_not_judged(tmp_path, capsys):
    """105 days of spring and summer scale to a PV yield no year has: such figures are not
    judged (ok None, 'n/a'), and the command does not exit 1 for them."""
    from ansen.cli import main
    from ansen.data import load_default, save
    from ansen.data.summary import PER_YEAR, summary

    v = load_default("2025-04-01", "2025-07-15").sel(time=slice("2025-04-01", "2025-07-14"))
    with pytest.warns(UserWarning, match="scaled up"):
        s = summary(v)
    assert all(s.loc[k, "ok"] is None for k in PER_YEAR)
    assert s.loc["PV yield [kWh/kWp/yr]", "value"] > s.loc["PV yield [kWh/kWp/yr]", "high"]
    assert s.loc["PV per dwelling [kWp]", "ok"] is True
    save(v, tmp_path / "spring.nc")
    assert main(["data", "summary", "--data", str(tmp_path / "spring.nc")]) == 0
    out = capsys.readouterr().out
    assert "n/a: not judged" in out


def test_a_village_without_prices_has_no_price_figures_judged(village):
    from ansen.data.summary import peak_timing, summary

    free = village.assign(price_eur_per_kwh=village["price_eur_per_kwh"] * 0.0)
    with pytest.warns(UserWarning, match="scaled up"):
        s = summary(free)
    assert s.loc["price mean [EUR/MWh]", "ok"] is None
    assert peak_timing(free)["mean price rank at peak"].isna().all()


def test_annual_energy_is_the_first_twelve_months_where_the_data_hold_them():
    from ansen.data.schema import annual_kwh

    t = pd.date_range("2024-07-01", periods=24 * 518, freq="h", tz="Europe/Amsterdam")
    kw = np.where(t.month.isin([12, 1, 2]), 2.0, 1.0)[:, None] * np.ones(2)
    first = np.asarray(t < pd.Timestamp("2025-07-01", tz=t.tz))
    np.testing.assert_allclose(annual_kwh(kw, t), kw[first].sum(axis=0))
    assert annual_kwh(kw, t)[0] > kw[:, 0].mean() * 8766.0  # not the period's mean per year
    short = t[: 24 * 30]
    np.testing.assert_allclose(annual_kwh(kw[: 24 * 30], short), kw[: 24 * 30].mean(axis=0)
                               * 8766.0)


@pytest.mark.parametrize("bound", ["5/4/2025", "05-04-2025", "April 5, 2025", "2025/04/05"])
def test_a_period_bound_must_be_an_iso_date(village, bound):
    """pandas reads 5/4/2025 as 4 May: a non-ISO bound is refused, not read month first."""
    with pytest.raises(ValueError, match="is not an ISO date"):
        validate(village, start=bound)


def test_iso_period_bounds_with_time_and_offset_are_read(village):
    from ansen.data.schema import parse_time

    assert parse_time("2025-06-02 12:00") == pd.Timestamp("2025-06-02 12:00")
    assert parse_time("2025-06-02T12:00+02:00") == pd.Timestamp("2025-06-02T10:00Z")
    assert parse_time(pd.Timestamp("2025-06-02")) == pd.Timestamp("2025-06-02")


def test_bounds_with_and_without_an_offset_are_ordered():
    """'--start 2025-06-02T00:00Z --end 2025-06-05' crashed on comparing an aware and a
    naive time; naive bounds are local time."""
    from ansen.data.schema import bounds_in_order

    assert bounds_in_order("2025-06-02T00:00Z", "2025-06-05")
    assert not bounds_in_order("2025-06-02T00:00Z", "2025-06-02 01:00")  # 23:00Z on 1 June
    assert bounds_in_order("2025-06-02 01:00", "2025-06-02T00:00Z")


def test_the_synthetic_villages_calibration_target_is_not_judged_on_another(village):
    """The MV weekly peak range is the shipped village's calibration (about 1 MW), not a
    plausibility range: a grid operator's own village was refused for a 350 kW feeder."""
    from dataclasses import asdict

    from ansen.data.summary import CALIBRATED, summary
    from ansen.data.synthetic import VillageSpec

    with pytest.warns(UserWarning, match="scaled up"):
        own = summary(village)
        made = summary(village.assign_attrs(generator="ansen.data.synthesize",
                                            spec=repr(asdict(VillageSpec()))))
    assert all(own.loc[k, "ok"] is None for k in CALIBRATED)
    assert all(made.loc[k, "ok"] is not None for k in CALIBRATED)


def test_from_arrays_refuses_misspelt_keywords_and_transposed_arrays():
    from ansen.data import from_arrays

    t = pd.date_range("2025-06-01", periods=8, freq="15min")
    kw = {"household_transformer": ["T1", "T1"], "transformer_kva": [100.0]}
    with pytest.raises(TypeError, match=r"unknown keyword 'prices_eur_per_kwh' \(did you mean "
                                        r"'price_eur_per_kwh'\?\)"):
        from_arrays(t, np.ones((8, 2)), np.zeros((8, 2)), prices_eur_per_kwh=np.ones(8), **kw)
    with pytest.raises(TypeError, match=r"unknown keyword 'timezon' \(did you mean 'timezone'"):
        from_arrays(t, np.ones((8, 2)), np.zeros((8, 2)), timezon="UTC", **kw)
    with pytest.raises(TypeError, match=r"keyword 'extra' is not a parameter, and its ndarray"):
        from_arrays(t, np.ones((8, 2)), np.zeros((8, 2)), extra=np.ones(3), **kw)
    with pytest.raises(DataError, match=r"load_kw has shape \(2, 8\), expected \(time=8, "
                                        r"household=2\) \(transposed\?\)"):
        from_arrays(t, np.ones((2, 8)), np.zeros((2, 8)), **kw)
    v = from_arrays(t, np.ones((8, 2)), np.zeros((8, 2)), name="mine", battery="none",
                    owners=["a", "b"], **kw)
    assert v.attrs["name"] == "mine" and v.attrs["owners"] == ["a", "b"]


def test_a_dataset_gets_the_checks_of_an_export_folder(village):
    """MV in MW, no time zone, an implausible battery or PV, an empty period: refused on the
    Dataset route too, each by name."""
    with pytest.raises(DataError, match=r"mv_kw: peaks at .* kW, but the village's transformers "
                                        r"alone carry up to .* look like MW"):
        validate(village.assign(mv_kw=village["mv_kw"] / 1000))
    no_zone = village.copy()
    del no_zone.attrs["timezone"]
    with pytest.warns(UserWarning, match=r"attrs\['timezone'\] missing: the village is read in "
                                         r"Europe/Amsterdam time"):
        validate(no_zone)
    noise = village.assign(pv_kwp=("household", np.zeros(village.sizes["household"])),
                           pv_kw=village["pv_kw"] * 0 + 0.003)  # 3 W of meter noise, no PV
    validate(noise)
    with pytest.raises(DataError, match=r"pv_kw: household .* with pv_kwp = 0 kWp"):
        validate(noise.assign(pv_kw=noise["pv_kw"] + 0.1))
    fast = village.copy(deep=True)
    fast["battery_kw"][0] = 99.0
    with pytest.raises(DataError, match=r"battery_kw: household .* more than 4 times"):
        validate(fast)
    with pytest.raises(DataError, match=r"price_eur_per_kwh: .* look like EUR/MWh instead of "
                                        r"EUR/kWh"):
        validate(village.assign(price_eur_per_kwh=village["price_eur_per_kwh"] * 1000 + 10))
    with pytest.raises(DataError, match=r"empty period: the requested end .* is not after the "
                                        r"start"):
        validate(village, start="2025-06-03", end="2025-06-02")


def test_sun_elevation_matches_a_reference_position():
    """Amsterdam (52.37 N, 4.90 E): pvlib's NREL algorithm gives 61.06 deg at 11:40 UTC on 21
    June 2025 and -6.31 deg at 18:30 UTC on 20 March 2025; solar noon on 21 June at 11:42."""
    from ansen.data.schema import sun_elevation

    t = pd.DatetimeIndex(["2025-06-21 11:40", "2025-03-20 18:30"])
    np.testing.assert_allclose(sun_elevation(t, 52.37, 4.90), [61.06, -6.31], atol=0.05)
    noon = sun_elevation(pd.DatetimeIndex(["2025-06-21 11:42"]), 52.37, 4.90, hour_angle=True)
    assert abs(noon[0]) < 0.01  # [h]


def _sunny(shift_h: float):
    """Two homes' PV from the sun over Ansen, its time stamps shifted by ``shift_h``."""
    from ansen.data.schema import sun_elevation

    t = pd.date_range("2025-06-02", periods=96 * 4, freq="15min")
    el = sun_elevation(t + pd.Timedelta(minutes=7.5) - pd.Timedelta(hours=shift_h), 52.79, 6.38)
    pv = 4.0 * np.clip(np.sin(np.radians(el)), 0, None)[:, None] * np.array([[1.0, 0.5]])
    return dict(time=t, load_kw=np.full((len(t), 2), 0.4), pv_kw=pv,
                household_transformer=["T1", "T1"], transformer_kva=[100.0],
                latitude=52.79, longitude=6.38)


def test_pv_on_time_passes_shifted_pv_is_said_and_pv_at_night_refused():
    import warnings

    from ansen.data import from_arrays

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_arrays(**_sunny(0.0))  # the sun's own timing: silent
    # late, but not into the night: said (two hours late in June reaches the night: refused)
    with pytest.warns(UserWarning, match=r"pv_kw: the village's PV days are centred 1\.[123] h "
                                         r"after solar noon .* time stamps may be shifted"):
        from_arrays(**_sunny(1.25))
    with pytest.raises(DataError, match="generated at night"):
        from_arrays(**_sunny(2.0))
    with pytest.raises(DataError, match=r"pv_kw: \d+\.\d % of the village's PV energy is "
                                        r"generated at night .* time stamps look shifted"):
        from_arrays(**_sunny(9.0))
    without = _sunny(9.0)  # without a position nothing is judged
    del without["latitude"], without["longitude"]
    from_arrays(**without)


def test_pv_at_night_at_one_connection_is_refused_by_name():
    """A meter's 2 kW at 02:00 local (00:00Z) hid in the village's sum (outside check); a
    connection without PV, and the other's PV an hour late (hourly stamps labelling the hour's
    end, at most), are not refused."""
    from ansen.data import from_arrays

    good = _sunny(0.0)
    good["pv_kw"] = np.column_stack([good["pv_kw"][:, 0], np.zeros(len(good["time"]))])
    from_arrays(**good)  # a connection without PV: fine
    late = _sunny(0.0)
    late["pv_kw"] = late["pv_kw"].copy()
    late["pv_kw"][:, 1] = np.roll(late["pv_kw"][:, 1], 4)  # one home's PV an hour late
    from_arrays(**late)
    glitch = _sunny(0.0)
    glitch["pv_kw"] = glitch["pv_kw"].copy()
    glitch["pv_kw"][96 + 0:96 + 3, 1] = 2.0  # 3 June, 00:00-00:30Z = 02:00 local
    with pytest.raises(DataError, match=r"pv_kw: PV at night at 1 connection\(s\) \(H002; 3 "
                                        r"step\(s\) .*\), most 2 kW at H002 at 2025-06-03 02:00 "
                                        r"local \(00:00Z\), where its largest PV in the data is "
                                        r"2 kW: a meter's glitch .* time stamps shifted"):
        from_arrays(**glitch)


def test_west_roofs_are_not_said_hourly_stamps_of_the_hours_end_are():
    """A PV-weighted mean time puts west roofs 1.7 h after solar noon in clear June days: the
    check uses the middle of each day's PV, which the roofs' direction does not move. Hourly
    time stamps that label the hour's end are read an hour late (ansen reads a step's start):
    said."""
    import warnings

    import pvlib

    from ansen.data import from_arrays

    def west(label_end: bool):
        t = pd.date_range("2025-06-16", periods=24 * 7, freq="1h")  # UTC
        mid = (t + pd.Timedelta(minutes=-30 if label_end else 30)).tz_localize("UTC")
        sun = pvlib.solarposition.get_solarposition(mid, 52.79, 6.38)
        cs = pvlib.clearsky.haurwitz(sun["apparent_zenith"])["ghi"]
        poa = pvlib.irradiance.get_total_irradiance(35, 270, sun["zenith"], sun["azimuth"],
                                                    dni=cs * 0.8, ghi=cs, dhi=cs * 0.2)
        pv = (poa["poa_global"].fillna(0).to_numpy() / 1000.0 * 4.0)[:, None]
        return from_arrays(t, np.full((len(t), 1), 0.4), pv, household_transformer=["T1"],
                           transformer_kva=[100.0], latitude=52.79, longitude=6.38)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        west(label_end=False)
    with pytest.warns(UserWarning, match=r"centred 0\.\d h after solar noon .* label the end"):
        west(label_end=True)


def test_a_misspelt_time_zone_gets_a_suggestion(village):
    ds = village.copy()
    ds.attrs["timezone"] = "Europe/Amsterdan"
    with pytest.raises(DataError, match=r"'Europe/Amsterdan' is not an IANA time zone name "
                                        r"\(did you mean 'Europe/Amsterdam'\?\)"):
        validate(ds)


def test_an_offset_for_a_time_zone_is_told_it_is_not_one():
    """'CET+1' got "did you mean 'CET'?", a zone one hour off what was meant."""
    from ansen.data.schema import timezone_hint

    for offset in ("CET+1", "UTC+2", "+01:00", "GMT-5", "UTC+05:30"):
        assert timezone_hint(offset).startswith("an offset is not a time zone"), offset
        assert "did you mean" not in timezone_hint(offset)
    assert "'Etc/GMT-2' (POSIX sign, reversed)" in timezone_hint("UTC+2")
    assert "'Etc/GMT+5'" in timezone_hint("GMT-5")
    assert "Etc/GMT" not in timezone_hint("CET+1")  # of CET, not of UTC: no fixed zone said
    assert "Etc/GMT" not in timezone_hint("UTC-13")  # Etc/GMT+13 does not exist
    assert "'Etc/GMT-14'" in timezone_hint("UTC+14")
    assert timezone_hint("Z").startswith("did you mean 'UTC'?")
    assert timezone_hint("AEST").startswith("an abbreviation is not a zone")  # not 'EST'?


def test_bounds_are_read_in_the_village_s_zone_not_amsterdam_s():
    """--start 2025-03-30T02:30 is a time of London (01:30Z), skipped only in Amsterdam: it
    was refused before the village was read; 2025-10-26T02:30, ambiguous in Amsterdam only,
    is one time in Kolkata."""
    from ansen.data.schema import check_bounds

    check_bounds("2025-03-30T02:30", "2025-03-31")
    check_bounds("2025-10-26T02:30", "2025-10-27")
    with pytest.raises(ValueError, match="--end 2025-03-29 is not after --start 2025-03-30"):
        check_bounds("2025-03-30T02:30", "2025-03-29")
    with pytest.raises(ValueError, match="does not exist in Europe/London"):
        check_bounds("2025-03-30T01:30", "2025-03-31", tz="Europe/London")
    v = tiny(days=3, start="2025-03-29")
    v.attrs["timezone"] = "Europe/London"
    validate(v, start="2025-03-30T02:30", end="2025-03-31")
    with pytest.raises(ValueError, match="start 2025-03-30 01:30:00 does not exist in "
                                         "Europe/London"):
        validate(v, start="2025-03-30T01:30", end="2025-03-31")


def test_a_time_zone_of_another_place_is_warned_of(village):
    """A Sydney village left on Europe/Amsterdam read as valid, its days on Amsterdam's clock."""
    import warnings

    ds = village.copy()
    ds.attrs.update(latitude=-33.87, longitude=151.21, timezone="Europe/Amsterdam")
    ds["pv_kw"] = ds["pv_kw"] * 0  # no PV: its timing is not what this test is about
    with pytest.warns(UserWarning, match=r"Europe/Amsterdam keeps standard time UTC\+1, 9.1 h "
                                         r"behind the sun at longitude 151.21"):
        validate(ds)
    for tz, lon in (("Australia/Sydney", 151.21), ("Europe/Madrid", -8.5), ("UTC", 6.4)):
        ds.attrs.update(timezone=tz, longitude=lon)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            validate(ds)


def test_pv_above_its_kwp_names_the_household_and_its_own_times(village):
    """The message named H001 and listed H003's (earlier) times."""
    ds = village.copy()
    ds["pv_kwp"] = ("household", np.array([1.0, 0.0, 0.1]))
    with pytest.raises(DataError, match=r"household H001 generates") as info:
        validate(ds)
    assert "household=H001" in str(info.value) and "H003" not in str(info.value)

"""The rolling-horizon simulator: physics, contracts, known optima, errors."""

import json

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ansen
from ansen.data import from_arrays
from ansen.models import SolveError
from ansen.models.cost import CommunityCost
from ansen.simulator import apply_setpoints
from ansen.tariffs import Tariff
from tests.conftest import tiny
from tests.lp_reference import community_cost_optimum

ALL = ["none", "M0", "M1", "M2", "M3", "M4", "M5", "M6", "M4+M5"]


@pytest.fixture(scope="module")
def village():
    v = tiny(days=4)
    p = v["price_eur_per_kwh"].values.copy()
    p[::7] -= 0.2  # some negative prices
    return v.assign(price_eur_per_kwh=("time", p))


@pytest.fixture(scope="module")
def runs(village):
    return {m: ansen.simulate(village, m, progress=False) for m in ALL}


@pytest.mark.parametrize("model", ALL)
def test_energy_balance_every_step(runs, village, model):
    r = runs[model]
    eff = village["battery_eff"].values
    p = r["battery_charge_kw"].values
    soc = r["soc_kwh"].values
    soc_prev = np.vstack([0.5 * village["battery_kwh"].values, soc[:-1]])
    stored = np.where(p > 0, p * eff, p / eff) * 0.25
    np.testing.assert_allclose(soc - soc_prev, stored, atol=1e-9)
    np.testing.assert_allclose(r["net_kw"], r["load_kw"] - r["pv_kw"] + r["battery_charge_kw"],
                               atol=1e-12)
    on = r["household_transformer"].values
    for k in r["transformer"].values:
        expect = r["net_kw"].values[:, on == k].sum(1) + village["transformer_rest_kw"].sel(
            transformer=k).values
        np.testing.assert_allclose(r["transformer_kw"].sel(transformer=k), expect, atol=1e-9)
    shift = (r["load_kw"] - village["load_kw"]).sum("household").values
    np.testing.assert_allclose(r["mv_kw"], r["mv_base_kw"] + r["battery_charge_kw"].sum("household")
                               + shift, atol=1e-9)


@pytest.mark.parametrize("model", ALL)
def test_soc_and_power_within_bounds(runs, village, model):
    r = runs[model]
    cap, pmax = village["battery_kwh"].values, village["battery_kw"].values
    assert (r["soc_kwh"].values >= -1e-9).all()
    assert (r["soc_kwh"].values <= cap + 1e-9).all()
    assert (np.abs(r["battery_charge_kw"].values) <= pmax + 1e-9).all()


def test_no_battery_equals_baseline_exactly(runs, village):
    r = runs["none"]
    assert (r["battery_charge_kw"].values == 0).all()
    np.testing.assert_array_equal(r["transformer_kw"].values, r["transformer_base_kw"].values)
    np.testing.assert_array_equal(r["mv_kw"].values, village["mv_kw"].values)
    np.testing.assert_array_equal(r["net_kw"].values,
                                  village["load_kw"].values - village["pv_kw"].values)


def test_m6_conserves_energy_per_day(runs, village):
    r = runs["M6"]
    from ansen.data import local_time

    days = local_time(r).normalize().tz_localize(None)
    moved = (r["load_kw"] - village["load_kw"]).to_pandas().groupby(days.to_numpy()).sum()
    np.testing.assert_allclose(moved.to_numpy(), 0.0, atol=1e-9)
    assert float(np.abs(r["load_kw"] - village["load_kw"]).sum()) > 0  # something moved
    assert (r["load_kw"].values >= -1e-12).all()


def test_m1_hand_computed_day():
    """A 1 kW load, 3 kW of PV from 10:00 to 14:00 UTC, a 10 kWh battery at eta 0.9.

    00:00-04:30: the 5 kWh in store cover 1 kW for 5 kWh x 0.9 / 0.25 kWh = 18 steps;
    then empty until 10:00; 10:00-14:00: 2 kW surplus charges 0.45 kWh a step, 16 steps
    = 7.2 kWh; from 14:00 the 1 kW deficit draws 0.25 / 0.9 kWh a step: 25 whole steps
    and a last partial one of 0.2556 kWh x 0.9 / 0.25 = 0.92 kW.
    """
    t = pd.date_range("2025-06-02 00:00", periods=96, freq="15min")
    pv = np.where((t.hour >= 10) & (t.hour < 14), 3.0, 0.0)
    v = from_arrays(t, np.ones((96, 1)), pv[:, None], household_transformer=["T1"],
                    transformer_kva=[100.0], battery_kwh=[10.0], battery_kw=[5.0],
                    battery_eff=[0.9])
    r = ansen.simulate(v, "M1", soc_initial=0.5, progress=False)
    p, soc = r["battery_charge_kw"].values[:, 0], r["soc_kwh"].values[:, 0]
    assert p[:18] == pytest.approx(-1.0)
    assert soc[17] == pytest.approx(0.0, abs=1e-12)
    assert p[18:40] == pytest.approx(0.0)
    assert p[40:56] == pytest.approx(2.0)
    assert soc[55] == pytest.approx(7.2)
    assert p[56:81] == pytest.approx(-1.0)
    assert p[81] == pytest.approx(-(7.2 - 25 * 0.25 / 0.9) * 0.9 / 0.25)
    assert p[82:] == pytest.approx(0.0)
    np.testing.assert_allclose(r["net_kw"].values[:, 0], 1.0 - pv + p)


def test_perfect_foresight_reaches_the_optimum_of_the_period():
    """An outside check: M2 over one day with perfect forecasts equals the LP of the whole day
    (prices of the day are known at its start; re-plans and the 13:00 decision change nothing)."""
    v = tiny(days=1)
    p = v["price_eur_per_kwh"].values + 0.08 * np.sin(np.arange(96) / 7.0)
    v = v.assign(price_eur_per_kwh=("time", p))
    tariff = Tariff.after_net_metering()
    r = ansen.simulate(v, "M2", forecast="perfect", tariff=tariff, progress=False,
                       wear_eur_per_kwh=0.0, end_value_eur_per_kwh=0.0)
    sites = np.flatnonzero(v["battery_kwh"].values > 0)
    cimp, cexp = tariff.prices(v)
    net0 = (v["load_kw"] - v["pv_kw"]).values[:, sites]
    ref, _ = community_cost_optimum(net0, cimp, cexp, v["battery_kwh"].values[sites],
                                    v["battery_kw"].values[sites],
                                    v["battery_eff"].values[sites],
                                    0.5 * v["battery_kwh"].values[sites], 0.25)
    n = r["net_kw"].values[:, sites]
    cost = (np.maximum(n, 0) * cimp[:, None] - np.maximum(-n, 0) * cexp[:, None]).sum() * 0.25
    eps = 1e-4 * np.abs(r["battery_charge_kw"].values).sum() * 0.25
    assert cost + eps == pytest.approx(ref, abs=1e-6)
    assert r.attrs["windows"] == 2  # the start, and 13:00
    assert r.attrs["solves"] == 2  # the hourly re-plans found nothing new: no solve


def test_solvers_agree_on_a_run(village):
    a = ansen.simulate(village, "M4", solver="highs", progress=False)
    b = ansen.simulate(village, "M4", solver="glpk", progress=False)
    assert b.attrs["objective_sum"] == pytest.approx(a.attrs["objective_sum"], rel=1e-6)


def test_m4_zero_shadow_equals_m2_on_a_run(village):
    a = ansen.simulate(village, "M2", progress=False)
    b = ansen.simulate(village, "M4", shadow_eur_per_kwh=0.0, progress=False)
    assert b.attrs["objective_sum"] == pytest.approx(a.attrs["objective_sum"], abs=1e-9)


def test_result_carries_its_provenance(runs):
    r = runs["M5"]
    assert r.attrs["model"] == "M5" and r.attrs["solver"] == "highs"
    assert r.attrs["forecast"] == "persistence"
    assert r.attrs["ansen_version"] == ansen.__version__
    params = json.loads(r.attrs["params"])
    assert params["model"]["mv_peak_eur_per_kw"] == 1.0
    assert params["data_lag"] == "15min" and params["replan_minutes"] == 60
    assert r["battery_charge_kw"].attrs["units"] == "kW"


class Impossible(CommunityCost):
    """M2 with a state of charge above capacity demanded at the end of the horizon."""

    id = "impossible"

    def add_grid_terms(self, m, ctx):
        m.impossible = pyo.Constraint(expr=m.soc[0, ctx.n_steps - 1] >= 1e6)
        return 0.0


def test_failed_solve_names_model_and_decision(village):
    with pytest.raises(SolveError, match=r"model impossible \(highs\): no optimum for the "
                                         r"decision at 2025-06-02 02:00 CEST"):
        ansen.simulate(village, Impossible(), progress=False)


def test_failed_solve_with_fallback_is_recorded(village):
    r = ansen.simulate(village, Impossible(), fallback="M1", progress=False)
    fallbacks = json.loads(r.attrs["fallbacks"])
    assert len(fallbacks) == r.attrs["decisions"]
    assert "2025-06-02 02:00" in fallbacks[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": "M7"}, "unknown steering model 'M7'"),
    ({"model": "M2", "solver": "cplex"}, "unknown solver 'cplex'"),
    ({"model": "M2", "forecast": "crystal"}, "unknown forecast 'crystal'"),
    ({"model": "M2", "soc_min": 0.6, "soc_initial": 0.5}, "infeasible parameters"),
    ({"model": "M2", "soc_min": 1.0}, r"soc_min must be a number in \[0, 0.999\]"),
    ({"model": "M2", "forecast_lag_days": 0}, "forecast_lag_days must be a whole number"),
    ({"model": "M2", "forecast_lag_days": 7.5}, "forecast_lag_days must be a whole number"),
    ({"model": "M2", "data_lag": "yesterday"}, "data_lag must be a duration"),
    ({"model": "M2", "data_lag": "5min"}, "shorter than the data's step"),
    ({"model": "M2", "replan_minutes": 7},
     r"replan_minutes must be a multiple of the data's step \(15 min\)"),
    ({"model": "M2", "replan_minutes": 0}, "replan_minutes must be a whole number"),
    ({"model": "M2", "horizon_hours": 0}, r"horizon_hours must be a number in \(0, 336\]"),
    ({"model": "M2", "horizon_hours": 0.1}, "at least one step"),
    ({"model": "M4", "shadow_eur_per_kwh": -0.3}, r"M4: shadow_eur_per_kwh must be a number"),
    ({"model": "M5", "mv_peak_eur_per_kw": "1.0"}, r"mv_peak_eur_per_kw .* \(a text, not a"),
    ({"model": "M4", "threshold_pu": -1}, r"M4: threshold_pu must be a number in \(0, 10\]"),
    ({"model": "M3", "segments": 2.5}, "M3: segments must be a whole number"),
    ({"model": "M6", "response": 1.5}, r"M6: response must be a number in \[0, 1\]"),
    ({"model": "M5", "forecast_lag_days": 400}, r"forecast_lag_days must be a whole number"),
    ({"model": "M5", "data_lag": "400D"}, "data_lag must lie between one step and 60 days"),
    ({"model": "M2", "soc_initial": "0.5"}, r"soc_initial must be a number .* not a number"),
    ({"model": "M2", "decision_hour": 13.5}, "decision_hour must be a whole number"),
    ({"model": "M2", "directions": "both"}, "directions must be 'net' or 'exact'"),
    ({"model": "M2", "tariff": "2027"}, "tariff must be an ansen.tariffs.Tariff"),
    ({"model": "M2", "wear_eur_per_kwh": None}, "wear_eur_per_kwh must be a number"),
    ({"model": "M2", "meter": "shared"}, "meter must be one of"),
    ({"model": "M4", "threshold": 1}, "unknown parameter"),
    ({"model": "M4", "forcast": "perfect"},
     r"unknown parameter\(s\) \['forcast'\] \(did you mean forecast=, an argument of simulate"),
    ({"model": "M4", "shadow_eur_per_kw": 0.2},
     r"\['shadow_eur_per_kw'\] \(did you mean 'shadow_eur_per_kwh'\?\)"),
    ({"model": "M2", "start": "2025-06-04", "end": "2025-06-01"}, "empty period"),
])
def test_bad_arguments_raise_clear_errors(village, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ansen.simulate(village, **kwargs, progress=False)


def test_whole_numbers_as_floats_are_accepted(village):
    """TOML and JSON write 7.0: a whole number all the same."""
    a = ansen.simulate(village, "M5", forecast_lag_days=7.0, progress=False)
    b = ansen.simulate(village, "M5", forecast_lag_days=7, progress=False)
    np.testing.assert_array_equal(a["battery_charge_kw"].values, b["battery_charge_kw"].values)


def test_every_model_parameter_has_a_checked_type_and_range():
    from ansen.models import MODELS
    from ansen.models.params import PARAMETERS

    for cls in MODELS.values():
        missing = sorted(set(cls.defaults) - set(PARAMETERS))
        assert not missing, f"{cls.id}: no type and range for {missing}"


def test_period_not_in_data_raises_data_error(village):
    from ansen.data import DataError

    with pytest.raises(DataError, match="before the requested end"):
        ansen.simulate(village, "M1", "2025-06-03", "2025-07-01", progress=False)


def test_a_nan_outside_the_run_is_refused_by_name():
    """The households' annual positions read all of the data: a NaN days before the run
    (outside what the run validates) is refused, not turned into a NaN position."""
    from ansen.data import DataError

    v = tiny(days=20, start="2025-05-20")
    load = v["load_kw"].values.copy()
    load[10, 1] = np.nan  # 20 May, far before the run's history
    v["load_kw"] = (v["load_kw"].dims, load)
    with pytest.raises(DataError, match=r"all of the data, not only the run\): load_kw: 1 NaN "
                                        r"value\(s\), first at \(time=2025-05-20 04:30 local"):
        ansen.simulate(v, "M0", "2025-06-07", "2025-06-08", progress=False)


def test_village_without_batteries_runs(village):
    v = village.assign(battery_kwh=village["battery_kwh"] * 0, battery_kw=village["battery_kw"] * 0)
    r = ansen.simulate(v, "M4", progress=False)
    assert (r["battery_charge_kw"].values == 0).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-20, 20), min_size=1, max_size=40), st.floats(0, 1),
       st.floats(0.5, 1.0), st.floats(0.0, 0.5))
def test_real_time_layer_keeps_limits(setpoints, soc0, eff, reserve):
    cap, pmax = np.array([10.0]), np.array([5.0])
    smin = np.array([reserve * 10.0])
    start = np.array([max(soc0 * 10.0, smin[0])])
    p, soc = apply_setpoints(np.array(setpoints)[:, None], start, cap, pmax, np.array([eff]),
                             smin, 0.25)
    assert (np.abs(p) <= 5.0 + 1e-12).all()
    assert (soc >= smin - 1e-9).all() and (soc <= cap + 1e-9).all()
    prev = np.concatenate([start, soc[:-1, 0]])
    stored = np.where(p[:, 0] > 0, p[:, 0] * eff, p[:, 0] / eff) * 0.25
    np.testing.assert_allclose(soc[:, 0] - prev, stored, atol=1e-9)


@pytest.mark.parametrize("minutes", [5, 60])
def test_every_supported_step_length_runs_end_to_end(minutes):
    """A village at 5 or 60 minutes: forecasts, LP models, M6's messages and the metrics work in
    its own steps (a day is 288 or 24 of them), with energy kept and the SOC within bounds."""
    from ansen.data import from_arrays
    from ansen.metrics import compare

    t = pd.date_range("2025-06-02", periods=4 * 24 * 60 // minutes, freq=f"{minutes}min")
    hour = (t.hour + t.minute / 60).to_numpy()
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    v = from_arrays(t, np.column_stack([0.3 + 0.4 * (hour > 17), 0.5 + 0 * hour]),
                    np.column_stack([3.0 * sun, 2.0 * sun]),
                    household_transformer=["T1", "T1"], transformer_kva=[100.0],
                    transformer_rest_kw=np.full((len(t), 1), 2.0),
                    price_eur_per_kwh=0.1 - 0.05 * sun, battery_kwh=[10.0, 10.0],
                    battery_kw=[5.0, 5.0], battery_eff=[0.95, 0.95], name=f"step{minutes}")
    dt = minutes / 60
    base = ansen.simulate(v, "M1", "2025-06-03", "2025-06-05", progress=False)
    assert base.sizes["time"] == 2 * 24 * 60 // minutes
    for model in ("M2", "M5", "M6"):
        run = ansen.simulate(v, model, "2025-06-03", "2025-06-05", progress=False)
        soc = run["soc_kwh"].values
        assert (soc >= -1e-9).all() and (soc <= 10.0 + 1e-9).all()
        p = run["battery_charge_kw"].values
        assert (np.abs(p) <= 5.0 + 1e-9).all() and np.abs(p).max() > 0.5
        # the SOC moves by what the battery exchanged in each step, losses inside (eff 0.95)
        stored = np.where(p > 0, 0.95 * p, p / 0.95) * dt
        np.testing.assert_allclose(np.diff(soc, axis=0), stored[1:], atol=1e-6)
        net = run["load_kw"] - run["pv_kw"] + run["battery_charge_kw"]
        np.testing.assert_allclose(run["transformer_kw"].sel(transformer="T1"),
                                   net.sum("household") + 2.0, atol=1e-9)
        row = compare(run, base)
        assert np.isfinite(row["saving_eur_per_household_month"].iloc[0])
        assert np.isfinite(row["transformer_variance_reduction_pct"].iloc[0])


def test_a_period_wholly_before_or_after_the_data_names_the_data_s_range():
    """It said 'at least two time steps needed, got 1' for a period before the data."""
    v = tiny(days=3)
    with pytest.raises(ansen.data.DataError, match=r"data start at 2025-06-02 02:00 local \(00:00Z\), "
                                                   r"after the requested start 2024-02-27 00:00 "
                                                   r"local \(2024-02-26 23:00Z\)"):
        ansen.simulate(v, "M1", "2024-02-27", "2024-03-01", progress=False)
    with pytest.raises(ansen.data.DataError, match="data end at .* before the requested end"):
        ansen.simulate(v, "M1", "2026-02-27", "2026-03-01", progress=False)


def test_a_local_bound_the_clock_shows_twice_or_skips_is_refused_by_name():
    v = tiny(days=3, start="2025-10-25")
    with pytest.raises(ValueError, match=r"start 2025-10-26 02:30:00 is ambiguous in "
                                         r"Europe/Amsterdam: .*2025-10-26T02:30\+02:00 for the "
                                         r"first, 2025-10-26T02:30\+01:00 for the second"):
        ansen.simulate(v, "M1", "2025-10-26 02:30", "2025-10-27", progress=False)
    r = ansen.simulate(v, "M1", "2025-10-26T02:30+01:00", "2025-10-27", progress=False)
    assert str(r.indexes["time"][0]) == "2025-10-26 01:30:00"  # UTC
    assert r["battery_kwh"].attrs["units"] == "kWh" and r.attrs["forecast_fit_warmup"] == 0


def test_prices_published_on_another_market_s_clock():
    """Prices were always known from 12:45 Amsterdam time: a Sydney village planned its
    13:00 decision with prices to Amsterdam's midnight, twice as many windows."""
    import json

    v = tiny(days=6, start="2025-03-10")
    v.attrs.update(timezone="Australia/Sydney", latitude=-33.87, longitude=151.21)
    v["pv_kw"] = v["pv_kw"] * 0  # tiny's sun is not Sydney's: no PV to time
    with pytest.warns(UserWarning, match=r"day-ahead prices are taken as known from 12:45 "
                                         r"Europe/Amsterdam"):
        dutch = ansen.simulate(v, "M4", "2025-03-11", "2025-03-15", progress=False)
    local = ansen.simulate(v, "M4", "2025-03-11", "2025-03-15", progress=False,
                           prices_published="13:00 Australia/Sydney")
    assert local.attrs["windows"] < dutch.attrs["windows"]
    assert json.loads(local.attrs["params"])["prices_published"] == "13:00 Australia/Sydney"
    assert "prices_published" not in json.loads(dutch.attrs["params"])  # the default: as before
    spaced = ansen.simulate(v, "M1", "2025-03-11", "2025-03-12", progress=False,
                            prices_published="12:45  Europe/Amsterdam")  # the default, spaced
    assert "prices_published" not in json.loads(spaced.attrs["params"])
    for bad, said in (("12:45", "must be 'HH:MM Zone'"), ("13:00 Sydney", "'Sydney' is not an "
                                                          "IANA time zone"),
                      ("25:00 UTC", r"prices_published '25:00 UTC': the time must be "
                                    r"'HH:MM'")):
        with pytest.raises(ValueError, match=said):
            ansen.simulate(v, "M4", "2025-03-11", "2025-03-12", progress=False,
                           prices_published=bad)

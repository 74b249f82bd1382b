"""The real-time transformer guard (``simulate(transformer_guard=...)``)."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import tiny

import ansen
from ansen.controller import Fleet, apply_setpoints, guard_setpoints
from ansen.data import from_arrays
from ansen.metrics import grid_load, run_label


def _fleet():
    """Three 10 kWh / 5 kW batteries (two on transformer 0, one on 1), half full."""
    return Fleet(capacity=[10.0, 10.0, 10.0], power=[5.0, 5.0, 5.0],
                 efficiency=[0.95, 0.95, 0.95], soc_min=[0.0, 0.0, 0.0])


def test_the_guard_brings_an_import_peak_to_its_limit_shared_by_room():
    """Transformer 0 imports 10 kW beyond its limit of 8 with its batteries idle: they
    discharge 2 kW together, each by its room (equal here); transformer 1 is left alone."""
    fleet, soc0 = _fleet(), np.full(3, 5.0)
    setpoint = np.array([[0.0, 0.0, 3.0]])
    power, soc, moved = guard_setpoints(setpoint, soc0, fleet, 0.25, np.array([[10.0, 1.0]]),
                                        np.array([0, 0, 1]), np.array([8.0, 8.0]))
    np.testing.assert_allclose(power, [[-1.0, -1.0, 3.0]])
    np.testing.assert_allclose(moved, [[-1.0, -1.0, 0.0]])
    assert 10.0 + power[0, :2].sum() == pytest.approx(8.0)
    _, expected_soc = apply_setpoints(power, soc0, fleet.capacity, fleet.power,
                                      fleet.efficiency, fleet.soc_min, 0.25)
    np.testing.assert_allclose(soc, expected_soc)


def test_the_guard_cuts_planned_charging_before_it_discharges():
    """A plan charging 4 kW at one battery of transformer 0 into an import 3 kW beyond its
    limit: the guard takes the 3 kW off that charging, and the idle battery stays idle (by
    room alone it would discharge while the other charges, losing both ways)."""
    fleet, soc0 = _fleet(), np.full(3, 5.0)
    power, _, moved = guard_setpoints(np.array([[4.0, 0.0, 0.0]]), soc0, fleet, 0.25,
                                      np.array([[9.0, 0.0]]), np.array([0, 0, 1]),
                                      np.array([10.0, 10.0]))
    np.testing.assert_allclose(power, [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(moved, [[-3.0, 0.0, 0.0]])
    # 7 kW beyond: the charging goes, and the rest (3 kW) is discharged by room (5 and 5)
    power, _, _ = guard_setpoints(np.array([[4.0, 0.0, 0.0]]), soc0, fleet, 0.25,
                                  np.array([[13.0, 0.0]]), np.array([0, 0, 1]),
                                  np.array([10.0, 10.0]))
    np.testing.assert_allclose(power, [[-1.5, -1.5, 0.0]])
    # and an export excess cuts planned discharging first
    power, _, _ = guard_setpoints(np.array([[-4.0, 2.0, 0.0]]), soc0, fleet, 0.25,
                                  np.array([[-8.0, 0.0]]), np.array([0, 0, 1]),
                                  np.array([9.0, 10.0]))
    np.testing.assert_allclose(power, [[-3.0, 2.0, 0.0]])


def test_the_guard_refuses_a_limit_it_cannot_hold():
    fleet, soc0 = _fleet(), np.full(3, 5.0)
    for limit in ([-1.0, 8.0], [np.nan, 8.0]):
        with pytest.raises(ValueError, match="limit_kw must be finite and >= 0"):
            guard_setpoints(np.zeros((1, 3)), soc0, fleet, 0.25, np.zeros((1, 2)),
                            np.array([0, 0, 1]), np.array(limit))


def test_the_guard_does_what_it_can_where_the_batteries_are_too_small():
    """An export of 30 kW against a limit of 8: the two batteries charge at full power, and
    the load stays beyond the limit by what they cannot take; one battery full charges nothing."""
    fleet = _fleet()
    soc0 = np.array([5.0, 10.0, 5.0])  # the second battery full
    power, _, moved = guard_setpoints(np.zeros((1, 3)), soc0, fleet, 0.25,
                                      np.array([[-30.0, 0.0]]), np.array([0, 0, 1]),
                                      np.array([8.0, 8.0]))
    np.testing.assert_allclose(power, [[5.0, 0.0, 0.0]])
    np.testing.assert_allclose(moved, [[5.0, 0.0, 0.0]])


def test_the_guard_leaves_a_plan_within_the_limit_as_planned():
    fleet, soc0 = _fleet(), np.full(3, 5.0)
    rng = np.random.default_rng(1)
    setpoint = rng.uniform(-5, 5, (8, 3))
    base = rng.uniform(-5, 5, (8, 2))
    power, soc, moved = guard_setpoints(setpoint, soc0, fleet, 0.25, base,
                                        np.array([0, 0, 1]), np.array([100.0, 100.0]))
    plain, plain_soc = apply_setpoints(setpoint, soc0, fleet.capacity, fleet.power,
                                       fleet.efficiency, fleet.soc_min, 0.25)
    np.testing.assert_array_equal(power, plain)
    np.testing.assert_array_equal(soc, plain_soc)
    assert not moved.any()


def _midday_cheap(days=4):
    """Four homes on one 40 kVA transformer; power is cheap at midday, dear in the evening,
    so market steering charges 25 kW of batteries at once."""
    t = pd.date_range("2025-06-02", periods=96 * days, freq="15min")
    hour = (t.hour + 2 + t.minute / 60).to_numpy() % 24  # local (CEST)
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    load = np.column_stack([0.4 + 0.5 * (hour > 17), 0.8 + 0.2 * np.cos(hour),
                            0.6 + 0.3 * (hour < 7), 0.5 + 0 * hour])
    return from_arrays(
        t, load, np.column_stack([1.0 * sun, 0.5 * sun, 0.0 * sun, 1.0 * sun]),
        household_transformer=["T1"] * 4, transformer_kva=[40.0],
        transformer_rest_kw=np.full((len(t), 1), 3.0),
        price_eur_per_kwh=0.15 - 0.12 * sun + 0.10 * ((hour > 17) & (hour < 21)),
        battery_kwh=[10.0, 20.0, 10.0, 10.0], battery_kw=[5.0, 10.0, 5.0, 5.0],
        battery_eff=[0.95, 0.95, 0.95, 0.9], name="cheap middays")


def _check_beyond_the_limit_only_at_the_batteries_limits(run, limit):
    """Each step of one transformer's ``run`` beyond ``limit`` [kW]: every battery already
    does all it can against it (discharges at full power or is empty; charges at full power
    or is full), from soc_initial 0.5 and soc_min 0."""
    load = run["transformer_kw"].values[:, 0]
    power, soc = run["battery_charge_kw"].values, run["soc_kwh"].values
    cap, kwp, eff = (run[x].values for x in ("battery_kwh", "battery_kw", "battery_eff"))
    soc_before = np.vstack([0.5 * cap[None, :], soc[:-1]])
    sites = cap > 0
    for i in np.flatnonzero(np.abs(load) > limit + 1e-6):
        if load[i] > 0:
            room = np.minimum(kwp, soc_before[i] * eff / 0.25) + power[i]
        else:
            room = np.minimum(kwp, (cap - soc_before[i]) / (eff * 0.25)) - power[i]
        np.testing.assert_allclose(room[sites], 0.0, atol=1e-6)


@pytest.mark.parametrize("forecast, share, over", [("persistence", 0.25, False),
                                                   ("perfect", 0.25, False),
                                                   ("persistence", 0.1, True)])
def test_a_guarded_transformer_stays_within_its_limit_or_its_batteries_are_at_theirs(
        forecast, share, over):
    """M0 charges its batteries at the cheap midday, 25 kW into a transformer whose guard is
    at 0.25 of its 40 kVA (10 kW). With the guard, each step is within the limit, or every
    battery on the transformer is at the limit of what it can do against the excess. At 0.1
    (4 kW) the homes alone import more in the evening: the batteries run empty against it."""
    v = _midday_cheap()
    kw = {"start": "2025-06-03", "end": "2025-06-06", "forecast": forecast, "progress": False}
    plain = ansen.simulate(v, "M0", **kw)
    guarded = ansen.simulate(v, "M0", transformer_guard=share, **kw)
    limit = share * 40.0
    assert np.abs(plain["transformer_kw"].values).max() > limit + 1.0  # the case is real
    assert guarded.attrs["guard_steps"] > 0 and guarded.attrs["guard_kwh"] > 0
    load = guarded["transformer_kw"].values[:, 0]
    assert (np.abs(load) > limit + 1e-6).any() == over
    _check_beyond_the_limit_only_at_the_batteries_limits(guarded, limit)
    # the books still balance (the guard is greedy: it need not lower the run's peak)
    net = guarded["load_kw"] - guarded["pv_kw"] + guarded["battery_charge_kw"]
    np.testing.assert_allclose(guarded["net_kw"], net, atol=1e-9)
    np.testing.assert_allclose(load, net.sum("household").values + 3.0, atol=1e-9)
    assert grid_load(guarded)["grid_transformer_over_rating_h"] == 0.0  # 40 kVA
    params = json.loads(guarded.attrs["params"])
    assert params["transformer_guard"] == share and "transformer_guard" not in json.loads(
        plain.attrs["params"])
    assert run_label(guarded) == "M0 (" + ("perfect, " if forecast == "perfect" else "") + \
        f"guard {share:g} x rating)"
    assert plain.attrs["guard_steps"] == 0 and plain.attrs["transformer_guard"] == "none"


def test_the_guard_acts_on_the_m1_rule_and_not_on_idle_batteries():
    """M1 never pushes a transformer further, but where the homes alone import beyond the
    guard's limit its batteries discharge beyond their own load (until empty: the guard is
    greedy, and here the evening peak comes after the batteries ran empty on the afternoon's
    excess, so the run's peak is no lower); under "none" the batteries stay idle and the
    guard is not used (nor recorded)."""
    v = _midday_cheap()
    kw = {"start": "2025-06-03", "end": "2025-06-05", "progress": False,
          "transformer_guard": 0.1}
    m1 = ansen.simulate(v, "M1", **kw)
    assert m1.attrs["guard_steps"] > 0 and m1.attrs["transformer_guard"] == 0.1
    assert run_label(m1) == "M1 (guard 0.1 x rating)"
    _check_beyond_the_limit_only_at_the_batteries_limits(m1, 4.0)
    none = ansen.simulate(v, "none", **kw)
    assert none.attrs["transformer_guard"] == "none" and none.attrs["guard_steps"] == 0
    assert "transformer_guard" not in json.loads(none.attrs["params"])
    assert not none["battery_charge_kw"].values.any()


def test_a_load_held_at_the_rating_is_not_over_it():
    """A transformer held at its rating by a guard sums to it within rounding; that rounding
    is not an hour over the rating."""
    run = ansen.simulate(tiny(), "none", progress=False)
    kva = run["transformer_kva"].values
    at = run.copy()
    at["transformer_kw"] = run["transformer_kw"] * 0 + kva * (1 + 1e-15)
    assert grid_load(at)["grid_transformer_over_rating_h"] == 0.0
    at["transformer_kw"] = run["transformer_kw"] * 0 + kva + 1e-3
    assert grid_load(at)["grid_transformer_over_rating_h"] == pytest.approx(
        run.sizes["time"] * 0.25 * 2)


@pytest.mark.parametrize("value", [-0.5, "high", float("nan")])
def test_a_bad_guard_is_refused_by_name(value):
    with pytest.raises(ValueError, match="transformer_guard"):
        ansen.simulate(tiny(), "M0", transformer_guard=value, progress=False)


def test_hourly_data_in_real_time_are_not_labelled_with_their_age():
    run = ansen.simulate(tiny(minutes=60), "M0", progress=False)
    assert run.attrs["data_lag"] == "1h" and run_label(run) == "M0"
    lagged = ansen.simulate(tiny(days=3, minutes=60), "M0", "2025-06-03", "2025-06-05",
                            data_lag="1D", progress=False)
    assert run_label(lagged) == "M0 (1D)"
    same = ansen.simulate(tiny(minutes=60), "M0", data_lag="60min", progress=False)
    assert run_label(same) == "M0"

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
    """A plan charging 4 kW at each battery of transformer 0 into an import of 6 kW beyond a
    limit of 10: the guard takes the 4 kW excess off the charging, shared by room (the room
    to discharge more is 4 + 5 = 9 kW each)."""
    fleet, soc0 = _fleet(), np.full(3, 5.0)
    setpoint = np.array([[4.0, 4.0, 0.0]])
    power, _, _ = guard_setpoints(setpoint, soc0, fleet, 0.25, np.array([[6.0, 0.0]]),
                                  np.array([0, 0, 1]), np.array([10.0, 10.0]))
    np.testing.assert_allclose(power, [[2.0, 2.0, 0.0]])


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
    power = guarded["battery_charge_kw"].values
    soc = guarded["soc_kwh"].values
    cap = guarded["battery_kwh"].values
    kwp = guarded["battery_kw"].values
    eff = guarded["battery_eff"].values
    soc_before = np.vstack([soc[:1] * np.nan, soc[:-1]])
    for i in np.flatnonzero(np.abs(load) > limit + 1e-6)[1:]:  # the first has no soc before
        if load[i] > 0:  # no more discharge: at full power or empty
            room = np.minimum(kwp, soc_before[i] * eff / 0.25) + power[i]
        else:
            room = np.minimum(kwp, (cap - soc_before[i]) / (eff * 0.25)) - power[i]
        np.testing.assert_allclose(room, 0.0, atol=1e-6)
    # the guard never raises a peak, and the books still balance
    assert np.abs(load).max() <= np.abs(plain["transformer_kw"].values).max() + 1e-9
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

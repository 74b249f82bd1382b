"""Money and physics as households meet them: wear, energy left at the horizon's end,
executable plans, the annual position a run is billed with."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import ansen
from ansen.data import from_arrays
from ansen.metrics import battery_use
from ansen.tariffs import Tariff, annual_net_kwh
from tests.conftest import tiny


def _volatile(days=4):
    v = tiny(days=days)
    n = v.sizes["time"]
    p = 0.10 + 0.12 * np.sin(np.arange(n) * 2 * np.pi / 48)  # two price cycles a day
    return v.assign(price_eur_per_kwh=("time", p))


def test_more_wear_fewer_cycles():
    v = _volatile()
    cycles = [battery_use(ansen.simulate(v, "M0", forecast="perfect", progress=False,
                                         wear_eur_per_kwh=w))["equivalent_full_cycles"]
              for w in (0.0, 0.02, 0.06, 0.5)]
    assert cycles[0] > cycles[1] > cycles[2] > cycles[3]
    assert cycles[3] < 0.05 * cycles[0]  # a wear above every spread all but stops cycling


def test_wear_is_charged_in_the_metrics():
    v = _volatile(days=2)
    run = ansen.simulate(v, "M0", forecast="perfect", progress=False, wear_eur_per_kwh=0.05)
    moved = np.abs(run["battery_charge_kw"].values).sum() * 0.25
    assert battery_use(run)["wear_eur"] == pytest.approx(0.05 * moved)


def _flat_day(price=0.10):
    """One household, 0.5 kW load, no PV, flat day-ahead price, a half-full battery."""
    t = pd.date_range("2025-06-02", periods=96, freq="15min")
    return from_arrays(t, np.full((96, 1), 0.5), np.zeros((96, 1)),
                       household_transformer=["T1"], transformer_kva=[100.0],
                       price_eur_per_kwh=np.full(96, price), battery_kwh=[10.0],
                       battery_kw=[5.0], battery_eff=[0.95])


def test_energy_left_at_the_horizon_end_keeps_its_value():
    """Flat prices: spending the store now is worth what keeping it is worth, so a plan with
    the end value leaves it; without (value 0) every plan empties the battery by its end."""
    v = _flat_day()
    kept = ansen.simulate(v, "M2", forecast="perfect", progress=False)
    assert kept["soc_kwh"].values[-1, 0] == pytest.approx(5.0, abs=1e-6)
    emptied = ansen.simulate(v, "M2", forecast="perfect", progress=False,
                             end_value_eur_per_kwh=0.0)
    assert emptied["soc_kwh"].values[-1, 0] == pytest.approx(0.0, abs=1e-6)


def _negative_noon(soc_initial=0.9):
    """Two hours at noon with a day-ahead price of -0.30 EUR/kWh, 4 kW of PV surplus."""
    t = pd.date_range("2025-06-02 12:00", periods=8, freq="15min")
    return from_arrays(t, np.full((8, 1), 0.5), np.full((8, 1), 4.5),
                       household_transformer=["T1"], transformer_kva=[100.0],
                       price_eur_per_kwh=np.full(8, -0.30), battery_kwh=[10.0],
                       battery_kw=[5.0], battery_eff=[0.9])


def _best_executable(v, tariff, soc0, wear, eps=1e-4):
    """The cheapest schedule with one direction per step, by enumerating all 2^8."""
    imp_p, exp_p = (x[:, 0] for x in tariff.marginal_prices(
        v["price_eur_per_kwh"].values, np.full(8, 2025), np.array([True])))
    net0 = (v["load_kw"] - v["pv_kw"]).values[:, 0]
    n, dt, eta, pmax, cap = 8, 0.25, 0.9, 5.0, 10.0
    best = np.inf
    for d in itertools.product([0, 1], repeat=n):  # 1: may charge, 0: may discharge
        # variables ch, dis, soc, imp, exp (n each)
        c = np.concatenate([np.full(2 * n, (wear + eps) * dt), np.zeros(n), dt * imp_p,
                            -dt * exp_p])
        a = np.zeros((2 * n, 5 * n))
        b = np.zeros(2 * n)
        for t in range(n):
            a[t, 2 * n + t] = 1.0
            if t:
                a[t, 2 * n + t - 1] = -1.0
            else:
                b[t] = soc0
            a[t, t], a[t, n + t] = -dt * eta, dt / eta
            a[n + t, 3 * n + t], a[n + t, 4 * n + t] = 1.0, -1.0
            a[n + t, t], a[n + t, n + t] = -1.0, 1.0
            b[n + t] = net0[t]
        bounds = ([(0, pmax * d[t]) for t in range(n)] + [(0, pmax * (1 - d[t])) for t in range(n)]
                  + [(0, cap)] * n + [(0, None)] * (2 * n))
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if res.status == 0:
            best = min(best, res.fun)
    return best


@pytest.mark.parametrize("solver", ["highs", "glpk"])
def test_plans_are_executable_and_as_good_as_the_best_executable_schedule(solver):
    """At negative prices an LP burns energy by charging and discharging at once; the plan
    holds such steps to one direction, so the real-time layer executes it as planned, and
    its cost equals the best schedule with one direction per step (enumerated)."""
    v = _negative_noon()
    tariff = Tariff.after_net_metering()
    run = ansen.simulate(v, "M0", forecast="perfect", tariff=tariff, progress=False,
                         soc_initial=0.9, end_value_eur_per_kwh=0.0, wear_eur_per_kwh=0.0,
                         solver=solver, directions="exact")
    assert run.attrs["direction_mips"] > 0  # the LP did want to burn energy here
    assert run.attrs["clipped_steps"] == 0  # executed as planned
    p = run["battery_charge_kw"].values[:, 0]
    imp_p, exp_p = (x[:, 0] for x in tariff.marginal_prices(
        v["price_eur_per_kwh"].values, np.full(8, 2025), np.array([True])))
    n = run["net_kw"].values[:, 0]
    cost = ((np.maximum(n, 0) * imp_p - np.maximum(-n, 0) * exp_p).sum() * 0.25
            + 1e-4 * np.abs(p).sum() * 0.25)
    best = _best_executable(v, tariff, 9.0, 0.0)
    assert cost == pytest.approx(best, abs=1e-6)
    # the fast default holds each such step to its net direction: executable too, and its
    # cost above the best is within the distance to the LP bound it reports
    fast = ansen.simulate(v, "M0", forecast="perfect", tariff=tariff, progress=False,
                          soc_initial=0.9, end_value_eur_per_kwh=0.0, wear_eur_per_kwh=0.0,
                          solver=solver, replan_minutes=None)  # one plan: one objective
    assert fast.attrs["clipped_steps"] == 0 and fast.attrs["direction_held_steps"] > 0
    assert best - 1e-9 <= fast.attrs["objective_sum"] <= best + fast.attrs["direction_gap"] + 1e-6


def test_executed_equals_planned_on_a_negative_price_day():
    """A whole day with negative midday prices, every LP model, perfect forecasts."""
    v = tiny(days=2)
    p = v["price_eur_per_kwh"].values.copy()
    hours = (v.indexes["time"].hour + 2) % 24  # local (CEST) hour of day
    p[(hours >= 11) & (hours < 16)] = -0.4
    v = v.assign(price_eur_per_kwh=("time", p))
    holds = 0
    for model, directions in itertools.product(["M0", "M2", "M4", "M5", "M4+M5", "M6"],
                                               ["net", "exact"]):
        run = ansen.simulate(v, model, forecast="perfect", tariff=Tariff.after_net_metering(),
                             progress=False, soc_initial=0.8, directions=directions)
        assert run.attrs["clipped_steps"] == 0, model
        holds += run.attrs["direction_held_steps"]
    assert holds > 0


def test_a_run_is_billed_with_the_annual_position_of_its_year():
    """The run's annual_net_kwh: its own steps plus the village's data for the rest of the year."""
    from tests.test_tariffs import _year_village

    v = _year_village().assign(battery_kwh=("household", [10.0, 0.0]),
                               battery_kw=("household", [5.0, 0.0]))
    run = ansen.simulate(v, "M1", "2025-06-01", "2025-07-01", progress=False)
    net = (v["load_kw"] - v["pv_kw"]).values.copy()
    june = slice(int(v.indexes["time"].searchsorted(pd.Timestamp("2025-05-31 22:00"))),
                 int(v.indexes["time"].searchsorted(pd.Timestamp("2025-06-30 22:00"))))
    net[june] = run["net_kw"].values
    from ansen.data import local_time

    expect = annual_net_kwh(net, local_time(v), 0.25, v["household"].values)
    np.testing.assert_allclose(run["annual_net_kwh"].values, expect.to_numpy())
    assert run["last_year_net_kwh"].values[0] > 0  # planned as a net importer

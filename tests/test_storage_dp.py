"""The dynamic programme for batteries on their own meters reaches the LP's optimum."""

import numpy as np
import pytest

import ansen
from ansen.models import Context, HorizonInputs, LPRunner, get_model, storage_dp
from ansen.models.storage_dp import SeparableRunner, solve_storage, solve_storage_blocks, step_costs
from ansen.tariffs import Tariff
from tests.conftest import tiny


def _case(rng, model_id, negative):
    """A random fleet, horizon, bounds (executed steps, held directions, padding)."""
    B, N = int(rng.integers(1, 5)), int(rng.integers(3, 30))
    dt = float(rng.choice([0.25, 0.5, 1.0]))
    cap, power = rng.uniform(2, 12, B), rng.uniform(1, 6, B)
    ctx = Context(n_steps=N, dt_h=dt, capacity_kwh=cap, power_kw=power,
                  efficiency=rng.uniform(0.85, 1.0, B), soc_min_kwh=cap * rng.uniform(0, 0.2, B),
                  site_transformer=np.zeros(B, int), transformer_kva=np.array([100.0]))
    model = get_model(model_id, wear_eur_per_kwh=float(rng.choice([0.0, 0.019])))
    price = rng.normal(0.25, 0.15, N)
    if negative:
        price[rng.integers(0, N, 3)] = -0.3
    imp = price[:, None] + rng.uniform(0, 0.2, (N, B))
    n_valid = N - int(rng.integers(0, 3))
    inputs = HorizonInputs(net0=rng.normal(0, 3, (N, B)), transformer0=np.zeros((N, 1)),
                           mv0=np.zeros(N), import_price=imp,
                           export_price=np.repeat(price[:, None], B, axis=1),
                           soc0=cap * rng.uniform(0.2, 0.9, B), n_valid=n_valid)
    lower, upper = np.zeros((2, 2, B, N))
    upper[:, :, :n_valid] = power[None, :, None]
    done = int(rng.integers(0, 3))
    executed = np.minimum(0.3 * power, 0.05 * cap / dt)[:, None] * rng.uniform(0, 1, (B, done))
    lower[0, :, :done] = upper[0, :, :done] = executed
    upper[1, :, :done] = 0.0
    held = rng.uniform(size=(2, B, N)) < 0.1
    upper[held & (np.arange(N) >= done)] = 0.0
    return ctx, model, inputs, lower.ravel(), upper.ravel()


@pytest.mark.parametrize("model_id", ["M0", "M2"])
def test_the_dynamic_programme_reaches_the_lp_optimum_on_random_fleets(model_id):
    """Random batteries, prices (some negative), executed steps, held directions, padding:
    the same objective as HiGHS on the package's LP, and a plan within every bound."""
    rng = np.random.default_rng(7)
    for k in range(25):
        ctx, model, inputs, lower, upper = _case(rng, model_id, negative=k % 3 == 0)
        m = model.build(ctx)
        B, N = ctx.n_sites, ctx.n_steps
        columns = ([m.charge[b, t] for b in range(B) for t in range(N)]
                   + [m.discharge[b, t] for b in range(B) for t in range(N)])
        values = model.parameters(inputs)
        x_lp, obj_lp = LPRunner(m, columns, "highs").solve(values, lower, upper)
        x_dp, obj_dp = SeparableRunner(model, ctx).solve(values, lower, upper)
        assert obj_dp == pytest.approx(obj_lp, rel=1e-9, abs=1e-9)
        assert (x_dp >= lower - 1e-9).all() and (x_dp <= upper + 1e-9).all()
        charge, discharge = x_dp.reshape(2, B, N)
        eta = ctx.efficiency[:, None]
        soc = inputs.soc0[:, None] + np.cumsum(ctx.dt_h * (eta * charge - discharge / eta), 1)
        assert (soc >= ctx.soc_min_kwh[:, None] - 1e-9).all()
        assert (soc <= ctx.capacity_kwh[:, None] + 1e-9).all()


def test_a_hand_solvable_battery():
    """One lossless 2 kWh / 1 kW battery, empty, hourly prices 0.1, 0.3, 0.0, 0.5 EUR/kWh on
    a meter with equal import and export prices: charge at 0.1 and 0.0, sell at 0.3 and 0.5."""
    price = np.array([[0.1, 0.3, 0.0, 0.5]])
    one = np.ones((1, 4))
    costs = step_costs((0 * one, one), (0 * one, one), 0 * one, price, -price, 0 * one,
                       np.array([1.0]), 1.0)
    y = solve_storage(costs, np.array([0.0]), np.array([0.0]), np.array([2.0]))
    np.testing.assert_allclose(y, [[1.0, -1.0, 1.0, -1.0]], atol=1e-12)
    charge, discharge = costs.powers(y)
    np.testing.assert_allclose(charge - discharge, y, atol=1e-12)
    # the same battery 1 kWh large and full: sell at 0.3, buy at 0.0, sell at 0.5
    y = solve_storage(costs, np.array([1.0]), np.array([0.0]), np.array([1.0]))
    np.testing.assert_allclose(y, [[0.0, -1.0, 1.0, -1.0]], atol=1e-12)


def test_the_meters_kink_and_the_losses_are_priced():
    """A household exporting 2 kW at a low export price (0.05) and a high import price
    (0.30) later: storing its own surplus pays only as far as it avoids imports, after losses."""
    eta = 0.9
    one = np.ones((1, 2))
    net0 = np.array([[-2.0, 1.0]])  # export 2 kW, then import 1 kW, for one hour each
    imp, exp = np.array([[0.30, 0.30]]), np.array([[0.05, 0.05]])
    costs = step_costs((0 * one, 5 * one), (0 * one, 5 * one), net0, exp, -exp, imp - exp,
                       np.array([eta]), 1.0)
    y = solve_storage(costs, np.array([0.0]), np.array([0.0]), np.array([10.0]))
    charge, discharge = costs.powers(y)
    # discharge 1 kW covers the import; it needs 1/0.9 kWh stored, charged from the surplus
    np.testing.assert_allclose(discharge[0, 1], 1.0, atol=1e-9)
    np.testing.assert_allclose(charge[0, 0], 1.0 / eta**2, atol=1e-9)


def test_an_impossible_state_of_charge_is_named():
    one = np.ones((2, 3))
    costs = step_costs((0 * one, one), (0 * one, 0 * one), 0 * one, one, one, 0 * one,
                       np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="battery 1 within its state-of-charge bounds"):
        # battery 1 starts at 5 kWh above its 4 kWh capacity and cannot discharge
        solve_storage(costs, np.array([0.0, 5.0]), np.zeros(2), np.array([4.0, 4.0]))


@pytest.mark.parametrize("block", [2, 3, 4])
def test_blocks_give_the_step_by_step_optimum(block, monkeypatch):
    """Random fleets, prices hourly or per step (the relaxation then often fails and those
    batteries are solved step by step), values at the end: the same optimal cost as
    solve_storage, and a plan within the state-of-charge bounds at every step."""
    rng = np.random.default_rng(block)
    steps = []  # the steps of each programme solve_storage_blocks runs: blocks or steps
    monkeypatch.setattr(storage_dp, "solve_storage", lambda c, *a: (
        steps.append(c.y_low.shape[1]), solve_storage(c, *a))[1])
    relaxed_only = fallen_back = 0
    for k in range(40):
        B, N, dt = int(rng.integers(1, 8)), int(rng.integers(2 * block, 40)), 0.25
        eta, cap = rng.uniform(0.85, 1.0, B), rng.uniform(2, 12, B)
        power = rng.uniform(1, 6, (B, 1)) * np.ones((B, N))
        per_hour = k % 2 == 0
        price = rng.normal(0.2, 0.1, (B, -(-N // 4) if per_hour else N))
        price = np.repeat(price, 4, axis=1)[:, :N] if per_hour else price
        spread = rng.uniform(0, 0.2, (B, 1)) * np.ones((B, N))
        net0 = rng.normal(0, 3, (B, N))
        costs = step_costs((0 * power, power), (0 * power, power), net0, dt * price,
                           -dt * price, dt * spread, eta, dt)
        soc0, soc_min = cap * rng.uniform(0.1, 0.9, B), cap * rng.uniform(0, 0.1, B)
        value = np.zeros((B, N))
        value[:, -1] = rng.uniform(0, 0.3, B)
        y = solve_storage(costs, soc0, soc_min, cap, value)
        steps.clear()
        z = solve_storage_blocks(costs, soc0, soc_min, cap, value, block=block)
        assert steps[0] == -(-N // block)  # the relaxation first
        relaxed_only += steps == [steps[0]]
        fallen_back += steps[1:] == [N]

        cost = []
        for plan in (y, z):
            charge, discharge = costs.powers(plan)
            g = (dt * price * (charge - discharge)
                 + dt * spread * np.maximum(net0 + charge - discharge, 0.0))
            cost.append(g.sum() - (value * (soc0[:, None] + np.cumsum(plan, axis=1))).sum())
        assert cost[1] == pytest.approx(cost[0], rel=1e-9, abs=1e-9)
        soc = soc0[:, None] + np.cumsum(z, axis=1)
        assert (soc >= soc_min[:, None] - 1e-9).all() and (soc <= cap[:, None] + 1e-9).all()
    assert relaxed_only and fallen_back  # both ways were taken


def test_blocks_name_an_impossible_battery_as_the_steps_do():
    one = np.ones((2, 8))
    costs = step_costs((0 * one, one), (0 * one, 0 * one), 0 * one, one, one, 0 * one,
                       np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="battery 1 within its state-of-charge bounds"):
        solve_storage_blocks(costs, np.array([0.0, 5.0]), np.zeros(2), np.array([4.0, 4.0]))


def test_simulate_solves_m0_and_m2_by_dynamic_programming_with_the_lps_optimum():
    """Perfect forecasts over one day: the LP and the programme plan at the same
    cost (that M2's plan is the day's optimum: test_simulate.py::test_perfect_foresight_...)."""
    v = tiny(days=1)
    runs = {m: ansen.simulate(v, "M2", forecast="perfect", tariff=Tariff.after_net_metering(),
                              decision_hour=1, replan_minutes=None, plan_method=m,
                              progress=False) for m in ("lp", "dp", "auto")}
    assert runs["dp"].attrs["solves"] == runs["lp"].attrs["solves"]
    assert runs["auto"].attrs["plan_method"] == "dp"
    assert runs["lp"].attrs["plan_method"] == "lp"
    assert runs["dp"].attrs["objective_sum"] == pytest.approx(runs["lp"].attrs["objective_sum"],
                                                              rel=1e-9)


@pytest.mark.parametrize("kwargs", [{"model": "M4"}, {"model": "M3"},
                                    {"model": "M2", "meter": "community"},
                                    {"model": "M0", "directions": "exact"}])
def test_dynamic_programming_is_refused_where_the_lp_couples_the_batteries(kwargs):
    with pytest.raises(ValueError, match="plan_method='dp' solves only models whose LP "
                                         "separates per battery"):
        ansen.simulate(tiny(days=1), plan_method="dp", progress=False, **kwargs)


def test_an_unknown_plan_method_is_refused_by_name():
    with pytest.raises(ValueError, match="plan_method must be one of auto, lp, dp, got 'fast'"):
        ansen.simulate(tiny(days=1), "M0", plan_method="fast", progress=False)


@pytest.mark.parametrize("model,params", [("M3", {}), ("M5", {"meter": "community"})])
def test_auto_plans_classes_where_they_aggregate_exactly(model, params):
    """M3 and a community meter touch the batteries only through sums: "auto" plans battery
    classes, with the per-site LP's optimum (one window, perfect forecasts)."""
    v = tiny(days=1)
    v = v.assign(battery_kwh=("household", [10.0, 5.0, 10.0]),
                 battery_kw=("household", [5.0, 2.5, 5.0]),
                 battery_eff=("household", [0.95, 0.95, 0.95]))
    kw = dict(forecast="perfect", decision_hour=1, replan_minutes=None, progress=False)
    auto = ansen.simulate(v, model, **kw, **params)
    lp = ansen.simulate(v, model, plan_method="lp", **kw, **params)
    assert auto.attrs["plan_method"] == "lp on classes (exact LP)"
    assert auto.attrs["lp_batteries"] == 2 and lp.attrs["lp_batteries"] == 3
    assert lp.attrs["plan_method"] == "lp"
    assert auto.attrs["objective_sum"] == pytest.approx(lp.attrs["objective_sum"], rel=1e-7,
                                                        abs=1e-7)
    assert ansen.simulate(v, "M5", **kw).attrs["plan_method"] == "lp"  # household meters


def _one_battery(efficiency=0.95, **params):
    ctx = Context(n_steps=4, dt_h=1.0, capacity_kwh=np.array([10.0]), power_kw=np.array([5.0]),
                  efficiency=np.array([efficiency]), soc_min_kwh=np.zeros(1),
                  site_transformer=np.zeros(1, int), transformer_kva=np.array([100.0]))
    return ctx, get_model("M0", **params)


def _values(model, soc0, price=(0.1, 0.3, 0.0, 0.5)):
    price = np.array(price)[:, None]
    return model.parameters(HorizonInputs(net0=np.zeros((4, 1)), transformer0=np.zeros((4, 1)),
                                          mv0=np.zeros(4), import_price=price,
                                          export_price=price, soc0=np.array([soc0])))


def test_a_failed_plan_is_not_reused():
    """After an impossible plan (12 kWh in a 10 kWh battery that may not discharge) the same
    call fails again: no earlier plan is handed back as if it were its optimum."""
    ctx, model = _one_battery()
    runner = SeparableRunner(model, ctx)
    lower, upper = np.zeros(8), np.full(8, 5.0)
    runner.solve(_values(model, 5.0), lower, upper)
    no_discharge = upper.copy()
    no_discharge[4:] = 0.0
    for _ in range(2):
        with pytest.raises(ValueError, match="state-of-charge bounds"):
            runner.solve(_values(model, 12.0), lower, no_discharge)


def test_a_lossless_battery_does_not_charge_and_discharge_at_once():
    """Efficiency 1 and no wear: charging and discharging at once costs nothing, so the LP's
    optimum has plans with both; the programme picks the one that moves least energy."""
    ctx, model = _one_battery(1.0, wear_eur_per_kwh=0.0, epsilon_eur_per_kwh=0.0)
    x, obj = SeparableRunner(model, ctx).solve(_values(model, 7.5))
    charge, discharge = x.reshape(2, 4)
    assert (np.minimum(charge, discharge) == 0.0).all()
    np.testing.assert_allclose(charge - discharge, [2.5, -5.0, 5.0, -5.0], atol=1e-12)
    assert obj == pytest.approx(-4.875)


def test_a_new_constant_of_the_objective_keeps_the_plan_and_moves_its_cost():
    ctx, model = _one_battery()
    runner = SeparableRunner(model, ctx)
    values = _values(model, 5.0)
    x, obj = runner.solve(values)
    moved = dict(values, cost_of_forecast=np.asarray(values["cost_of_forecast"]) + 1.0)
    x2, obj2 = runner.solve(moved)
    assert runner.n_solves == 1 and runner.n_reused == 1
    np.testing.assert_array_equal(x2, x)
    assert obj2 == pytest.approx(obj + 1.0)


def test_auto_keeps_sites_for_exact_directions_and_for_subclasses():
    """Classes are exact for the LP, not for the MIP of directions="exact" (its binaries would
    act on classes), nor for a subclass of M3 that may add terms on single batteries."""
    from ansen.models.flatten import FlattenTransformer

    v = tiny(days=1).assign(battery_kwh=("household", [10.0, 5.0, 10.0]),
                            battery_kw=("household", [5.0, 2.5, 5.0]),
                            battery_eff=("household", [0.95, 0.95, 0.95]))
    run = ansen.simulate(v, "M3", forecast="perfect", decision_hour=1, replan_minutes=None,
                         directions="exact", progress=False)
    assert run.attrs["plan_method"] == "lp" and run.attrs["lp_batteries"] == 3

    class Custom(FlattenTransformer):
        pass

    assert FlattenTransformer().exact_classes and not Custom().exact_classes


def test_step_costs_refuses_other_than_batteries_by_steps():
    one = np.ones(4)
    with pytest.raises(ValueError, match=r"net0 must be \(batteries, steps\), got shape \(4,\)"):
        step_costs((0 * one, one), (0 * one, one), 0 * one, one, one, 0 * one, np.ones(1), 1.0)

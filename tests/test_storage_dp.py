"""The dynamic programme for batteries on their own meters reaches the LP's optimum."""

import numpy as np
import pytest

import ansen
from ansen.models import Context, HorizonInputs, LPRunner, get_model
from ansen.models.storage_dp import SeparableRunner, solve_storage, step_costs
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
    assert auto.attrs["plan_method"] == "lp on classes (exact)"
    assert auto.attrs["lp_batteries"] == 2 and lp.attrs["lp_batteries"] == 3
    assert lp.attrs["plan_method"] == "lp"
    assert auto.attrs["objective_sum"] == pytest.approx(lp.attrs["objective_sum"], rel=1e-7,
                                                        abs=1e-7)
    assert ansen.simulate(v, "M5", **kw).attrs["plan_method"] == "lp"  # household meters

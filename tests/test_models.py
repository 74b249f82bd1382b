"""Each LP model's optimum on small cases, solver agreement, the registry."""

import numpy as np
import pytest

from ansen.models import MODELS, Context, HorizonInputs, LPRunner, get_model
from tests.lp_reference import community_cost_optimum

RNG = np.random.default_rng(7)
N, B, K = 24, 3, 2


def _ctx(n=N):
    return Context(n_steps=n, dt_h=0.25, capacity_kwh=np.array([10.0, 5.0, 8.0]),
                   power_kw=np.array([5.0, 3.0, 4.0]), efficiency=np.array([0.95, 0.9, 1.0]),
                   soc_min_kwh=np.zeros(3), site_transformer=np.array([0, 0, 1]),
                   transformer_kva=np.array([100.0, 60.0]))


def _inputs(n=N, symmetric=False):
    """Random forecasts; per-site prices with export <= import (equal when ``symmetric``)."""
    price = RNG.normal(0.15, 0.12, (n, B))
    imp = price + 0.15
    return HorizonInputs(
        net0=RNG.normal(0.0, 2.0, (n, B)), transformer0=RNG.normal(0.0, 60.0, (n, K)),
        mv0=RNG.normal(0.0, 500.0, n), import_price=imp,
        export_price=imp if symmetric else price, soc0=np.array([5.0, 1.0, 8.0]))


def _end_value(ctx, inp, wear):
    """The default value of stored energy at the horizon end, by hand: eta x mean import
    price of the last 24 h (here the whole 6 h horizon) less wear, per site."""
    return np.maximum(0.0, ctx.efficiency * (inp.import_price.mean(axis=0) - wear))


def _solve(model_id, ctx, inputs, solver="highs", **params):
    model = get_model(model_id, **params)
    m = model.build(ctx)
    variables = [v[b, t] for v in (m.charge, m.discharge)
                 for b in range(ctx.n_sites) for t in range(ctx.n_steps)]
    runner = LPRunner(m, variables, solver)
    model.set_inputs(m, inputs)
    x, obj = runner.solve()
    x = x.reshape(2, ctx.n_sites, ctx.n_steps)
    return obj, x[0] - x[1], model, runner  # battery power (B, N), charge positive


def test_registry_knows_every_model_and_refuses_unknown():
    assert set(MODELS) == {"none", "M0", "M1", "M2", "M3", "M4", "M5", "M6", "M4+M5"}
    with pytest.raises(ValueError, match="unknown steering model 'M9'; known: none, M0"):
        get_model("M9")
    with pytest.raises(ValueError, match=r"M4: unknown parameter\(s\) \['shadow'\]"):
        get_model("M4", shadow=1.0)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("wear", [0.0, 0.05])
def test_m2_optimum_equals_independent_lp(symmetric, wear):
    ctx, inp = _ctx(), _inputs(symmetric=symmetric)
    obj, *_ = _solve("M2", ctx, inp, wear_eur_per_kwh=wear)
    ref, _ = community_cost_optimum(inp.net0, inp.import_price, inp.export_price,
                                    ctx.capacity_kwh, ctx.power_kw, ctx.efficiency, inp.soc0,
                                    ctx.dt_h, wear=wear, end_value=_end_value(ctx, inp, wear))
    assert obj == pytest.approx(ref, abs=1e-7)


def test_m2_community_meter_equals_independent_lp():
    ctx, inp = _ctx(), _inputs()
    imp, exp = inp.import_price[:, 0], inp.export_price[:, 0]
    inp.community_import_price, inp.community_export_price = imp, exp
    obj, *_ = _solve("M2", ctx, inp, meter="community")
    end = np.maximum(0.0, ctx.efficiency * (imp.mean() - ctx_wear()))
    ref, _ = community_cost_optimum(inp.net0, imp, exp, ctx.capacity_kwh, ctx.power_kw,
                                    ctx.efficiency, inp.soc0, ctx.dt_h, wear=ctx_wear(),
                                    end_value=end, meter="community")
    assert obj == pytest.approx(ref, abs=1e-7)


def ctx_wear():
    from ansen.models.cost import WEAR_EUR_PER_KWH

    return WEAR_EUR_PER_KWH


def test_m4_optimum_equals_independent_lp():
    ctx, inp = _ctx(), _inputs()
    obj, *_ = _solve("M4", ctx, inp, shadow_eur_per_kwh=0.5, threshold_pu=0.4,
                     end_value_eur_per_kwh=0.0)
    ref, _ = community_cost_optimum(
        inp.net0, inp.import_price, inp.export_price, ctx.capacity_kwh, ctx.power_kw,
        ctx.efficiency, inp.soc0, ctx.dt_h, wear=ctx_wear(), shadow=0.5,
        transformer0=inp.transformer0, theta=0.4 * ctx.transformer_kva,
        site_tr=ctx.site_transformer)
    assert obj == pytest.approx(ref, abs=1e-7)


def test_m4_with_zero_shadow_price_is_pure_cost_minimisation():
    ctx, inp = _ctx(), _inputs()
    m2, *_ = _solve("M2", ctx, inp)
    m4, *_ = _solve("M4", ctx, inp, shadow_eur_per_kwh=0.0)
    assert m4 == pytest.approx(m2, abs=1e-9)


@pytest.mark.parametrize("symmetric", [False, True])
def test_m0_equals_m2_with_household_meters(symmetric):
    """Billed per household meter, nothing couples the batteries: M2 plans what M0 plans."""
    ctx, inp = _ctx(), _inputs(symmetric=symmetric)
    m0, p0, *_ = _solve("M0", ctx, inp)
    m2, p2, *_ = _solve("M2", ctx, inp)
    assert m0 == pytest.approx(m2, abs=1e-9)


def test_community_meter_looks_cheaper_on_paper_without_net_metering():
    """One virtual meter nets one household's surplus against a neighbour's deficit at the
    retail price; with household meters the surplus earns only the feed-in price."""
    ctx, inp = _ctx(), _inputs()
    inp.net0[:, 0], inp.net0[:, 1] = -3.0, 3.0  # one exports while the other imports
    imp, exp = inp.import_price[:, 0], inp.export_price[:, 0]
    inp.import_price, inp.export_price = np.repeat(imp[:, None], B, 1), np.repeat(exp[:, None],
                                                                                   B, 1)
    inp.community_import_price, inp.community_export_price = imp, exp
    household, *_ = _solve("M2", ctx, inp)
    community, *_ = _solve("M2", ctx, inp, meter="community")
    assert household > community + 1.0


def test_m3_hand_derived_optimum():
    """One battery facing +4 / -4 kW around a flat target: discharge 4, then charge 4."""
    ctx = Context(n_steps=2, dt_h=1.0, capacity_kwh=np.array([10.0]),
                  power_kw=np.array([5.0]), efficiency=np.array([1.0]),
                  soc_min_kwh=np.zeros(1), site_transformer=np.array([0]),
                  transformer_kva=np.array([100.0]))
    inp = HorizonInputs(net0=np.zeros((2, 1)), transformer0=np.array([[4.0], [-4.0]]),
                        mv0=np.zeros(2), import_price=np.zeros(2), export_price=np.zeros(2),
                        soc0=np.array([5.0]))
    obj, power, *_ = _solve("M3", ctx, inp)
    assert power[0] == pytest.approx([-4.0, 4.0])
    assert obj == pytest.approx(1e-4 * 8.0)  # only the throughput cost is left


def test_m5_shaves_the_mv_peak():
    """A single MV peak within the fleet's reach is cut by the fleet's power."""
    ctx = _ctx()
    inp = _inputs()
    inp.mv0 = np.full(N, 400.0)
    inp.mv0[10] = 1000.0
    obj, power, *_ = _solve("M5", ctx, inp, mv_peak_eur_per_kw=10.0)
    fleet = power[:, 10].sum()
    assert fleet == pytest.approx(-ctx.power_kw.sum(), abs=1e-6)


@pytest.mark.parametrize("model_id", ["M0", "M2", "M3", "M4", "M5", "M6", "M4+M5"])
def test_glpk_and_highs_agree(model_id):
    ctx, inp = _ctx(), _inputs()
    highs, *_ = _solve(model_id, ctx, inp, "highs")
    glpk, *_ = _solve(model_id, ctx, inp, "glpk")
    assert glpk == pytest.approx(highs, rel=1e-6, abs=1e-6)


def test_highs_resolve_matches_a_fresh_model():
    """The persistent re-solve after new inputs gives the optimum of a model built anew."""
    ctx = _ctx()
    first, second = _inputs(), _inputs()
    _, _, model, runner = _solve("M4", ctx, first)
    model.set_inputs(runner.model, second)
    resolved = runner.solve()[1]
    fresh, *_ = _solve("M4", ctx, second)
    assert resolved == pytest.approx(fresh, abs=1e-8)


def test_export_price_above_import_price_is_refused():
    ctx, inp = _ctx(), _inputs()
    inp.export_price = inp.import_price + 0.01
    with pytest.raises(ValueError, match="unbounded"):
        _solve("M2", ctx, inp)

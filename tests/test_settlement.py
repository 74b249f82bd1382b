"""Settlement rules share the community's bills; nobody is worse off than M1 without it being said."""

import numpy as np
import pytest

import ansen
from ansen.settlement import community_cost, settle, virtual_meter_cost
from ansen.tariffs import Tariff, household_costs
from tests.conftest import tiny

TARIFFS = [Tariff(), Tariff.after_net_metering()]


@pytest.fixture(scope="module", params=TARIFFS, ids=["net metering", "2027"])
def runs(request):
    v = tiny(days=4)
    t = request.param
    return (t, ansen.simulate(v, "M2", tariff=t, progress=False),
            ansen.simulate(v, "M1", tariff=t, progress=False),
            ansen.simulate(v, "none", tariff=t, progress=False))


def test_community_cost_is_the_sum_of_the_household_bills(runs):
    t, m2, *_ = runs
    bills = household_costs(m2, t, fixed=False).iloc[:, [0, 2]].to_numpy().sum()
    assert community_cost(m2, t) == pytest.approx(bills)


@pytest.mark.parametrize("rule", ["individual", "pro_rata", "counterfactual"])
def test_shares_add_up_to_the_community_cost(runs, rule):
    t, m2, m1, _ = runs
    out = settle(m2, rule, tariff=t, counterfactual=m1)
    assert out["cost_eur"].sum() == pytest.approx(community_cost(m2, t))
    assert out["transfer_eur"].sum() == pytest.approx(0.0, abs=1e-9)
    assert out.attrs["tariff"] == t.label


def test_individual_rule_moves_no_money(runs):
    t, m2, *_ = runs
    out = settle(m2, "individual", tariff=t)
    np.testing.assert_allclose(out["transfer_eur"], 0.0)


def test_pro_rata_follows_consumption(runs):
    t, m2, *_ = runs
    out = settle(m2, "pro_rata", tariff=t)
    ratio = out["cost_eur"] / out["consumption_kwh"]
    np.testing.assert_allclose(ratio, ratio.iloc[0])


def test_counterfactual_rule_leaves_nobody_worse_off_when_the_community_gains(runs):
    t, m2, m1, none = runs
    out = settle(m1, "counterfactual", tariff=t, counterfactual=none)  # M1 beats no battery
    assert out.attrs["community_saving_eur"] > 0
    assert not out["worse_off"].any() and out.attrs["worse_off"] == 0
    assert (out["saving_eur"] >= -1e-9).all()


def test_a_community_that_loses_says_so(runs):
    t, m2, m1, none = runs
    out = settle(none, "counterfactual", tariff=t, counterfactual=m1)  # no battery loses vs M1
    assert out.attrs["community_saving_eur"] < 0
    assert out["worse_off"].all() and out.attrs["worse_off"] == len(out)


def test_virtual_meter_is_not_what_households_pay_without_net_metering():
    """Without net metering, one household's export is not its neighbour's import at the
    supplier: the sum of the bills is higher than one virtual meter's bill."""
    t = Tariff.after_net_metering()
    v = tiny(days=2)
    run = ansen.simulate(v, "none", tariff=t, progress=False)
    assert community_cost(run, t) > virtual_meter_cost(run, t) + 0.01


def test_unknown_rule_and_missing_counterfactual(runs):
    _, m2, *_ = runs
    with pytest.raises(ValueError, match="unknown settlement rule 'fair'"):
        settle(m2, "fair")
    with pytest.raises(ValueError, match="needs a counterfactual run"):
        settle(m2, "counterfactual")


def test_a_run_steered_under_the_2027_tariff_is_not_billed_under_net_metering():
    """settle, community_cost, virtual_meter_cost and household_costs refuse the default
    tariff for a run simulated under another (they billed it under net metering in silence,
    as compare did before it refused)."""
    v = tiny(days=2)
    late = Tariff.after_net_metering()
    r = ansen.simulate(v, "M0", progress=False, tariff=late)
    for bill in (lambda: settle(r, "pro_rata"), lambda: community_cost(r),
                 lambda: virtual_meter_cost(r), lambda: household_costs(r)):
        with pytest.raises(ValueError, match=r"the run \(M0\) was simulated under another tariff"):
            bill()
    assert settle(r, "pro_rata", tariff=late).attrs["tariff"] == "no net metering"

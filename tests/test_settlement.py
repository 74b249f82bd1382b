"""Settlement rules share the community cost; the counterfactual rule leaves nobody worse off."""

import numpy as np
import pytest

import ansen
from ansen.settlement import community_cost, settle
from ansen.tariffs import Tariff
from tests.conftest import tiny

TARIFF = Tariff.after_net_metering()


@pytest.fixture(scope="module")
def runs():
    v = tiny(days=4)
    return (ansen.simulate(v, "M2", tariff=TARIFF, progress=False),
            ansen.simulate(v, "M1", tariff=TARIFF, progress=False))


@pytest.mark.parametrize("rule", ["pro_rata", "counterfactual"])
def test_shares_add_up_to_the_community_cost(runs, rule):
    m2, m1 = runs
    out = settle(m2, rule, tariff=TARIFF, counterfactual=m1)
    assert out["cost_eur"].sum() == pytest.approx(community_cost(m2, TARIFF))


def test_pro_rata_follows_consumption(runs):
    out = settle(runs[0], "pro_rata", tariff=TARIFF)
    ratio = out["cost_eur"] / out["consumption_kwh"]
    np.testing.assert_allclose(ratio, ratio.iloc[0])


def test_counterfactual_rule_leaves_nobody_worse_off(runs):
    m2, m1 = runs
    out = settle(m2, "counterfactual", tariff=TARIFF, counterfactual=m1)
    saving = out["counterfactual_eur"].sum() - out["cost_eur"].sum()
    assert saving >= -1e-9
    assert (out["saving_eur"] >= -1e-9).all()


def test_unknown_rule_and_missing_counterfactual(runs):
    with pytest.raises(ValueError, match="unknown settlement rule 'fair'"):
        settle(runs[0], "fair")
    with pytest.raises(ValueError, match="needs a counterfactual run"):
        settle(runs[0], "counterfactual")

"""Dutch dynamic tariff: prices and household costs by hand."""

import numpy as np
import pandas as pd
import pytest

from ansen.data import from_arrays
from ansen.tariffs import Tariff, household_costs


def test_import_price_by_hand():
    t = Tariff()
    # (0.10 + 0.02 + 0.10154) * 1.21 in 2025
    assert t.import_price(np.array([0.10]), np.array([2025]))[0] == pytest.approx(0.2680634)
    assert t.import_price(np.array([0.10]), np.array([2024]))[0] == pytest.approx(
        (0.10 + 0.02 + 0.1088) * 1.21)


def test_net_metering_and_after():
    p, y = np.array([0.05, -0.02]), np.array([2025, 2025])
    t = Tariff()
    np.testing.assert_array_equal(t.export_price(p, y), t.import_price(p, y))
    after = Tariff.after_net_metering()
    np.testing.assert_allclose(after.export_price(p, y), p)
    assert (after.export_price(p, y) < after.import_price(p, y)).all()


def test_unknown_year():
    with pytest.raises(ValueError, match=r"no energy tax for year\(s\) \[2030\]"):
        Tariff().import_price(np.array([0.1]), np.array([2030]))


def test_household_cost_of_a_hand_made_month():
    """One household imports 1 kW all of June 2025 at 0.10 EUR/kWh day-ahead."""
    t = pd.date_range("2025-06-01", "2025-07-01", freq="15min", inclusive="left",
                      tz="Europe/Amsterdam")
    v = from_arrays(t, np.ones((len(t), 1)), np.zeros((len(t), 1)),
                    household_transformer=["T1"], transformer_kva=[100.0],
                    price_eur_per_kwh=np.full(len(t), 0.10))
    c = household_costs(v, Tariff(), fixed=False)
    assert list(c.index) == ["2025-06"]
    assert c.iloc[0, 0] == pytest.approx(720 * 0.2680634)
    fixed = household_costs(v, Tariff()).iloc[0, 0] - c.iloc[0, 0]
    assert fixed == pytest.approx(6.0 + 35.5 - 524.95 * 1.21 / 12)

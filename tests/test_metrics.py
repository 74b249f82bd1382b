"""Metrics: definitions on hand-made runs, and compare() on real runs."""

import numpy as np
import pytest

import ansen
import ansen.data
from ansen.metrics import compare, deferral_years, weekly_mv_peak_reduction
from tests.conftest import tiny


def test_deferral_years_by_hand():
    assert deferral_years(5.0, 0.01) == pytest.approx(5.155, abs=1e-3)
    assert deferral_years(5.0, 0.005) == pytest.approx(10.28, abs=1e-2)
    assert deferral_years(0.0) == 0.0 and deferral_years(-3.0) == 0.0


def test_weekly_peak_reduction_by_hand():
    v = tiny(days=14, start="2025-06-02")  # two whole local weeks (Monday)
    base = ansen.simulate(v, "none", progress=False)
    run = base.copy(deep=True)
    mv = base["mv_kw"].values.copy()
    first_week = slice(0, 7 * 96)
    peak = np.abs(mv[first_week]).max()
    mv[first_week] = np.clip(mv[first_week], -0.9 * peak, 0.9 * peak)
    run["mv_kw"] = ("time", mv)
    w = weekly_mv_peak_reduction(run, base)
    assert len(w) >= 2
    assert w.iloc[0] == pytest.approx(10.0)
    assert (w.iloc[1:] == 0).all()


def test_compare_gives_one_row_of_everything():
    v = tiny(days=8)
    base = ansen.simulate(v, "M1", progress=False)
    row = compare(ansen.simulate(v, "M2", progress=False), base)
    assert row.shape[0] == 1 and row.index[0] == "M2"
    for col in ("mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
                "transformer_variance_reduction_pct", "transformer_import_peak_kw",
                "transformer_export_peak_kw", "lv_feed_in_kwh", "transformer_extreme_steps",
                "saving_collective_pct", "saving_eur_per_household_month",
                "self_consumption_pct", "self_sufficiency_pct", "throughput_kwh",
                "equivalent_cycles", "deferral_years_mv", "deferral_years_transformer"):
        assert col in row.columns, col
    same = compare(base, base)
    assert same["mv_peak_reduction_mean_pct"].iloc[0] == 0.0
    assert same["saving_eur_per_household_month"].iloc[0] == 0.0


def test_compare_refuses_different_periods():
    v = tiny(days=4)
    a = ansen.simulate(v, "M1", progress=False)
    b = ansen.simulate(v, "M1", end="2025-06-04", progress=False)
    with pytest.raises(ValueError, match="different periods"):
        compare(a, b)


@pytest.mark.slow
def test_fresh_mv_data_beat_week_old_data_on_the_shipped_village():
    """The report: M5 with week-old data cut MV peaks by less than a third as much."""
    v = ansen.data.load_default()
    kw = {"start": "2025-05-05", "end": "2025-06-02", "progress": False}
    base = ansen.simulate(v, "M1", **kw)
    fresh = compare(ansen.simulate(v, "M5", forecast_lag_days=1, **kw), base)
    stale = compare(ansen.simulate(v, "M5", forecast_lag_days=7, **kw), base)
    assert (fresh["mv_peak_reduction_mean_pct"].iloc[0]
            >= stale["mv_peak_reduction_mean_pct"].iloc[0])

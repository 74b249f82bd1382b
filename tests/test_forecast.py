"""Forecasts only use data known at the decision."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansen.forecast import Forecaster

D = 96


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["persistence", "profile"]), st.integers(1, 8),
       st.integers(40 * D, 60 * D), st.integers(1, 3 * D))
def test_no_peeking(kind, lag, t0, n):
    src = Forecaster(kind, lag).source_steps(t0, n, 100 * D)
    cutoff = t0 - (lag - 1) * D
    assert (src < cutoff).all()
    assert ((np.atleast_2d(src.T).T - (t0 + np.arange(n))[:, None]) % D == 0).all()


def test_perfect_is_the_actual_series():
    x = np.arange(10 * D, dtype=float)
    np.testing.assert_array_equal(Forecaster("perfect")(x, 3 * D, 140), x[3 * D:3 * D + 140])


def test_persistence_uses_the_latest_known_day():
    x = np.arange(20 * D, dtype=float)
    f = Forecaster("persistence", 1)(x, 10 * D + 52, 140)  # decision at 13:00 of day 10
    assert f[0] == x[9 * D + 52]  # 13:00 yesterday
    assert f[44] == x[9 * D + 96]  # 00:00 tomorrow from 00:00 today
    assert f[139] == x[9 * D + 95]  # 23:45 tomorrow from 23:45 yesterday


def test_week_old_data():
    x = np.arange(30 * D, dtype=float)
    f = Forecaster("persistence", 7)(x, 20 * D, 96)
    np.testing.assert_array_equal(f, x[13 * D:14 * D])


def test_profile_is_mean_of_same_weekday():
    x = np.zeros(60 * D)
    for w in range(1, 5):
        x[(50 - 7 * w) * D:(51 - 7 * w) * D] = w
    f = Forecaster("profile", 1, weeks=4)(x, 50 * D, D)
    np.testing.assert_allclose(f, 2.5)


def test_end_of_data_repeats_the_last_day():
    x = np.arange(5 * D, dtype=float)
    f = Forecaster("perfect")(x, 4 * D, 2 * D)
    np.testing.assert_array_equal(f[D:], x[4 * D:])


def test_unknown_forecast():
    with pytest.raises(ValueError, match="unknown forecast 'magic'"):
        Forecaster("magic")

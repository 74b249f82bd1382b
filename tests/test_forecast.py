"""Forecasts only use data known at the decision."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansen.forecast import Forecaster

D = 96


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["persistence", "profile"]), st.integers(0, 8 * D),
       st.integers(40 * D, 60 * D), st.integers(1, 3 * D), st.sampled_from([24, 96, 288]))
def test_no_forecast_reads_past_its_cutoff(kind, lag, t0, n, spd):
    """Changing the data at and after the cut-off changes no forecast (any step length)."""
    rng = np.random.default_rng(t0)
    x = rng.normal(size=(70 * spd, 2))
    scale = spd / D
    t0, lag = int(t0 * scale), int(lag * scale)
    cutoff = t0 - lag
    f = Forecaster(kind, steps_per_day=spd)
    before = f(x, t0, n, cutoff)
    y = x.copy()
    y[cutoff:] = rng.normal(size=y[cutoff:].shape)
    np.testing.assert_array_equal(f(y, t0, n, cutoff), before)
    src = f.source_steps(t0, n, cutoff)
    assert (src < cutoff).all()
    assert ((np.atleast_2d(src.T).T - (t0 + np.arange(n))[:, None]) % spd == 0).all()


def test_known_steps_are_returned_as_measured():
    x = np.arange(20 * D, dtype=float)
    f = Forecaster("persistence")(x, 10 * D, 2 * D, 10 * D + 40)
    np.testing.assert_array_equal(f[:40], x[10 * D:10 * D + 40])  # before the cut-off: known
    assert f[40] == x[9 * D + 40]


def test_perfect_is_the_actual_series():
    x = np.arange(10 * D, dtype=float)
    np.testing.assert_array_equal(Forecaster("perfect")(x, 3 * D, 140, 0), x[3 * D:3 * D + 140])


def test_persistence_uses_the_latest_known_day():
    x = np.arange(20 * D, dtype=float)
    t0 = 10 * D + 52  # decision at 13:00 of day 10, real-time data
    f = Forecaster("persistence")(x, t0, 140, t0)
    assert f[0] == x[9 * D + 52]  # 13:00 yesterday
    assert f[44] == x[9 * D + 96]  # 00:00 tomorrow from 00:00 today
    assert f[139] == x[9 * D + 95]  # 23:45 tomorrow from 23:45 yesterday


def test_week_old_data():
    x = np.arange(30 * D, dtype=float)
    f = Forecaster("persistence")(x, 20 * D, 96, 20 * D - 6 * D)  # newest data 6 days old
    np.testing.assert_array_equal(f, x[13 * D:14 * D])


def test_profile_is_mean_of_same_weekday():
    x = np.zeros(60 * D)
    for w in range(1, 5):
        x[(50 - 7 * w) * D:(51 - 7 * w) * D] = w
    f = Forecaster("profile", weeks=4)(x, 50 * D, D, 50 * D)
    np.testing.assert_allclose(f, 2.5)


def test_warm_up_at_the_start_of_the_data_is_flagged():
    f = Forecaster("persistence")
    assert f.reads_past(0, D, 0)
    assert not f.reads_past(2 * D, D, 2 * D)


def test_unknown_forecast():
    with pytest.raises(ValueError, match="unknown forecast 'magic'"):
        Forecaster("magic")


def test_a_run_at_the_start_of_the_data_warns_and_counts_its_warm_up_decisions():
    """The first decisions of a run that starts with the data see the future: a warning and
    attrs['warmup_decisions'] say how many; a run that starts later is silent."""
    import warnings

    import ansen
    from tests.conftest import tiny

    v = tiny(days=5)
    with pytest.warns(UserWarning, match=r"simulate M2: (\d+) of (\d+) decisions .* forecast "
                                         r"with data from after their cut-off"):
        first = ansen.simulate(v, "M2", progress=False)
    assert 0 < first.attrs["warmup_decisions"] < first.attrs["decisions"]
    start = v.indexes["time"][0].tz_localize("UTC").tz_convert("Europe/Amsterdam")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="simulate .* cut-off")
        later = ansen.simulate(v, "M2", str((start + np.timedelta64(3, "D")).date()),
                               progress=False)
    assert later.attrs["warmup_decisions"] == 0
    assert ansen.simulate(v, "M2", progress=False, forecast="perfect").attrs[
        "warmup_decisions"] == 0


def test_a_profile_that_reaches_before_the_data_is_counted_and_said():
    """A four-week profile on a run a few days after the data's start reads no future but
    pads its history with the data's first day: counted and warned, with the advice that no
    start avoids it when the data are shorter than the history; persistence is silent."""
    import warnings

    import ansen
    from tests.conftest import tiny

    v = tiny(days=6)
    with pytest.warns(UserWarning, match=r"simulate M2: (\d+) of \1 decisions forecast with a "
                                         r"history \(28 day\(s\) before the cut-off\) that "
                                         r"reaches before the data's start .* no start avoids"):
        run = ansen.simulate(v, "M2", "2025-06-05", forecast="profile", progress=False)
    assert run.attrs["padded_decisions"] == run.attrs["decisions"] > 0
    # M6's day messages are forecasts too: counted with the plans, and the warning's total
    with pytest.warns(UserWarning, match=r"simulate M6: (\d+) of \1 decisions forecast with"):
        m6 = ansen.simulate(v, "M6", "2025-06-05", forecast="profile", progress=False)
    assert m6.attrs["padded_decisions"] == m6.attrs["decisions"] + m6.attrs["messages"]
    assert m6.attrs["messages"] > 0
    # a week-old grid measurement: not even a day's history fits in 3 days of data
    with pytest.warns(UserWarning, match=r"no start avoids it, as they are shorter than even "
                                         r"1 day of history \(persistence\) plus the data age "
                                         r"\(7 d\)"):
        ansen.simulate(tiny(days=3), "M2", "2025-06-03", data_lag="7D", progress=False)
    assert Forecaster("profile", 4).reads_before_data(10, 4, 8)
    assert not Forecaster("profile", 4).reads_before_data(7 * 4 * 4 + 4, 4, 7 * 4 * 4 + 4)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="simulate .* before the data")
        later = ansen.simulate(v, "M2", "2025-06-05", progress=False)
    assert later.attrs["padded_decisions"] == 0


def test_m6_messages_and_the_weather_fit_count_as_warm_up_too():
    """M6's code red/green messages are forecasts as well (counted even without batteries);
    the weather forecast's PV fit on the first days of the data is announced."""
    import ansen
    from tests.conftest import tiny

    v = tiny(days=5)
    no_batteries = v.assign(battery_kwh=v["battery_kwh"] * 0.0, battery_kw=v["battery_kw"] * 0.0)
    with pytest.warns(UserWarning, match=r"simulate M6: \d+ of \d+ decisions"):
        m6 = ansen.simulate(no_batteries, "M6", progress=False)
    assert m6.attrs["warmup_decisions"] > 0
    with pytest.warns(UserWarning, match="the weather forecast fits its PV shares on the first "
                                         r"28 days of the data \(all of them if fewer\), "
                                         "which reach past the run's start"):
        ansen.simulate(v, "M2", progress=False, forecast="weather")

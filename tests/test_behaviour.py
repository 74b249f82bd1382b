"""Hand-checkable behaviour of M3, M6, M4+M5, the real-time layer and compare()."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from ansen.controller import apply_setpoints
from ansen.metrics import compare
from ansen.models import Context, HorizonInputs, LPRunner, get_model
from ansen.models.behaviour import code_slots, shift_load


def _ctx(n, power=5.0, capacity=10.0, kva=100.0, dt=1.0):
    return Context(n_steps=n, dt_h=dt, capacity_kwh=np.array([capacity]),
                   power_kw=np.array([power]), efficiency=np.array([1.0]),
                   soc_min_kwh=np.zeros(1), site_transformer=np.array([0]),
                   transformer_kva=np.array([kva]))


def _solve(model, ctx, inputs, **params):
    steer = get_model(model, **params)
    m = steer.build(ctx)
    runner = LPRunner(m, [v[0, t] for v in (m.charge, m.discharge) for t in range(ctx.n_steps)])
    x, obj = runner.solve(steer.parameters(inputs))
    x = x.reshape(2, ctx.n_steps)
    return obj, x[0] - x[1]


def _inputs(n, transformer0=None, mv0=None, price=None, soc0=5.0):
    return HorizonInputs(net0=np.zeros((n, 1)),
                         transformer0=np.zeros((n, 1)) if transformer0 is None else
                         np.asarray(transformer0, float).reshape(n, 1),
                         mv0=np.zeros(n) if mv0 is None else np.asarray(mv0, float),
                         import_price=np.full(n, 0.2) if price is None else np.asarray(price),
                         export_price=np.full(n, 0.19) if price is None else np.asarray(price)
                         - 0.01, soc0=np.array([soc0]))


def test_m3_penalty_grows_by_segment_for_a_deviation_wider_than_one_segment():
    """No battery power: a deviation of 0.4 x 100 kVA crosses two segment ends (0.15 each).

    Penalty per step = 15 x 1 + 15 x 3 + 10 x 5 = 110 (the slopes of x^2 between segment
    ends), two steps (+40, -40 around the mean 0) and the peak weight 4 h x 40 kW:
    2 x 110 + 160 = 380. Plain L1 would give 80 + 160 = 240.
    """
    ctx = _ctx(2, power=0.0)
    obj, _ = _solve("M3", ctx, _inputs(2, transformer0=[40.0, -40.0]))
    assert obj == pytest.approx(380.0)


def test_m3_cuts_the_widest_deviation_first():
    """A battery that can move 10 kWh: steps deviate +40 and +10 above a target of 0 (a third
    step at -50). Convex segments make cutting the +40 step worth more than the +10 one."""
    ctx = _ctx(3, power=10.0, capacity=10.0)
    _, p = _solve("M3", ctx, _inputs(3, transformer0=[40.0, 10.0, -50.0], soc0=10.0),
                  peak_weight=0.0)
    assert p[0] == pytest.approx(-10.0) and p[1] == pytest.approx(0.0, abs=1e-9)


def test_m6_moves_load_from_the_highest_forecast_slots_to_the_lowest():
    forecast = np.array([1.0, 5.0, 3.0, 0.0, 4.0, 2.0])
    red, green = code_slots(forecast, 2, 2)
    assert np.flatnonzero(red).tolist() == [1, 4]  # the two highest: 5 and 4
    assert np.flatnonzero(green).tolist() == [0, 3]  # the two lowest: 1 and 0
    load = np.full((6, 1), 2.0)
    flexible = np.full((6, 1), 1.0)
    out = shift_load(load, flexible, red, green, response=0.5)
    np.testing.assert_allclose(out[:, 0], [2.5, 1.5, 2.0, 2.5, 1.5, 2.0])
    assert out.sum() == pytest.approx(load.sum())


def test_two_layers_prevent_the_rebound_of_regional_support():
    """M5 discharges into an MV peak (step 1) and recharges where it is cheapest (step 3),
    where the local transformer is already at 0.7 x its rating: a local rebound. M4+M5 keeps
    the local limit and recharges at step 2 instead."""
    n = 4
    price = np.array([0.30, 0.30, 0.20, 0.10])
    tr0 = [50.0, 50.0, 50.0, 69.0]  # threshold 0.7 x 100 kVA = 70 kW
    mv0 = [500.0, 900.0, 500.0, 500.0]
    inp = _inputs(n, transformer0=tr0, mv0=mv0, price=price, soc0=5.0)
    kw = {"mv_threshold_kw": 600.0, "end_value_eur_per_kwh": 0.25, "wear_eur_per_kwh": 0.0}
    _, m5 = _solve("M5", _ctx(n), inp, **kw)
    _, both = _solve("M4+M5", _ctx(n), inp, shadow_eur_per_kwh=1.0, threshold_pu=0.7, **kw)
    assert m5[1] == pytest.approx(-5.0) and both[1] == pytest.approx(-5.0)  # regional service
    assert tr0[3] + m5[3] > 70.0 + 1.0  # M5 alone recharges into the local limit
    assert tr0[3] + both[3] <= 70.0 + 1e-6  # the base layer holds it
    assert both[2] > 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=30), st.floats(0.3, 0.7),
       st.floats(0.8, 1.0))
def test_feasible_set_points_pass_the_real_time_layer_unchanged(shares, soc0, eff):
    """Set points built to stay within power and state-of-charge limits come out as they go in
    (a layer that outputs 0, or clips more than it must, fails here)."""
    cap, pmax, dt = np.array([10.0]), np.array([5.0]), 0.25
    soc, plan = soc0 * 10.0, []
    for s in shares:  # a feasible plan: each step within what the battery can still do
        room_in = (10.0 - soc) / (eff * dt)
        room_out = soc * eff / dt
        p = min(s * 5.0, room_in) if s > 0 else max(s * 5.0, -room_out)
        plan.append(p)
        soc += p * eff * dt if p > 0 else p / eff * dt
    out, _ = apply_setpoints(np.array(plan)[:, None], np.array([soc0 * 10.0]), cap, pmax,
                             np.array([eff]), np.zeros(1), dt)
    np.testing.assert_allclose(out[:, 0], plan, atol=1e-9)


def _run(model, battery, mv, tr, *, load=1.0, pv=0.0, price=0.1, days=7):
    """A hand-made run of one household with a 10 kWh battery, hourly steps, one transformer."""
    t = pd.date_range("2025-06-02", periods=24 * days, freq="1h")  # naive UTC, Monday 02:00
    n = len(t)
    battery = np.asarray(battery, float).reshape(n, 1)
    load = np.full((n, 1), load) if np.isscalar(load) else np.asarray(load, float).reshape(n, 1)
    pv = np.full((n, 1), pv) if np.isscalar(pv) else np.asarray(pv, float).reshape(n, 1)
    net = load - pv + battery
    soc = 5.0 + np.cumsum(battery[:, 0])[:, None]
    return xr.Dataset(
        {"battery_charge_kw": (("time", "household"), battery),
         "soc_kwh": (("time", "household"), soc),
         "load_kw": (("time", "household"), load), "pv_kw": (("time", "household"), pv),
         "net_kw": (("time", "household"), net),
         "transformer_kw": (("time", "transformer"), np.asarray(tr, float).reshape(n, 1)),
         "mv_kw": (("time",), np.asarray(mv, float)),
         "price_eur_per_kwh": (("time",), np.full(n, price)),
         "annual_net_kwh": (("year", "household"), np.array([[1000.0]])),
         "battery_kwh": (("household",), [10.0]), "battery_kw": (("household",), [5.0]),
         "battery_eff": (("household",), [1.0]),
         "household_transformer": (("household",), ["T1"]),
         "transformer_kva": (("transformer",), [100.0])},
        coords={"time": t, "household": ["H1"], "transformer": ["T1"], "year": [2025]},
        attrs={"model": model, "timezone": "UTC", "start": str(t[0]), "end": str(t[-1]),
               "params": '{"model": {"wear_eur_per_kwh": 0.02}}'})


def test_compare_by_hand():
    """Every measure of compare() on a week built by hand (hourly steps, UTC).

    Baseline: MV 100 kW with a 200 kW peak on day 1, transformer 10 kW with -30 kW feed-in for
    3 hours, load 1 kW, no battery. Run: the battery discharges 1 kW for 5 hours (cutting the
    MV peak to 150 and filling the feed-in hours) and charges 1 kW for 5 hours at night.
    """
    n = 24 * 7
    mv_b = np.full(n, 100.0)
    mv_b[10] = 200.0
    tr_b = np.full(n, 10.0)
    tr_b[[12, 13, 14]] = -30.0
    battery = np.zeros(n)
    battery[[10, 11, 12, 13, 14]] = -1.0
    battery[[30, 31, 32, 33, 34]] = 1.0
    mv_r = mv_b + battery
    mv_r[10] = 150.0  # the rest of the fleet's work
    tr_r = tr_b + battery
    base = _run("none", np.zeros(n), mv_b, tr_b)
    run = _run("X", battery, mv_r, tr_r)
    row = compare(run, base, quantile=0.99).iloc[0]
    # MV: week 1 (Mon 2 June..) holds the peak: 1 - 150/200 = 25 %; week 2 (from Mon 9 June,
    # 2 days) is too short to count
    assert row["mv_peak_reduction_mean_pct"] == pytest.approx(25.0)
    assert row["mv_peak_reduction_weeks"] == 1
    # variance of the transformer load, by numpy
    assert row["transformer_variance_reduction_pct"] == pytest.approx(
        100 * (1 - tr_r.var() / tr_b.var()))
    assert row["transformer_export_peak_kw"] == pytest.approx(31.0)  # -30 - 1 at steps 12-14
    assert row["baseline_transformer_export_peak_kw"] == pytest.approx(30.0)
    assert row["transformer_import_peak_kw"] == pytest.approx(11.0)  # charging at night
    assert row["lv_feed_in_kwh"] == pytest.approx(3 * 31.0)
    assert row["baseline_lv_feed_in_kwh"] == pytest.approx(3 * 30.0)
    # extreme peaks: |L| above the baseline's 99 % quantile of |L|
    thr = np.quantile(np.abs(tr_b), 0.99)
    assert row["transformer_extreme_steps"] == int((np.abs(tr_r) > thr).sum())
    assert row["mv_extreme_steps"] == int((np.abs(mv_r) > np.quantile(mv_b, 0.99)).sum())
    # money: flat 0.10 EUR/kWh day-ahead, a net importer (annual position +1000 kWh), 2025:
    # the run moves 5 kWh from day 1 to day 2 at one price: its bill is the same
    assert row["saving_eur_per_household_month"] == pytest.approx(0.0, abs=1e-9)
    # battery: 5 kWh discharged of 10 kWh capacity: half a cycle; wear 0.02 x 10 kWh moved
    assert row["equivalent_full_cycles"] == pytest.approx(0.5)
    assert row["throughput_kwh"] == pytest.approx(5.0)
    assert row["wear_eur"] == pytest.approx(0.02 * 10.0)
    # self-consumption: no PV, so undefined; self-sufficiency: 5 of 168 kWh covered on site
    assert np.isnan(row["self_consumption_pct"])
    assert row["self_sufficiency_pct"] == pytest.approx(100 * 5.0 / n)


def test_saving_with_exports_by_hand():
    """A household exports 2 kW of PV for 4 hours a day (net exporter, no energy tax at the
    margin): a battery that stores 2 kWh of it and uses it in the evening saves the difference
    between the supply prices of an imported and an exported kWh: (0.10+0.02)x1.21 - 0.10x1.21."""
    days, n = 7, 24 * 7
    hour = np.arange(n) % 24
    pv = np.where((hour >= 10) & (hour < 14), 3.0, 0.0)
    battery = np.zeros(n)
    battery[(hour == 12)] = 1.0
    battery[(hour == 13)] = 1.0
    battery[(hour == 20) | (hour == 21)] = -1.0  # the 1 kW evening load, two hours
    base = _run("none", np.zeros(n), np.zeros(n), np.zeros(n), pv=pv)
    run = _run("X", battery, np.zeros(n), np.zeros(n), pv=pv)
    for r in (base, run):
        r["annual_net_kwh"][:] = -500.0  # a net exporter
    row = compare(run, base).iloc[0]
    months = n / (365.25 * 24 / 12)
    per_day = 2.0 * ((0.10 + 0.02) * 1.21 - 0.10 * 1.21)
    assert row["saving_eur_per_household_month"] == pytest.approx(per_day * days / months)


def test_m6_in_a_run_moves_load_out_of_the_highest_transformer_hours_into_the_lowest():
    """Through ``simulate``: with perfect forecasts, code red falls on each day's hours of highest
    village transformer load without batteries and code green on the lowest; the responding
    battery households' load falls in the first and rises in the second, the day's energy kept."""
    import ansen
    from tests.conftest import tiny

    v = tiny(days=4)
    run = ansen.simulate(v, "M6", "2025-06-03", "2025-06-05", forecast="perfect",
                         response=0.5, red_hours=3.0, green_hours=3.0, progress=False)
    actual = v["load_kw"].sel(time=run["time"])
    delta = (run["load_kw"] - actual).to_series().unstack()  # time x household, kW
    base = (v["load_kw"] - v["pv_kw"]).sel(time=run["time"]).to_pandas()
    total = base.sum(axis=1) + v["transformer_rest_kw"].sel(time=run["time"]).to_pandas().sum(
        axis=1)
    sites = [str(h) for h in v["household"].values[v["battery_kwh"].values > 0]]  # scope
    local = pd.DatetimeIndex(total.index)
    local = (local.tz_localize("UTC") if local.tz is None else local).tz_convert(
        v.attrs.get("timezone", "Europe/Amsterdam"))
    days = list(total.groupby(local.normalize()))
    assert len(days) == 2 and all(len(day) == 96 for _, day in days)
    for _, day in days:
        order = day.sort_values().index
        lowest, highest = order[:12], order[-12:]
        shift = delta.loc[day.index, sites].sum(axis=1)
        assert shift.loc[highest].mean() < -0.01, "code red must take load out of the peak"
        assert shift.loc[lowest].mean() > 0.01, "code green must take it in"
        assert abs(shift.sum()) < 1e-9
        assert (delta.loc[day.index].drop(columns=sites).abs().to_numpy() < 1e-12).all()


def test_message_slots_must_be_whole_steps_and_fit_a_day():
    """red_hours 2.5 on hourly data was rounded to 2 in silence; 24 red and 24 green hours
    left no red slot (green wins), so M6 equalled M4 without a word."""
    import ansen
    from tests.conftest import tiny

    hourly = tiny(minutes=60)
    with pytest.raises(ValueError, match=r"M6: red_hours must be a whole number of steps of "
                                         r"the data's step \(60 min\), got 2.5 h"):
        ansen.simulate(hourly, "M6", red_hours=2.5, progress=False)
    with pytest.raises(ValueError, match=r"red_hours \+ green_hours must be at most 24"):
        ansen.simulate(hourly, "M6", red_hours=24, green_hours=24, progress=False)

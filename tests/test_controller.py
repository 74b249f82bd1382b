"""The controller: what it knows when, when it plans, and that it acts on what it learns."""

import json

import numpy as np
import pandas as pd
import pytest

import ansen
from ansen.controller import Information, Planner, Prices
from ansen.data import from_arrays, local_time
from ansen.metrics import run_label, transformer_peaks
from ansen.models import Context, get_model
from ansen.simulator import _schedule
from ansen.tariffs import Tariff
from tests.conftest import tiny


def test_prices_are_known_from_their_publication_and_grid_data_after_their_age():
    t = pd.date_range("2025-06-01 22:00", periods=4 * 96, freq="15min")  # UTC: 00:00 CEST
    known = Information(data_lag="1D").bind(t)
    local = t.tz_localize("UTC").tz_convert("Europe/Amsterdam")
    at_1230 = int(np.flatnonzero((local.day == 3) & (local.hour == 12) & (local.minute == 30))[0])
    at_1245 = at_1230 + 1
    end_of_3rd = int(np.flatnonzero((local.day == 4) & (local.hour == 0) & (local.minute == 0))[0])
    assert known.price_end(at_1230) == end_of_3rd  # the 4th's prices are not out yet
    assert known.price_end(at_1245) == end_of_3rd + 96  # published at 12:45 CEST
    assert known.grid_cutoff(at_1230) == at_1230 - 96 + 1  # the step a day ago is the newest
    assert known.own_cutoff(at_1230) == at_1230
    assert Information().bind(t).grid_cutoff(at_1230) == at_1230  # real time


def test_windows_open_at_the_decision_and_replans_fill_them():
    v = tiny(days=2)  # starts at 02:00 local (00:00 UTC)
    local = local_time(v)
    known = Information().bind(v.indexes["time"])
    points = _schedule(local, known, 0, len(local), 13, 60, None)
    windows = sorted({ws for _, ws, _ in points})
    assert [local[w].strftime("%d %H:%M") for w in windows] == ["02 02:00", "02 13:00",
                                                                "03 13:00"]
    assert len(points) == 48  # a decision every hour
    for t, ws, we in points:
        assert ws <= t < we <= len(local)
        assert known.price_end(ws) >= we  # no plan reaches past the known prices
    # a decision hour before the prices' publication: the window reopens when they are out
    early = _schedule(local, known, 0, len(local), 10, 60, None)
    starts = sorted({local[ws].strftime("%d %H:%M") for _, ws, _ in early})
    assert starts == ["02 02:00", "02 10:00", "02 13:00", "03 10:00", "03 13:00"]


class _Known:
    """Perfect information over given arrays (a test double for the forecasts)."""

    def __init__(self, net, transformer, mv, t):
        self.net, self.transformer, self.mv = net, transformer, mv
        self.known = Information().bind(t)
        self.warmup = 0

    def horizon(self, t0, n, now):
        sl = slice(t0, t0 + n)
        return self.net[sl], self.transformer[sl], self.mv[sl]


def test_a_replan_starts_from_the_state_of_charge_the_battery_really_has():
    """The plan discharges in the first hour and charges in the second (cheap); if the battery
    did not discharge (it idled), the re-plan one hour later must not charge a full battery."""
    n = 8
    t = pd.date_range("2025-06-02 10:00", periods=n, freq="15min")
    price = np.array([0.4] * 4 + [0.05] * 4)
    ctx = Context(n_steps=n, dt_h=0.25, capacity_kwh=np.array([10.0]),
                  power_kw=np.array([5.0]), efficiency=np.array([1.0]),
                  soc_min_kwh=np.zeros(1), site_transformer=np.array([0]),
                  transformer_kva=np.array([100.0]))
    steer = get_model("M0", wear_eur_per_kwh=0.0, end_value_eur_per_kwh=0.2)
    net = np.full((n, 1), 1.0)  # a 1 kW load, no PV
    prices = Prices(price[:, None], price[:, None] - 0.01, price, price - 0.01)
    planner = Planner(steer, ctx, "highs", _Known(net, np.zeros((n, 1)), np.zeros(n), t), prices)
    full = np.array([10.0])
    first = planner.plan(0, n, 0, full, np.zeros((0, 1)))
    assert (first[:4] < -0.5).all() and (first[4:] > 0.5).all()  # sell dear, refill cheap
    replan = planner.plan(0, n, 4, full, np.zeros((4, 1)))  # it idled: still full
    np.testing.assert_allclose(replan, 0.0, atol=1e-6)


def _repeating(days=5):
    """Two homes with batteries on T1; T1's other load reaches 114 kW every evening (18:00-19:30
    UTC); the day-ahead price peaks in the morning."""
    t = pd.date_range("2025-06-02", periods=96 * days, freq="15min")
    hour = (t.hour + t.minute / 60).to_numpy()
    rest = np.where((hour >= 18) & (hour < 19.5), 114.0, 40.0)
    price = 0.10 + 0.05 * np.cos((hour - 8) / 24 * 2 * np.pi)
    return from_arrays(t, np.full((len(t), 2), 0.5), np.zeros((len(t), 2)),
                       household_transformer=["T1", "T1"], transformer_kva=[150.0],
                       transformer_rest_kw=rest[:, None], price_eur_per_kwh=price,
                       battery_kwh=[10.0, 10.0], battery_kw=[5.0, 5.0],
                       battery_eff=[0.95, 0.95])


def test_m4_cuts_a_forecast_transformer_excess():
    """The evening load (115 kW) exceeds 0.7 x 150 kVA = 105 kW every day for 1.5 h (15 kWh,
    within the batteries' 20); persistence sees it coming. M4 discharges into it and holds the
    transformer at its threshold; price-only M2 discharges at the morning's price peak."""
    v = _repeating()
    kw = {"start": "2025-06-03", "end": "2025-06-07", "progress": False}
    m2 = transformer_peaks(ansen.simulate(v, "M2", **kw))["transformer_import_peak_kw"]
    m4 = transformer_peaks(ansen.simulate(v, "M4", shadow_eur_per_kwh=1.0, **kw))[
        "transformer_import_peak_kw"]
    base = transformer_peaks(ansen.simulate(v, "none", **kw))["transformer_import_peak_kw"]
    assert base == pytest.approx(115.0)
    assert m4 == pytest.approx(105.0, abs=1e-6)
    assert m2 > 110.0


def _cloudy_then_sunny(days=32, seed=4):
    """Variable days, the last one sunny; a 900 kWp solar park on the MV feeder."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2025-05-01", periods=96 * days, freq="15min")
    hour = (t.hour + 2 + t.minute / 60).to_numpy() % 24  # local (CEST)
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    cloud = np.repeat(np.r_[rng.uniform(0.1, 0.5, days - 1), 1.0], 96)
    per_kwp = 0.8 * sun * cloud
    kwp = np.array([4.0, 5.0, 3.0])
    mv = 450.0 + 250.0 * ((hour >= 10) & (hour < 15)) - 900.0 * per_kwp
    return from_arrays(t, np.full((len(t), 3), 0.4), per_kwp[:, None] * kwp,
                       household_transformer=["T1", "T1", "T1"], transformer_kva=[250.0],
                       mv_kw=mv, price_eur_per_kwh=np.full(len(t), 0.10),
                       battery_kwh=[10.0, 10.0, 0.0], battery_kw=[5.0, 5.0, 0.0],
                       battery_eff=[0.95, 0.95, 1.0], pv_kwp=kwp, name="cloudy then sunny")


def test_m5_replans_away_from_a_noon_peak_the_morning_shows_is_feed_in(monkeypatch):
    """The weather service forecast an overcast last day (a test double for a wrong NWP):
    the day-ahead plan discharges at noon against a forecast import peak. The morning's fresh
    measurements show sun; hourly re-plans stop discharging into what is a feed-in peak."""
    from ansen.weather import WeatherForecasts

    monkeypatch.setattr(WeatherForecasts, "error",
                        lambda self, t0, n, now: -self.k[np.arange(t0, t0 + n)])  # overcast
    v = _cloudy_then_sunny()
    kw = {"start": "2025-05-31", "end": "2025-06-02", "forecast": "weather",
          "progress": False, "mv_peak_eur_per_kw": 5.0}
    day_ahead = ansen.simulate(v, "M5", replan_minutes=None, **kw)
    replanned = ansen.simulate(v, "M5", replan_minutes=60, **kw)
    local = local_time(day_ahead)
    noon = np.asarray((local.day == 1) & (local.hour >= 11) & (local.hour < 14))
    fleet = {r.attrs["replan_minutes"]: r["battery_charge_kw"].sum("household").values[noon]
             for r in (day_ahead, replanned)}
    assert fleet[None].min() < -2.0  # the day-ahead plan discharges into the sun
    assert fleet[60].min() > -0.5  # no discharge at the sunny noon
    assert replanned["mv_kw"].values[noon].min() > day_ahead["mv_kw"].values[noon].min()


def test_data_age_reaches_the_forecasts_through_simulate():
    """Grid data newer than the data age are never seen: changing the MV data of the last
    days of a run leaves M5's schedule unchanged with 7-day-old data, not with real-time data."""
    v = tiny(days=12)
    mv = v["mv_kw"].values.copy()
    changed = v.assign(mv_kw=("time", np.where(np.arange(len(mv)) >= len(mv) - 3 * 96,
                                                mv + 500.0 * np.sin(np.arange(len(mv))), mv)))
    kw = {"start": "2025-06-11", "end": "2025-06-14", "progress": False,
          "forecast": "persistence"}

    def schedule(village, lag):
        return ansen.simulate(village, "M5", data_lag=lag, **kw)["battery_charge_kw"].values

    np.testing.assert_array_equal(schedule(v, "7D"), schedule(changed, "7D"))
    assert not np.array_equal(schedule(v, "15min"), schedule(changed, "15min"))


@pytest.mark.parametrize("lag", ["15min", "1D", "7D"])
def test_a_run_records_its_information(lag):
    r = ansen.simulate(tiny(days=9), "M5", "2025-06-09", "2025-06-10", data_lag=lag,
                       progress=False)
    assert r.attrs["data_lag"] == lag and r.attrs["replan_minutes"] == 60
    assert r.attrs["windows"] == 2 and r.attrs["decisions"] == 24


def test_hourly_plans_on_quarter_hour_data_hold_each_hour():
    """plan_minutes=60: one set point per hour, repeated over its four quarters (perfect
    forecasts, so the real-time layer never has to change it), the energy still balancing."""
    v = tiny(days=3)
    r = ansen.simulate(v, "M0", "2025-06-03", "2025-06-05", forecast="perfect", plan_minutes=60,
                       progress=False)
    p = r["battery_charge_kw"].values.reshape(-1, 4, r.sizes["household"])
    np.testing.assert_allclose(p, np.repeat(p[:, :1], 4, axis=1), atol=1e-9)
    assert r.attrs["clipped_steps"] == 0 and json.loads(r.attrs["params"])["plan_minutes"] == 60
    assert np.abs(p).max() > 0.5  # it does steer
    np.testing.assert_allclose(r["net_kw"], r["load_kw"] - r["pv_kw"] + r["battery_charge_kw"],
                               atol=1e-9)


@pytest.mark.parametrize("bad, message", [
    ({"plan_minutes": 45}, "divide the hour"),
    ({"plan_minutes": 10}, "multiple of the data's step"),
    ({"plan_minutes": 60, "replan_minutes": 30}, "multiple of plan_minutes"),
    ({"plan_minutes": 60, "start": "2025-06-03 00:15"}, "not on a plan step"),
    ({"replan_lookahead_hours": 0}, "replan_lookahead_hours"),
    ({"plan_fleet": "each"}, "plan_fleet must be 'sites' or 'classes'"),
])
def test_bad_plan_steps_are_refused_by_name(bad, message):
    kw = {"start": "2025-06-03", "end": "2025-06-04", "progress": False} | bad
    with pytest.raises(ValueError, match=message):
        ansen.simulate(tiny(days=3), "M0", **kw)


def test_replans_without_news_for_the_next_hours_keep_the_plan():
    """With persistence forecasts the hourly news after 13:00 concerns tomorrow: a 12-hour
    look-ahead keeps those plans (counted), without it every changed re-plan solves."""
    v = tiny(days=9)
    noise = np.random.default_rng(1).uniform(0.0, 1.0, v["load_kw"].shape)
    v = v.assign(load_kw=v["load_kw"] + noise)  # every day differs: persistence news each hour
    kw = {"start": "2025-06-08", "end": "2025-06-10", "progress": False, "data_lag": "15min"}
    near = ansen.simulate(v, "M2", **kw)
    every = ansen.simulate(v, "M2", replan_lookahead_hours=None, **kw)
    assert every.attrs["replans_kept"] == 0 and near.attrs["replans_kept"] > 0
    assert near.attrs["solves"] < every.attrs["solves"]


def _four_homes(days: int = 3):
    """Four households on one transformer, three batteries of one class (10 kWh / 5 kW,
    20 kWh / 10 kW, 10 kWh / 5 kW) and one of another efficiency."""
    t = pd.date_range("2025-06-02", periods=96 * days, freq="15min")
    hour = (t.hour + t.minute / 60).to_numpy()
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    load = np.column_stack([0.4 + 0.5 * (hour > 17), 0.8 + 0.2 * np.cos(hour),
                            0.6 + 0.3 * (hour < 7), 0.5 + 0 * hour])
    pv = np.column_stack([1.0 * sun, 0.5 * sun, 0.0 * sun, 1.0 * sun])
    return from_arrays(
        t, load, pv, household_transformer=["T1"] * 4, transformer_kva=[40.0],
        transformer_rest_kw=np.full((len(t), 1), 3.0),
        price_eur_per_kwh=0.12 - 0.08 * sun + 0.05 * (hour > 17),
        battery_kwh=[10.0, 20.0, 10.0, 10.0], battery_kw=[5.0, 10.0, 5.0, 5.0],
        battery_eff=[0.95, 0.95, 0.95, 0.9], name="four homes")


def test_battery_classes_group_sites_by_transformer_battery_and_prices():
    from ansen.controller.planner import battery_classes

    ctx = Context(n_steps=4, dt_h=0.25, capacity_kwh=np.array([10.0, 20, 10, 10, 10, 10]),
                  power_kw=np.array([5.0, 10, 5, 5, 5, 5]),
                  efficiency=np.array([0.95, 0.95, 0.95, 0.9, 0.95, 0.95]),
                  soc_min_kwh=np.array([1.0, 2, 1, 1, 1, 1]),
                  site_transformer=np.array([0, 0, 1, 0, 0, 0]),
                  transformer_kva=np.array([100.0, 100.0]), sites=tuple("abcdef"))
    imp = np.full((4, 6), 0.3)
    imp[:, 4] = 0.25  # another annual position
    prices = Prices(imp, imp - 0.1, imp[:, 0], imp[:, 0] - 0.1)
    group, classes = battery_classes(ctx, prices)
    np.testing.assert_array_equal(group, [0, 0, 1, 2, 3, 0])
    np.testing.assert_allclose(classes.capacity_kwh, [40, 10, 10, 10])
    np.testing.assert_allclose(classes.power_kw, [20, 5, 5, 5])
    np.testing.assert_allclose(classes.soc_min_kwh, [4, 1, 1, 1])
    np.testing.assert_allclose(classes.efficiency, [0.95, 0.95, 0.9, 0.95])
    np.testing.assert_array_equal(classes.site_transformer, [0, 1, 0, 0])
    assert classes.sites == ("a+b+f", "c", "d", "e")


def test_classes_of_one_site_plan_what_the_sites_plan():
    """The tiny village's two batteries sit on two transformers: two classes of one, the same
    LP, the same run bit for bit."""
    kw = {"start": "2025-06-03", "end": "2025-06-05", "progress": False}
    sites = ansen.simulate(tiny(days=3), "M4+M5", **kw)
    classes = ansen.simulate(tiny(days=3), "M4+M5", plan_fleet="classes", **kw)
    assert classes.attrs["lp_batteries"] == sites.attrs["lp_batteries"] == 2
    np.testing.assert_array_equal(classes["battery_charge_kw"], sites["battery_charge_kw"])
    assert json.loads(classes.attrs["params"])["plan_fleet"] == "classes"
    assert run_label(classes) == "M4+M5 (classes)" and run_label(sites) == "M4+M5"


def test_classes_are_an_exact_aggregation_for_m3_and_split_in_proportion():
    """M3's objective sees only transformer sums and throughput: a class plan has the objective
    of the per-site plan (day-ahead plans, perfect forecasts). Each site follows its class in
    proportion to its power; the states of charge stay in bounds and nothing is clipped."""
    kw = {"start": "2025-06-03", "end": "2025-06-05", "forecast": "perfect",
          "replan_minutes": None, "progress": False}
    sites = ansen.simulate(_four_homes(), "M3", plan_method="lp", **kw)  # per site
    classes = ansen.simulate(_four_homes(), "M3", plan_fleet="classes", **kw)
    # M3 does not use the households' prices: classes by transformer and battery alone
    assert sites.attrs["lp_batteries"] == 4 and classes.attrs["lp_batteries"] == 2
    np.testing.assert_allclose(classes.attrs["objective_sum"], sites.attrs["objective_sum"],
                               rtol=1e-7)
    p = classes["battery_charge_kw"].values
    assert np.abs(p).max() > 1.0  # it does steer
    np.testing.assert_allclose(p[:, 1], 2 * p[:, 0], atol=1e-9)  # 10 kW and 5 kW, one class
    np.testing.assert_allclose(p[:, 2], p[:, 0], atol=1e-9)
    assert classes.attrs["clipped_steps"] == 0
    soc = classes["soc_kwh"].values
    np.testing.assert_allclose(soc[:, 1] / 20, soc[:, 0] / 10, atol=1e-9)  # equal per kWh


def test_classes_steer_the_cost_models_within_the_batteries_limits():
    v = _four_homes()
    kw = {"start": "2025-06-03", "end": "2025-06-05", "progress": False}
    base = ansen.simulate(v, "none", **kw)
    for model, extra in (("M2", {}), ("M5", {}), ("M4", {"plan_minutes": 60}),
                         ("M6", {}), ("M4+M5", {"directions": "exact"})):
        r = ansen.simulate(v, model, plan_fleet="classes", **kw, **extra)
        assert r.attrs["lp_batteries"] < 4, model
        assert r.attrs["clipped_steps"] == 0 and r.attrs["split_shortfall_kwh"] == 0, model
        soc = r["soc_kwh"].values  # sites 0 and 1 are one class: equal charge per kWh
        np.testing.assert_allclose(soc[:, 1] / 20, soc[:, 0] / 10, atol=1e-9)
        assert np.abs(r["battery_charge_kw"].values).max() > 1.0, model
        if model == "M5":
            assert np.abs(r["mv_kw"]).max() < np.abs(base["mv_kw"]).max()


def test_classes_with_a_community_meter_reach_the_per_site_optimum():
    """A community meter sums every site's net exchange, so the classes (batteries alone)
    lose nothing: the same objective as per-site plans (day-ahead plans, perfect forecasts)."""
    kw = {"start": "2025-06-03", "end": "2025-06-05", "forecast": "perfect",
          "replan_minutes": None, "progress": False, "meter": "community"}
    sites = ansen.simulate(_four_homes(), "M2", plan_method="lp", **kw)  # per site
    classes = ansen.simulate(_four_homes(), "M2", plan_fleet="classes", **kw)
    assert classes.attrs["lp_batteries"] == 2 and sites.attrs["lp_batteries"] == 4
    np.testing.assert_allclose(classes.attrs["objective_sum"], sites.attrs["objective_sum"],
                               rtol=1e-7)


def test_classes_follow_their_plan_after_a_fallback_set_their_batteries_apart(monkeypatch):
    """A failed solve hands the batteries to M1, which charges each from its own household,
    so a class's states of charge per kWh part; the class plans that follow are split within
    each battery's limits (nothing clipped) instead of in proportion to power."""
    from ansen.models import LPRunner, SolveError

    solve, calls = LPRunner.solve, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if 3 <= len(calls) <= 12:
            raise SolveError("forced")
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(LPRunner, "solve", failing)
    r = ansen.simulate(_four_homes(days=4), "M4+M5", "2025-06-03", "2025-06-06", fallback="M1",
                       plan_fleet="classes", progress=False)
    assert json.loads(r.attrs["fallbacks"])
    soc = r["soc_kwh"].values
    assert np.abs(soc[:, 1] / 20 - soc[:, 0] / 10).max() > 0.01  # they did part
    assert r.attrs["clipped_steps"] == 0
    # plans made while the sites are out of proportion are counted, not bounded
    assert r.attrs["class_plans_not_bounded"] > 0 and r.attrs["class_plans_bounded"] > 0


def test_classes_warn_under_a_tariff_without_net_metering():
    from ansen.tariffs import Tariff

    kw = {"start": "2025-06-03", "end": "2025-06-04", "progress": False}
    with pytest.warns(UserWarning, match="class meter nets"):
        ansen.simulate(_four_homes(), "M0", plan_fleet="classes",
                       tariff=Tariff.after_net_metering(), **kw)


@pytest.mark.parametrize("solver", ["highs", "glpk"])
def test_class_plans_of_one_site_each_are_certified_optimal(solver):
    """Classes of one site are the per-site LP, whose dual values are optimal: the
    Lagrangian bound meets the plan's own per-site objective (a gap of zero), with either
    solver's dual values."""
    r = ansen.simulate(tiny(days=3), "M4+M5", "2025-06-03", "2025-06-05", solver=solver,
                       plan_fleet="classes", progress=False)
    assert r.attrs["class_plans_bounded"] == r.attrs["solves"] > 1
    assert r.attrs["class_plans_not_bounded"] == 0
    assert abs(r.attrs["class_plan_gap_max_eur"]) < 1e-5
    assert abs(r.attrs["class_plan_gap_share_pct"]) < 1e-4  # of a worth > 0


@pytest.mark.parametrize("model", ["M4", "M5", "M6", "M4+M5"])
def test_class_plan_bounds_hold_the_per_site_optimum(monkeypatch, model):
    """For the first plan (both runs start alike) the per-site LP's optimum lies between the
    class plan's bounds, and the lower bound is no weaker than the class LP's own optimum."""
    made = []
    init = Planner.__init__

    def keep(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Planner, "__init__", keep)
    kw = {"start": "2025-06-03", "end": "2025-06-05", "forecast": "perfect",
          "replan_minutes": None, "progress": False}
    sites = ansen.simulate(_four_homes(), model, plan_method="lp", **kw)
    classes = ansen.simulate(_four_homes(), model, plan_fleet="classes", **kw)
    assert sites.attrs["direction_mips"] == classes.attrs["direction_mips"] == 0
    assert sites.attrs["direction_held_steps"] == classes.attrs["direction_held_steps"] == 0
    per_site, per_class = made
    assert per_class.ctx.n_sites < 4
    lower, upper, idle = per_class.class_bounds[0]
    best = per_site.objectives[0]
    assert per_class.objectives[0] - 1e-7 <= lower <= best + 1e-7 <= upper + 2e-7
    assert best <= idle + 1e-7  # idle batteries are a per-site plan too
    assert upper - lower > 1e-4  # the classes do give something away here
    assert classes.attrs["class_plans_bounded"] == classes.attrs["solves"]


def test_class_plan_bounds_hold_through_replans_blocks_and_a_free_grid_price():
    """Upper minus lower bound is never negative (the per-site optimum lies between), on
    re-plans with executed steps, hourly plan steps, and with a shadow price of zero (whose
    bounds were lost); plan_bounds=False leaves them out."""
    kw = {"start": "2025-06-03", "end": "2025-06-05", "progress": False,
          "plan_fleet": "classes"}
    for model, extra in (("M4+M5", {}), ("M4", {"plan_minutes": 60}),
                         ("M4", {"shadow_eur_per_kwh": 0.0}), ("M5", {"mv_peak_eur_per_kw": 0.0})):
        r = ansen.simulate(_four_homes(), model, **kw, **extra)
        a = r.attrs
        assert a["class_plans_bounded"] == a["solves"] > 2, (model, extra)
        assert np.isfinite(a["class_plan_gap_max_eur"]), (model, extra)
        assert -1e-7 <= a["class_plan_gap_mean_eur"] <= a["class_plan_gap_max_eur"], (model, extra)
    off = ansen.simulate(_four_homes(), "M4", **kw, plan_bounds=False)
    assert "class_plans_bounded" not in off.attrs


def test_the_meter_rule_moves_a_set_point_only_to_hold_the_meter_within_its_plan():
    from ansen.controller import meter_rule

    # (set point, forecast net, actual net) [kW] -> set point; charge and import positive
    cases = [(2.0, -3.0, -5.0, 4.0),   # more surplus than forecast: charged, not exported
             (2.0, -3.0, -1.0, 1.0),   # less surplus: charge only it, import nothing for it
             (3.0, 1.0, 2.0, 2.0),     # a planned grid charge: the planned import, no more
             (3.0, 1.0, 0.5, 3.0),     # ... less load: import less, charge as planned
             (-3.0, 0.5, 1.5, -3.0),   # a planned sale at a high price: sold a bit less
             (-1.0, 2.0, 3.5, -2.5),   # more load than forecast: served from the battery
             (0.0, -2.0, -2.0, 0.0)]   # the forecast was right: nothing moves
    setpoint, forecast, actual, expected = np.array(cases).T[:, :, None]
    moved = meter_rule(setpoint, forecast, actual)
    assert moved == pytest.approx(expected)
    meter, planned = actual + moved, forecast + setpoint
    assert (np.abs(meter) <= np.abs(actual + setpoint) + 1e-12).all()  # towards zero
    assert ((meter >= np.minimum(planned, 0) - 1e-12)
            & (meter <= np.maximum(planned, 0) + 1e-12)).all()


@pytest.mark.filterwarnings("ignore:M4 with plan_fleet='classes'")
@pytest.mark.parametrize("model, plan", [("M0", {}), ("M4", {"plan_minutes": 60}),
                                         ("M4", {"plan_fleet": "classes"}), ("M6", {})])
def test_the_meter_rule_changes_nothing_with_a_perfect_forecast(model, plan):
    """Perfect forecasts leave nothing to hold: the plan's meters are the actual ones (M6's
    too, whose planner shifts the forecast load over whole days as the actual load is)."""
    v = _four_homes(days=4)
    kw = {"start": "2025-06-03", "end": "2025-06-06", "forecast": "perfect", "progress": False,
          "tariff": Tariff.after_net_metering(feed_in_share=0.5), **plan}
    plain = ansen.simulate(v, model, **kw)
    held = ansen.simulate(v, model, realtime="meter", **kw)
    assert held.attrs["realtime"] == "meter" and plain.attrs["realtime"] == "setpoint"
    assert "held meters" in run_label(held) and "held meters" not in run_label(plain)
    assert held.attrs["meter_rule_kwh"] < 1e-6
    np.testing.assert_allclose(held["battery_charge_kw"], plain["battery_charge_kw"], atol=1e-9)


@pytest.mark.parametrize("model", ["M0", "M3", "M4"])
def test_held_meters_import_and_export_less_when_persistence_misses_the_weather(model):
    """Days of changing cloud: persistence expects yesterday's sun. Set points that follow
    the plan charge from the grid when the sun stays away and export surplus the plan did
    not see; held meters do neither. M3 plans its two batteries as one class, which the
    rule then sets apart (their PV differs)."""
    v = _cloudy_then_sunny(days=8)
    kw = {"start": "2025-05-05", "end": "2025-05-09", "progress": False,
          "tariff": Tariff.after_net_metering(feed_in_share=0.5)}
    runs = {rt: ansen.simulate(v, model, realtime=rt, **kw) for rt in ("setpoint", "meter")}
    assert runs["meter"].attrs["meter_rule_steps"] > 0
    sites = runs["meter"]["battery_kwh"].values > 0
    net = {rt: r["net_kw"].values[:, sites] for rt, r in runs.items()}
    assert np.clip(net["meter"], 0, None).sum() < np.clip(net["setpoint"], 0, None).sum()
    assert np.clip(net["meter"], None, 0).sum() > np.clip(net["setpoint"], None, 0).sum()


@pytest.mark.parametrize("model, plan", [("M0", {"plan_minutes": 60}),
                                         ("M4", {"plan_minutes": 60}),
                                         ("M0", {"plan_fleet": "classes"}),
                                         ("M4", {"plan_fleet": "classes"})])
@pytest.mark.filterwarnings("ignore:M[04] with plan_fleet='classes'")
def test_replans_start_from_what_held_meters_did(model, plan):
    """Held meters make batteries do other than planned, and sites of one class go opposite
    ways, or one battery both ways within an hour's plan step. Each re-plan fixes the steps
    already done at their charge and discharge apart, so its state of charge is the real one
    (with their net power the LP's was off by the losses, and the next plan infeasible)."""
    v = _cloudy_then_sunny(days=8)
    run = ansen.simulate(v, model, "2025-05-05", "2025-05-09", realtime="meter", progress=False,
                         tariff=Tariff.after_net_metering(feed_in_share=0.5), **plan)
    assert run.attrs["meter_rule_steps"] > 0 and run.attrs["fallbacks"] == "[]"
    assert run.attrs["guard_steps"] == 0  # what the meter rule moved is not the guard's
    charge = run["battery_charge_kw"].values
    assert ((charge[:-1] > 1e-6) & (charge[1:] < -1e-6)).any()  # both ways, step to step


def test_a_rule_model_is_not_labelled_with_held_meters():
    run = ansen.simulate(tiny(), "M1", realtime="meter", progress=False)
    assert run.attrs["realtime"] == "none (rule)" and run_label(run) == "M1"


def test_the_label_names_plan_steps_and_replans_other_than_the_defaults():
    """15-minute and hourly plans of one model had one label, so a table of both held two
    rows of one name."""
    def label(model="M0", **kw):
        return run_label(ansen.simulate(tiny(), model, progress=False, **kw))

    assert label() == "M0" and label(plan_minutes=15, replan_minutes=60) == "M0"
    assert label(plan_minutes=60) == "M0 (60-min plans)"
    assert label(replan_minutes=None) == "M0 (no re-plans)"
    assert label(replan_minutes=15, plan_minutes=15) == "M0 (re-plans every 15 min)"
    assert label("M1", plan_minutes=60) == "M1"  # a rule has no plans
    hourly = ansen.simulate(tiny(minutes=60), "M0", plan_minutes=60, progress=False)
    assert run_label(hourly) == "M0"  # plans in the data's own step


def test_the_label_names_every_other_controller_setting():
    """Runs that differ only in the decision hour, the reserve or the horizon had one label."""
    def label(model="M0", **kw):
        return run_label(ansen.simulate(tiny(), model, progress=False, **kw))

    assert label(decision_hour=13, soc_initial=0.5, soc_min=0.0, directions="net") == "M0"
    assert label(decision_hour=10, soc_initial=0.2) == "M0 (decision_hour=10, soc_initial=0.2)"
    assert label(soc_min=0.1, horizon_hours=24) == "M0 (horizon_hours=24, soc_min=0.1)"
    assert label(replan_lookahead_hours=6) == "M0 (replan_lookahead_hours=6)"
    assert label("M1", soc_initial=0.2, decision_hour=10) == "M1 (soc_initial=0.2)"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_label_names_a_tariff_other_than_the_default():
    """M0 under net metering and under the 2027 rules had one label."""
    from ansen.tariffs import Tariff

    def label(tariff, model="M0"):
        return run_label(ansen.simulate(tiny(), model, tariff=tariff, progress=False))

    assert label(None) == label(Tariff()) == "M0"
    assert label(Tariff.after_net_metering()) == "M0 (no net metering)"
    assert label(Tariff.after_net_metering(feed_in_share=0.5), "M1") == \
        "M1 (no net metering, feed-in 50% of the day-ahead price)"
    assert label(Tariff(vat=0.09)) == "M0 (own tariff)"


def test_realtime_must_be_known():
    with pytest.raises(ValueError, match="realtime must be one of setpoint, meter, got 'grid'"):
        ansen.simulate(tiny(), "M0", realtime="grid")

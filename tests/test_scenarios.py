"""Scenarios: derived villages, their recipes, battery rules, neighbourhood batteries, growth."""

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import ansen
from ansen.data import DataError, from_arrays, load, save, validate
from ansen.scenarios import (
    BatterySites,
    Growth,
    NeighbourhoodBattery,
    Scenario,
    derive,
    get_scenario,
    home_ids,
    load_scenarios,
    recipe,
    recipe_chain,
    tariff_of,
)
from ansen.tariffs import Tariff
from tests.conftest import tiny


def village6(days: int = 2, start: str = "2025-06-02", **extra):
    """Five homes and a village hall on two transformers, hand-chosen PV and load.

    kWp: H1 4, H2 6, H3 0, H4 6 (east: less energy than H2), H5 2, hall 15. Batteries at H1
    and the hall. H5 has a heat pump and an EV (parts of its load).
    """
    t = pd.date_range(start, periods=96 * days, freq="15min")
    hour = (t.hour + t.minute / 60).to_numpy()
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    east = np.clip(np.sin((hour - 5) / 12 * np.pi), 0, None) * (hour < 14)
    kwp = np.array([4.0, 6.0, 0.0, 6.0, 2.0, 15.0])
    shape = np.column_stack([sun, sun, sun, 0.6 * east, sun, sun]) * 0.7
    pv = shape * kwp
    hp = np.zeros((len(t), 6))
    hp[:, 4] = 0.5 + 0.3 * (hour < 7)
    ev = np.zeros((len(t), 6))
    ev[(hour >= 18) & (hour < 20), 4] = 7.4
    base = np.column_stack([0.3 + 0.2 * (hour > 17), 0.4 + 0 * hour, 0.5 + 0.1 * np.cos(hour),
                            0.35 + 0 * hour, 0.3 + 0 * hour, 1.0 + 0.5 * (hour > 8)])
    load = base + hp + ev
    v = from_arrays(
        t, load, pv,
        household=["H1", "H2", "H3", "H4", "H5", "DORPSHUIS"],
        household_transformer=["T1", "T1", "T1", "T2", "T2", "T1"],
        transformer_kva=[250.0, 160.0],
        transformer_rest_kw=np.full((len(t), 2), 2.0),
        mv_kw=(load - pv).sum(axis=1) + 4.0 + 300.0,  # the village + the rest of the feeder
        price_eur_per_kwh=0.1 - 0.05 * sun,
        battery_kwh=[10.0, 0, 0, 0, 0, 10.0], battery_kw=[5.0, 0, 0, 0, 0, 5.0],
        battery_eff=[0.95, 1, 1, 1, 1, 0.95],
        pv_kwp=kwp, name="six", **extra,
    )
    v["heat_pump_kw"] = (("time", "household"), hp)
    v["ev_kw"] = (("time", "household"), ev)
    return validate(v)


@pytest.fixture
def six():
    return village6()


def sites(ds) -> list[str]:
    return [str(h) for h in ds["household"].values[ds["battery_kwh"].values > 0]]


# --------------------------------------------------------------------------- recipe


def test_derived_village_validates_and_records_its_recipe(six):
    before = six.copy(deep=True)
    s = Scenario("two_more", "test", batteries=BatterySites(count=3, existing="keep"))
    d = derive(six, s)
    validate(d)
    xr.testing.assert_identical(six, before)  # the base village is not changed
    r = recipe(d)
    assert Scenario.from_dict(r["scenario"]) == s
    assert r["base"] == {"name": "six", "source": "arrays", "recipe": None}
    assert r["applied"]["batteries"]["kept"] == ["H1"]
    assert r["applied"]["batteries"]["added"] == ["H2", "H4"]
    assert d.attrs["name"] == "six + two_more" and d.attrs["scenario"] == "two_more"
    assert r["ansen_version"] == ansen.__version__
    assert s.apply(six).identical(d)  # deterministic, and apply == derive
    assert d.attrs["generator"] == "ansen.scenarios.derive"


def test_a_derived_village_does_not_claim_its_bases_generator(six):
    made = six.assign_attrs(generator="ansen.data.synthesize", seed="7", spec="{'homes': 5}")
    d = derive(made, Scenario("more", batteries=BatterySites(count=3, existing="keep")))
    assert "seed" not in d.attrs and "spec" not in d.attrs
    assert d.attrs["generator"] == "ansen.scenarios.derive"
    base = recipe(d)["base"]
    assert (base["generator"], base["seed"], base["spec"]) == ("ansen.data.synthesize", "7",
                                                               "{'homes': 5}")


def test_derived_from_derived_records_the_chain(six):
    a = derive(six, Scenario("a", batteries=BatterySites(count=1, rule="explicit",
                                                         households=("H3",))))
    b = derive(a, Scenario("b", tariff_regime="2027"))
    c = derive(b, Scenario("c", neighbourhood=NeighbourhoodBattery("T2", same_as="all_sites")))
    chain = recipe_chain(c)
    assert [x["scenario"]["name"] for x in chain] == ["a", "b", "c"]
    assert chain[0]["base"]["name"] == "six"
    assert recipe(c)["base"]["name"] == "six + a + b"
    assert recipe(c)["base"]["recipe"]["base"]["recipe"]["scenario"]["name"] == "a"
    assert recipe_chain(six) == []
    # the tariff is the last one a scenario of the chain states
    assert tariff_of(c) == Tariff.after_net_metering()
    assert tariff_of(a) == Tariff()


def test_recipe_survives_save_and_load(six, tmp_path):
    d = derive(six, "neighbourhood_T1")
    path = save(d, tmp_path / "derived.nc")
    back = load(path)
    assert recipe(back) == recipe(d)
    assert list(back["household"].values) == list(d["household"].values)


# --------------------------------------------------------------------------- battery sites


def test_home_ids_leave_out_the_hall_and_neighbourhood_batteries(six):
    assert home_ids(six) == ["H1", "H2", "H3", "H4", "H5"]
    d = derive(six, Scenario("n", neighbourhood=NeighbourhoodBattery(
        "T1", capacity_kwh=50.0, power_kw=25.0, efficiency=0.9)))
    assert home_ids(d) == home_ids(six)
    assert home_ids(tiny()) == ["H001", "H002", "H003"]


@pytest.mark.parametrize("count, expected", [
    (0, []),
    (1, ["H2"]),               # 6 kWp and more energy than H4 (east)
    (2, ["H2", "H4"]),
    (3, ["H1", "H2", "H4"]),
    (5, ["H1", "H2", "H3", "H4", "H5"]),
])
def test_largest_pv_picks_most_kwp_first(six, count, expected):
    d = derive(six, Scenario("p", batteries=BatterySites(count=count, rule="largest_pv")))
    # eligible homes only: the village hall keeps its battery, the homes are replaced
    assert sites(d) == expected + ["DORPSHUIS"]


@pytest.mark.parametrize("share, count", [(0.0, 0), (0.4, 2), (0.5, 3), (1.0, 5)])
def test_a_share_of_the_eligible_connections_is_a_count_of_them(six, share, count):
    by_share = derive(six, Scenario("s", batteries=BatterySites(share=share)))
    by_count = derive(six, Scenario("c", batteries=BatterySites(count=count)))
    assert sites(by_share) == sites(by_count)  # 5 eligible homes; 2.5 rounds up
    assert recipe(by_share)["applied"]["batteries"]["count"] == count
    assert recipe(by_share)["scenario"]["batteries"]["share"] == share


def test_a_share_rounds_halves_up_as_written():
    from ansen.scenarios import _count

    assert [_count(0.29, 50), _count(0.57, 50), _count(0.5, 5), _count(0.49, 5)] == [15, 29, 3, 2]


@pytest.mark.parametrize("kwargs, message", [
    ({"share": 1.5}, "BatterySites.share must be"),
    ({"share": 0.5, "count": 3}, "give count or share, not both"),
    ({"share": 0.5, "rule": "explicit", "households": ("H1",)}, "no share with rule"),
    ({}, "rule 'largest_pv' needs count (a number of sites) or share"),
])
def test_a_share_is_refused_by_name_where_it_cannot_apply(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BatterySites(**kwargs)


def test_a_share_below_the_kept_sites_names_what_it_came_to(six):
    with pytest.raises(ValueError, match=re.escape(
            "BatterySites.share: 0.2 of the 6 eligible connections (eligible='all') is 1, "
            "which is fewer than the 2 existing")):
        derive(six, Scenario("s", batteries=BatterySites(share=0.2, eligible="all",
                                                         existing="keep")))


def test_largest_pv_with_the_hall_eligible(six):
    d = derive(six, Scenario("p", batteries=BatterySites(count=2, eligible="all")))
    assert sites(d) == ["H2", "DORPSHUIS"]  # 15 kWp hall first


def test_net_exporters_first(six):
    net = (six["load_kw"] - six["pv_kw"]).sum("time").values[:5]
    order = [f"H{i + 1}" for i in np.argsort(net, kind="stable")]
    for k in (1, 3):
        d = derive(six, Scenario("x", batteries=BatterySites(count=k, rule="net_exporters")))
        assert set(sites(d)) - {"DORPSHUIS"} == set(order[:k])


def test_random_rule_is_deterministic_and_nested(six):
    def pick(count, seed):
        b = BatterySites(count=count, rule="random", seed=seed, eligible="all")
        return sites(derive(six, Scenario("r", batteries=b)))

    assert pick(3, 7) == pick(3, 7)
    assert set(pick(2, 7)) <= set(pick(4, 7))
    assert len(pick(6, 7)) == 6


def test_keep_existing_and_transformer_filter(six):
    d = derive(six, Scenario("k", batteries=BatterySites(count=2, existing="keep",
                                                         transformers=("T1",),
                                                         capacity_kwh=5.0, power_kw=2.5)))
    assert sites(d) == ["H1", "H2", "DORPSHUIS"]
    kwh = d["battery_kwh"].to_series()
    assert kwh["H1"] == 10.0 and kwh["H2"] == 5.0  # kept sites keep their own battery
    assert d["battery_kw"].to_series()["H2"] == 2.5
    d = derive(six, Scenario("t2", batteries=BatterySites(count=1, transformers=("T2",))))
    assert sites(d) == ["H1", "H4", "DORPSHUIS"]  # T1 untouched, H4 (6 kWp) on T2


def test_explicit_list_and_replace(six):
    b = BatterySites(rule="explicit", households=("H3", "H5"), eligible="all", efficiency=0.9)
    d = derive(six, Scenario("e", batteries=b))
    assert sites(d) == ["H3", "H5"]
    assert d["battery_eff"].to_series()["H3"] == 0.9
    assert recipe(d)["applied"]["batteries"]["removed"] == ["H1", "DORPSHUIS"]
    assert recipe(d)["applied"]["batteries"]["replaced"] == []
    # H1 chosen again with another size: replaced, its old battery in the recipe
    d = derive(six, Scenario("r", batteries=BatterySites(rule="explicit", households=("H1",),
                                                         capacity_kwh=12.0)))
    applied = recipe(d)["applied"]["batteries"]
    assert applied["added"] == ["H1"] and applied["removed"] == []
    assert applied["replaced"] == [{"id": "H1", "capacity_kwh": 10.0, "power_kw": 5.0,
                                    "efficiency": 0.95}]


def test_penetration_levels_on_the_shipped_village_are_nested():
    v = ansen.data.load_default(start="2025-06-02", end="2025-06-03").isel(time=slice(0, 96 * 8))
    pilot = sites(v)
    levels = {n: sites(derive(v, f"penetration_{n:03d}")) for n in (0, 10, 20, 40, 70, 140)}
    assert levels[0] == [] and levels[10] == pilot and len(levels[140]) == 140
    for lo, hi in ((10, 20), (20, 40), (40, 70), (70, 140)):
        assert set(levels[lo]) < set(levels[hi]) and len(levels[hi]) == hi
    n = derive(v, "neighbourhood_T1")
    assert sites(n) == ["BUURTBATTERIJ_T1"]
    assert n["battery_kwh"].sum() == 100.0 and n["battery_kw"].sum() == 50.0


# --------------------------------------------------------------------------- neighbourhood


def test_neighbourhood_battery_is_a_connection_without_load_or_pv(six):
    d = derive(six, Scenario("n", neighbourhood=[NeighbourhoodBattery(
        "T2", same_as="all_sites")]))
    assert list(d["household"].values) == [*six["household"].values, "BUURTBATTERIJ_T2"]
    nb = d.sel(household="BUURTBATTERIJ_T2")
    assert float(nb["battery_kwh"]) == 20.0 and float(nb["battery_kw"]) == 10.0
    assert float(nb["battery_eff"]) == pytest.approx(0.95)
    assert str(nb["household_transformer"].values) == "T2"
    for name in ("load_kw", "pv_kw", "heat_pump_kw", "ev_kw"):
        assert float(np.abs(nb[name]).sum()) == 0.0
    assert float(nb["pv_kwp"]) == 0.0
    assert sites(d) == ["BUURTBATTERIJ_T2"]  # the matched sites gave up their batteries
    # the grid without batteries is unchanged
    np.testing.assert_array_equal(d["mv_kw"].values, six["mv_kw"].values)
    np.testing.assert_array_equal(d["transformer_rest_kw"].values,
                                  six["transformer_rest_kw"].values)


def test_neighbourhood_battery_extends_installed_pv_given_as_attribute(six):
    v = six.drop_vars("pv_kwp")
    v.attrs["pv_kwp"] = six["pv_kwp"].values
    d = derive(v, "neighbourhood_T1")
    from ansen.data.summary import pv_kwp

    np.testing.assert_array_equal(pv_kwp(d), [*six["pv_kwp"].values, 0.0])


def test_neighbourhood_battery_per_transformer(six):
    v = derive(six, Scenario("h4", batteries=BatterySites(count=2, existing="keep",
                                                          transformers=("T1", "T2"),
                                                          rule="explicit", households=("H4",),
                                                          capacity_kwh=8.0, power_kw=4.0)))
    d = derive(v, "neighbourhood_per_transformer")
    assert sites(d) == ["BUURTBATTERIJ_T1", "BUURTBATTERIJ_T2"]
    kwh, kw = d["battery_kwh"].to_series(), d["battery_kw"].to_series()
    assert (kwh["BUURTBATTERIJ_T1"], kw["BUURTBATTERIJ_T1"]) == (20.0, 10.0)  # H1 + hall
    assert (kwh["BUURTBATTERIJ_T2"], kw["BUURTBATTERIJ_T2"]) == (8.0, 4.0)  # H4
    assert d["household_transformer"].to_series()["BUURTBATTERIJ_T2"] == "T2"
    # transformer="each": only the transformers that have battery sites (six: none on T2)
    one = derive(six, "neighbourhood_per_transformer")
    assert sites(one) == ["BUURTBATTERIJ_T1"]
    assert float(one["battery_kwh"].sum()) == float(six["battery_kwh"].sum())
    with pytest.raises(ValueError, match="finds no battery sites to match on T2"):
        derive(six, Scenario("t2", neighbourhood=[NeighbourhoodBattery(
            "T2", same_as="transformer_sites")]))
    with pytest.raises(ValueError, match="'each' .* needs same_as='transformer_sites'"):
        NeighbourhoodBattery("each", same_as="all_sites")
    # a second round after one derived before: the ids clash unless a prefix is given
    twice = derive(one, Scenario("again", batteries=BatterySites(
        count=1, rule="explicit", households=("H2",), existing="keep")))
    with pytest.raises(ValueError, match="already in the village .a neighbourhood battery "
                                         "derived before.."):
        derive(twice, "neighbourhood_per_transformer")
    again = derive(twice, Scenario("again2", neighbourhood=[NeighbourhoodBattery(
        "each", same_as="transformer_sites", id="BUURTBATTERIJ_2")]))
    assert "BUURTBATTERIJ_2_T1" in sites(again)
    with pytest.raises(ValueError, match="'each' finds no transformer with battery sites"):
        derive(derive(six, "penetration_000"), Scenario("e", neighbourhood=[
            NeighbourhoodBattery("each", same_as="transformer_sites")]))


def test_neighbourhood_battery_units(six):
    big = BatterySites(count=6, eligible="all", capacity_kwh=40.0, power_kw=20.0)
    d = derive(six, Scenario("b", batteries=big,
                             neighbourhood=NeighbourhoodBattery("T1", same_as="all_sites")))
    ids = sites(d)
    assert ids == ["BUURTBATTERIJ_T1_1", "BUURTBATTERIJ_T1_2"]  # 120 kW: two of 60 kW
    assert d["battery_kw"].sum() == 120.0 and d["battery_kwh"].sum() == 240.0
    d = derive(six, Scenario("k", neighbourhood=NeighbourhoodBattery(
        "T1", same_as="transformer_sites", keep_sites=True, units=2, id="BUURTBATTERIJ_X")))
    assert sites(d) == ["H1", "DORPSHUIS", "BUURTBATTERIJ_X_1", "BUURTBATTERIJ_X_2"]


def test_a_neighbourhood_battery_beyond_its_transformers_rating_is_said():
    """250 kW on a 100 kVA transformer was accepted in silence (it can be a study's point)."""
    v = village6().assign(transformer_kva=("transformer", [100.0, 160.0]))
    with pytest.warns(UserWarning, match="^scenario big: NeighbourhoodBattery #1: 250 kW on "
                                         "transformer T1 of 100 kVA: the battery alone can "
                                         "load"):  # which scenario: an outside check's ask
        derive(v, Scenario("big", neighbourhood=NeighbourhoodBattery(
            "T1", capacity_kwh=500.0, power_kw=250.0, efficiency=0.95, units=5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        derive(v, Scenario("ok", neighbourhood=NeighbourhoodBattery(
            "T1", capacity_kwh=100.0, power_kw=50.0, efficiency=0.95)))


def test_neighbourhood_battery_power_reaches_its_transformer_and_the_mv_feeder():
    """M4 with perfect forecasts on a village whose T1 exports above its threshold: the
    neighbourhood battery works, and its power shows exactly on T1 and the MV feeder."""
    v = tiny(days=2)
    rest = v["transformer_rest_kw"].values.copy()
    sun = v["pv_kw"].values[:, 0] / 3.0
    rest[:, 0] -= 230.0 * sun  # a solar field behind T1: export above 0.7 x 250 kVA
    v = v.assign(transformer_rest_kw=(("time", "transformer"), rest),
                 mv_kw=v["mv_kw"] - 230.0 * sun)
    d = derive(v, Scenario("n", neighbourhood=NeighbourhoodBattery(
        "T1", capacity_kwh=100.0, power_kw=50.0, efficiency=0.95)))
    d = derive(d, Scenario("none_at_home", batteries=BatterySites(count=0)))
    assert sites(d) == ["BUURTBATTERIJ_T1"]
    r = ansen.simulate(d, "M4", forecast="perfect", progress=False)
    p = r["battery_charge_kw"].sel(household="BUURTBATTERIJ_T1").values
    assert np.abs(p).max() > 1.0  # it is used
    assert np.abs(r["battery_charge_kw"].drop_sel(household="BUURTBATTERIJ_T1").values).max() == 0
    tr = r["transformer_kw"] - r["transformer_base_kw"]
    np.testing.assert_allclose(tr.sel(transformer="T1").values, p, atol=1e-9)
    np.testing.assert_allclose(tr.sel(transformer="T2").values, 0.0, atol=1e-12)
    np.testing.assert_allclose((r["mv_kw"] - r["mv_base_kw"]).values, p, atol=1e-9)
    # and the base without batteries is the village's own
    np.testing.assert_allclose(r["mv_base_kw"].values, v["mv_kw"].values)


# --------------------------------------------------------------------------- growth


def _check_accounting(base, d):
    dl = d["load_kw"] - base["load_kw"]
    dhp = d["heat_pump_kw"] - base["heat_pump_kw"]
    dev = d["ev_kw"] - base["ev_kw"]
    np.testing.assert_allclose(dl.values, (dhp + dev).values, atol=1e-12)
    dnet = (dl - (d["pv_kw"] - base["pv_kw"])).sum("household")
    np.testing.assert_allclose((d["mv_kw"] - base["mv_kw"]).values, dnet.values, atol=1e-9)
    np.testing.assert_array_equal(d["transformer_rest_kw"].values,
                                  base["transformer_rest_kw"].values)
    assert (d["heat_pump_kw"] + d["ev_kw"] <= d["load_kw"] + 1e-9).all()


def test_growth_copies_the_villages_profiles_and_keeps_the_accounts(six):
    g = Growth(heat_pump_share_added=0.4, ev_share_added=0.2, pv_scale=1.5,
               pv_share_added=0.2, new_pv_kwp=3.0, seed=3)
    d = derive(six, Scenario("g", growth=g))
    _check_accounting(six, d)
    a = recipe(d)["applied"]["growth"]
    # two more heat pumps (0.4 x 5 homes), copies of H5's, the only one in the village
    assert len(a["heat_pump_added"]["households"]) == 2
    assert a["heat_pump_added"]["profiles"] == "village"
    for h in a["heat_pump_added"]["households"]:
        np.testing.assert_array_equal(d["heat_pump_kw"].sel(household=h).values,
                                      six["heat_pump_kw"].sel(household="H5").values)
    # one EV, H5's sessions shifted by whole weeks (two days of data: no shift possible)
    (h,) = a["ev_added"]["households"]
    assert d["ev_kw"].sel(household=h).sum() == six["ev_kw"].sel(household="H5").sum()
    # PV: existing homes x 1.5 (the hall unchanged), H3 gets 3 kWp of a donor's shape
    kwp = d["pv_kwp"].to_series()
    assert list(kwp[["H1", "H2", "H4", "H5", "DORPSHUIS"]]) == [6.0, 9.0, 9.0, 3.0, 15.0]
    assert a["pv_added"]["households"] == ["H3"] and kwp["H3"] == 3.0
    donor = a["pv_added"]["donors"][0]
    np.testing.assert_allclose(d["pv_kw"].sel(household="H3").values / 3.0,
                               d["pv_kw"].sel(household=donor).values / kwp[donor])
    np.testing.assert_allclose(d["pv_kw"].sel(household="H1").values,
                               1.5 * six["pv_kw"].sel(household="H1").values)
    assert a["mv_kw_change_kwh_per_year"] == pytest.approx(
        float((d["mv_kw"] - six["mv_kw"]).mean()) * 8766.0)
    assert derive(six, Scenario("g", growth=g)).identical(d)  # deterministic


def test_growth_on_less_than_a_year_says_its_per_year_figures_are_scaled(six):
    """A spring-only village's PV growth recorded -94,502 kWh/yr of MV change, spring's
    extra PV scaled to a year, without a word."""
    with pytest.warns(UserWarning, match=r"scaled up from 2.0 days of data"):
        d = derive(six, Scenario("g", growth=Growth(pv_scale=1.2)))
    assert recipe(d)["applied"]["growth"]["per_year_from_days"] == 2.0


def test_growth_scales_copied_heat_pumps_to_a_stated_energy(six):
    d = derive(six, Scenario("g", growth=Growth(heat_pump_share_added=0.2,
                                                heat_pump_kwh_per_year=1500.0)))
    (h,) = recipe(d)["applied"]["growth"]["heat_pump_added"]["households"]
    assert float(d["heat_pump_kw"].sel(household=h).mean()) * 8766.0 == pytest.approx(1500.0)
    _check_accounting(six, d)


def test_copied_heat_pumps_hold_the_stated_energy_in_a_year_not_per_period_year():
    """On 17 months (one winter and a half) the stated kWh/yr is what the first twelve months
    hold: scaled over all 17 months, a year held about 8 % more here (more winter per year)."""
    t = pd.date_range("2024-07-01", periods=24 * 518, freq="h")
    season = 1.0 + np.cos(2 * np.pi * (t.day_of_year.to_numpy() - 15) / 365.25)  # most in January
    hp = np.column_stack([season, np.zeros(len(t))])
    v = from_arrays(t, 0.3 + hp, np.zeros_like(hp), household=["H1", "H2"],
                    household_transformer=["T1", "T1"], transformer_kva=[100.0])
    v = validate(v.assign(heat_pump_kw=(("time", "household"), hp)))
    d = derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5,
                                               heat_pump_kwh_per_year=1500.0)))
    year = d.indexes["time"] < "2025-07-01"  # twelve months from the first step (UTC here)
    added = d["heat_pump_kw"].sel(household="H2").values
    assert added[year].sum() == pytest.approx(1500.0)
    assert added.mean() * 8766.0 < 0.95 * 1500.0  # the whole period, per year: less winter
    assert recipe(d)["applied"]["growth"]["heat_pump_added"]["annual_kwh_mean"] == \
        pytest.approx(1500.0)


def test_a_donor_heat_pump_idle_in_the_first_year_is_not_scaled_to_infinity():
    t = pd.date_range("2024-07-01", periods=24 * 518, freq="h")
    hp = np.column_stack([(t >= "2025-08-01") * 1.0, np.zeros(len(t))])  # starts in month 14
    v = from_arrays(t, 0.3 + hp, np.zeros_like(hp), household=["H1", "H2"],
                    household_transformer=["T1", "T1"], transformer_kva=[100.0])
    v = validate(v.assign(heat_pump_kw=(("time", "household"), hp)))
    with pytest.raises(ValueError, match=r"donor home\(s\) \['H1'\] use\(s\) 0 kWh in a year"):
        derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5,
                                               heat_pump_kwh_per_year=1500.0)))


def test_growth_with_synthetic_profiles_creates_the_parts():
    v = tiny(days=7)  # no heat_pump_kw, no ev_kw
    d = derive(v, Scenario("ev", growth=Growth(ev_share_added=1.0, ev_kwh_per_year=3000.0,
                                               seed=5)))
    assert "ev_kw" in d and "heat_pump_kw" not in d
    np.testing.assert_allclose((d["load_kw"] - v["load_kw"]).values, d["ev_kw"].values)
    np.testing.assert_allclose((d["mv_kw"] - v["mv_kw"]).values,
                               d["ev_kw"].sum("household").values, atol=1e-9)
    assert d["ev_kw"].max() == pytest.approx(11.0)  # the synthetic 11 kW home charger
    assert recipe(d)["applied"]["growth"]["ev_added"]["profiles"] == "synthetic"


def test_synthetic_heat_pumps_follow_the_temperature_over_a_year():
    t = pd.date_range("2024-07-01", periods=96 * 366, freq="15min")
    load = np.full((len(t), 2), 0.3)
    v = from_arrays(t, load, np.zeros_like(load), household_transformer=["T1", "T1"],
                    transformer_kva=[100.0])
    d = derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5, seed=2)))
    hp = d["heat_pump_kw"].sum("household").to_series()
    winter, summer = hp["2025-01"].mean(), hp["2024-07"].mean()
    assert winter > 3 * summer
    annual = recipe(d)["applied"]["growth"]["heat_pump_added"]["annual_kwh_mean"]
    assert 2000.0 < annual < 5000.0  # around the 3,500 kWh/yr assumed (lognormal spread)
    assert recipe(d)["applied"]["growth"]["heat_pump_added"]["temperature"].startswith("DWD")
    # a village far from that climate (Sydney: its July is winter) needs its own temperature
    v.attrs.update(latitude=-33.87, longitude=151.21)
    with pytest.raises(ValueError, match=r"heat pumps added to village .* need its outdoor "
                                         r"temperature: the village at latitude -33.87.*give "
                                         r"the village a variable temp_air_degc"):
        derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5, seed=2)))
    v.attrs.update(latitude=48.2, longitude=16.4)  # Vienna: near the TRY's climate, warned
    with pytest.warns(UserWarning, match=r"follow the TRY's temperature: the village at "
                                         r"latitude 48.2, longitude 16.4 lies near but outside"):
        derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5, seed=2)))
    v.attrs.update(latitude=-33.87, longitude=151.21)
    v["temp_air_degc"] = ("time", 12.0 - 8.0 * np.cos(2 * np.pi * (t.dayofyear - 196) / 365))
    d = derive(v, Scenario("hp", growth=Growth(heat_pump_share_added=0.5, seed=2)))
    hp = d["heat_pump_kw"].sum("household").to_series()
    assert hp["2024-07"].mean() > 3 * hp["2025-01"].mean()  # heating in the southern winter


# --------------------------------------------------------------------------- tariff


def test_scenario_tariffs():
    assert Scenario("a").tariff() == Tariff()
    assert Scenario("a", tariff_regime="net_metering").tariff() == Tariff()
    t = Scenario("b", tariff_regime="2027").tariff()
    assert t == Tariff.after_net_metering() and t.feed_in_share == 1.0
    t = get_scenario("tariff_2027_legal_minimum").tariff()
    assert not t.net_metering and t.feed_in_share == 0.5 and not t.feed_in_vat


def test_a_derived_village_runs_and_is_billed_under_its_recipes_tariff(six):
    """simulate without tariff= takes the recipe's; compare refuses the default bill for it."""
    import ansen
    from ansen.metrics import compare

    v27 = derive(six, "tariff_2027")
    day = {"progress": False}
    run, base = ansen.simulate(v27, "M0", **day), ansen.simulate(v27, "M1", **day)
    given = ansen.simulate(six, "M0", tariff=Tariff.after_net_metering(), **day)
    assert run.attrs["params"] == given.attrs["params"]
    assert json.loads(run.attrs["params"])["tariff"]["net_metering"] is False
    with pytest.raises(ValueError, match="the run .M0. was simulated under another tariff "
                                         "than the default .feed_in_vat=False, "
                                         "net_metering=False.; pass tariff="):
        compare(run, base)
    compare(run, base, tariff=Tariff.after_net_metering())


# --------------------------------------------------------------------------- named scenarios


def test_shipped_scenarios_load():
    s = load_scenarios()
    for n in (0, 10, 20, 40, 70, 140):
        b = s[f"penetration_{n:03d}"].batteries
        assert b.count == n and b.eligible == "all"
        if n:
            assert (b.capacity_kwh, b.power_kw, b.efficiency, b.rule, b.existing) == (
                10.0, 5.0, 0.95, "largest_pv", "keep")
    assert s["neighbourhood_T1"].neighbourhood[0].same_as == "all_sites"
    assert s["tariff_2027"].tariff_regime == "2027"
    for scenario in s.values():  # each survives its own recipe
        assert Scenario.from_dict(scenario.to_dict()) == scenario


@pytest.mark.parametrize("text, message", [
    ("[[scenario]]\nname = 'a'\ncolour = 'red'\n", "unknown key(s) ['colour']"),
    ("[[scenario]]\nname = 'a'\n[scenario.batteries]\ncount = 1\nsize = 3\n",
     "batteries: unknown key(s) ['size']"),
    ("[[scenario]]\nname = 'a'\n[[scenario.neighbourhood]]\ntransformer = 'T1'\nkwh = 3\n",
     "neighbourhood #1: unknown key(s) ['kwh']"),
    ("[[scenario]]\nname = 'a'\n[scenario.growth]\nheat_pumps = 0.1\n",
     "growth: unknown key(s) ['heat_pumps']"),
    ("[[scenario]]\nname = 'a'\n[[scenario.neighbourhood]]\nsame_as = 'all_sites'\n",
     "missing key(s) ['transformer']"),
    ("[[scenario]]\nname = 'a'\n[[scenario]]\nname = 'a'\n", "duplicate scenario name a"),
    ("[[scenario]]\ndescription = 'x'\n", "scenario #1 has no name"),
    ("[[scenario]]\nname = '../x'\n", "not a safe name"),
    ("[village]\nname = 'a'\n", "unknown table(s) ['village']"),
    ("[[scenario]]\nname = 'a'\n[scenario.batteries]\ncount = 1.5\n",
     "BatterySites.count must be a whole number"),
    ("[[scenario\n", "not valid TOML"),
])
def test_bad_scenario_files_are_refused_by_name(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as exc:
        load_scenarios(path)
    assert message in str(exc.value)


def test_a_scenario_file_error_names_the_scenario_once(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[[scenario]]\nname = 'a'\n[scenario.batteries]\ncount = 1\nsize = 3\n")
    with pytest.raises(ValueError, match="^" + re.escape(
            f"{path}: scenario a: batteries: unknown key(s) ['size']; known: count")):
        load_scenarios(path)


def test_unknown_scenario_name_lists_the_known():
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known: pilot"):
        get_scenario("nope")


# --------------------------------------------------------------------------- bad requests


BAD = [
    (lambda v: BatterySites(count=-1), "BatterySites.count must be >= 0"),
    (lambda v: BatterySites(count=2, capacity_kwh=-10.0), "BatterySites.capacity_kwh must be > 0"),
    (lambda v: BatterySites(count=2, power_kw=0.0), "BatterySites.power_kw must be > 0"),
    (lambda v: BatterySites(count=2, capacity_kwh=5000.0),
     "BatterySites.capacity_kwh must be <= 1000, got 5000"),
    (lambda v: BatterySites(count=2, efficiency=1.2), "BatterySites.efficiency must be <= 1"),
    (lambda v: BatterySites(count=2, efficiency=0.3), "BatterySites.efficiency must be >= 0.5"),
    (lambda v: NeighbourhoodBattery("T1", capacity_kwh=100.0, power_kw=50.0, efficiency=0.3,
                                    same_as="none"),
     "NeighbourhoodBattery.efficiency must be >= 0.5"),
    (lambda v: BatterySites(count=2, rule="biggest"), "BatterySites.rule: unknown value 'biggest'"),
    (lambda v: BatterySites(count=True), "BatterySites.count must be a whole number"),
    (lambda v: BatterySites(rule="explicit"), "BatterySites.households: rule 'explicit' needs"),
    (lambda v: BatterySites(count=1, households=("H1",)), "only used with rule 'explicit'"),
    (lambda v: BatterySites(count=1, eligible="streets"), "BatterySites.eligible: unknown"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(count=6))),
     "BatterySites.count: 6 battery sites asked but only 5 connections are eligible"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(count=7, eligible="all"))),
     "only 6 connections are eligible"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(
        rule="explicit", households=("H1", "H9")))),
     "BatterySites.households: unknown household id(s) ['H9']"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(
        rule="explicit", households=("DORPSHUIS",)))), "['DORPSHUIS'] not eligible"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(
        rule="explicit", households=("H2",), count=3))), "BatterySites.count: 3 differs"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(count=0, existing="keep")))
     , "BatterySites.count: 0 is fewer than the 1 existing"),
    (lambda v: derive(v, Scenario("x", batteries=BatterySites(count=1, transformers=("T9",)))),
     "BatterySites.transformers: unknown transformer(s) ['T9']"),
    (lambda v: derive(v.drop_vars("pv_kwp"), Scenario("x", batteries=BatterySites(count=1))),
     "'largest_pv' needs the village's installed PV"),
    (lambda v: NeighbourhoodBattery("T1"), "NeighbourhoodBattery.capacity_kwh is needed"),
    (lambda v: NeighbourhoodBattery("T1", capacity_kwh=10.0, power_kw=5.0),
     "NeighbourhoodBattery.efficiency is needed"),
    (lambda v: NeighbourhoodBattery("T1", same_as="all_sites", capacity_kwh=10.0),
     "NeighbourhoodBattery.capacity_kwh: give either"),
    (lambda v: NeighbourhoodBattery("T1", capacity_kwh=-1.0, power_kw=5.0, efficiency=0.9),
     "NeighbourhoodBattery.capacity_kwh must be > 0"),
    (lambda v: NeighbourhoodBattery("T1", same_as="sites"), "NeighbourhoodBattery.same_as"),
    (lambda v: NeighbourhoodBattery("T1", same_as="all_sites", id="BATTERY"),
     "NeighbourhoodBattery.id must start with 'BUURTBATTERIJ'"),
    (lambda v: derive(v, Scenario("x", neighbourhood=NeighbourhoodBattery(
        "T3", same_as="all_sites"))), "NeighbourhoodBattery #1.transformer: unknown"),
    (lambda v: derive(v, Scenario("x", neighbourhood=NeighbourhoodBattery(
        "T2", same_as="transformer_sites"))), "finds no battery sites to match on T2"),
    (lambda v: derive(v, Scenario("x", neighbourhood=NeighbourhoodBattery(
        "T1", capacity_kwh=300.0, power_kw=150.0, efficiency=0.9, units=1))),
     "NeighbourhoodBattery #1.units: 1 connection(s) of 150 kW"),
    (lambda v: derive(v, Scenario("x", neighbourhood=(
        NeighbourhoodBattery("T1", capacity_kwh=10.0, power_kw=5.0, efficiency=0.9),
        NeighbourhoodBattery("T1", capacity_kwh=10.0, power_kw=5.0, efficiency=0.9)))),
     "NeighbourhoodBattery #2.id: household id(s) ['BUURTBATTERIJ_T1'] already"),
    (lambda v: derive(v.assign(owner=("household", np.arange(6))), Scenario(
        "x", neighbourhood=NeighbourhoodBattery("T1", same_as="all_sites"))),
     "owner: the village has this per-household variable"),
    (lambda v: derive(v, Scenario("x", growth=Growth(pv_scale=1000.0))),
     "not valid (pv_kw changed by Growth.pv_scale = 1000.0): pv_kw: "),
    (lambda v: Growth(heat_pump_share_added=1.5), "Growth.heat_pump_share_added must be <= 1"),
    (lambda v: Growth(pv_scale=-1.0), "Growth.pv_scale must be >= 0"),
    (lambda v: Growth(ev_kwh_per_year=0.0), "Growth.ev_kwh_per_year must be > 0"),
    (lambda v: Growth(profiles="copy"), "Growth.profiles: unknown value 'copy'"),
    (lambda v: derive(v, Scenario("x", growth=Growth(heat_pump_share_added=1.0))),
     "Growth.heat_pump_share_added: 1 of 5 homes is 5, but only 4 homes have no heat pump"),
    (lambda v: derive(v, Scenario("x", growth=Growth(pv_share_added=0.4))),
     "Growth.pv_share_added: 0.4 of 5 homes is 2, but only 1 homes have no PV"),
    (lambda v: derive(v.drop_vars("pv_kwp"), Scenario("x", growth=Growth(pv_share_added=0.2))),
     "Growth.pv_share_added: needs the village's installed PV"),
    (lambda v: derive(v, Scenario("x", growth=Growth(ev_share_added=0.2,
                                                     ev_kwh_per_year=2000.0))),
     "Growth.ev_kwh_per_year: applies to synthetic EV profiles only"),
    (lambda v: derive(v.drop_vars("heat_pump_kw"), Scenario("x", growth=Growth(
        heat_pump_share_added=0.2, profiles="village"))),
     "Growth.profiles: 'village' but no home of the village has a heat pump"),
    (lambda v: derive(v.drop_vars("heat_pump_kw"), Scenario("x", growth=Growth(
        heat_pump_share_added=0.2))), "synthetic heat-pump profiles need a village of at least "
                                      "365 days (heat_pump_load scales the energy of the "
                                      "period's first twelve months), the village has 2.0 days; and "
                                      "no home of the village has a heat pump to copy"),
    (lambda v: Scenario("x", tariff_regime="2026"), "Scenario.tariff_regime: unknown value '2026'"),
    (lambda v: Scenario("x", feed_in="legal_minimum"), "Scenario.feed_in: the feed-in"),
    (lambda v: Scenario("x", feed_in="half", tariff_regime="2027"), "Scenario.feed_in: unknown"),
    (lambda v: Scenario("x y"), "Scenario.name: 'x y' is not a safe name"),
    (lambda v: Scenario("x", batteries={"count": 1, "colour": "red"}),
     "scenario x: batteries: unknown key(s) ['colour']"),
    (lambda v: derive(v, 3), "scenario must be a Scenario or the name of one"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_requests_are_refused_by_name(six, make, message):
    with pytest.raises(ValueError) as exc:
        make(six)
    assert message in str(exc.value)


def test_invalid_base_village_is_refused_as_data_error(six):
    bad = six.assign(pv_kw=-six["pv_kw"])
    with pytest.raises(DataError, match="pv_kw"):
        derive(bad, "tariff_2027")


def test_recipe_that_is_not_json_is_refused(six):
    six.attrs["recipe"] = "{not json"
    with pytest.raises(ValueError, match="attrs\\['recipe'\\]"):
        recipe(six)


def test_homes_are_ids_of_h_and_digits_else_every_connection():
    """'Hoofdweg 4' is no home id (it counted as one, being the only id with an H): with street
    addresses as ids every connection is a home."""
    from ansen.scenarios import home_ids

    v = tiny(days=2)
    streets = v.assign_coords(household=["Kerkstraat 1", "Hoofdweg 4", "Dorpsstraat 2"])
    assert home_ids(streets) == ["Kerkstraat 1", "Hoofdweg 4", "Dorpsstraat 2"]
    mixed = v.assign_coords(household=["H001", "Hoofdweg 4", "H7"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'Hoofdweg 4' does not look like a home
        assert home_ids(mixed) == ["H001", "H7"]


def test_ids_that_look_like_homes_but_are_not_are_named():
    """'H12a' is not a home id: it counts as another connection, and both the scenarios'
    homes and the data summary say so (it was left out of the homes in silence)."""
    from ansen.data import summary
    from ansen.scenarios import home_ids

    v = tiny(days=2).assign_coords(household=["H001", "H002a", "H003"])
    with pytest.warns(UserWarning, match=r"scenario's homes: 1 household id\(s\) look like "
                                         r"homes .* \['H002a'\]; rename them H<digits>"):
        assert home_ids(v) == ["H001", "H003"]
    with pytest.warns(UserWarning, match=r"data summary: 1 household id\(s\) .*H002a"):
        summary(v)


def test_a_site_chosen_again_with_its_own_battery_is_unchanged_not_added():
    """existing='replace' that picks a site with the very battery it had lists it as
    unchanged (it was counted among the added batteries)."""
    v = tiny(days=2)  # H001 and H003 hold 10 kWh / 5 kW / 0.95
    d = derive(v, Scenario(name="again", batteries=BatterySites(
        rule="explicit", households=("H001", "H002"), eligible="all", existing="replace",
        capacity_kwh=10.0, power_kw=5.0, efficiency=0.95)))
    applied = json.loads(d.attrs["recipe"])["applied"]["batteries"]
    assert applied["added"] == ["H002"] and applied["unchanged"] == ["H001"]
    assert applied["removed"] == ["H003"] and applied["replaced"] == []


def test_a_share_that_rounds_to_no_new_site_is_said(six):
    with pytest.warns(UserWarning, match=r"BatterySites.share: 0.05 of the 5 eligible "
                                         r"connections .* rounds to 0: no new battery site"):
        d = derive(six, Scenario("s", batteries=BatterySites(share=0.05)))
    assert sites(d) == ["DORPSHUIS"]


def test_a_part_s_warning_is_said_when_a_later_part_fails():
    """derive() kept the warnings of its parts until the end, and lost them when a later part
    failed (a review's find)."""
    v = village6().assign(transformer_kva=("transformer", [100.0, 160.0]))
    scenario = Scenario("big", neighbourhood=[
        NeighbourhoodBattery("T1", capacity_kwh=500.0, power_kw=250.0, efficiency=0.95,
                             units=5),
        NeighbourhoodBattery("T9", capacity_kwh=10.0, power_kw=5.0, efficiency=0.95)])
    with pytest.warns(UserWarning, match="^scenario big: NeighbourhoodBattery #1: 250 kW"), \
            pytest.raises(ValueError, match="unknown transformer 'T9'"):
        derive(v, scenario)

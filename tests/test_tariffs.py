"""Dutch dynamic tariff: prices, net metering over the year and household bills, by hand."""

import re

import numpy as np
import pandas as pd
import pytest

from ansen.data import from_arrays, local_time
from ansen.tariffs import Tariff, annual_net_kwh, household_costs, last_year_net_kwh

TAX25 = 0.10154


def test_import_price_by_hand():
    t = Tariff()
    # (0.10 + 0.02 + 0.10154) * 1.21 in 2025
    assert t.import_price(np.array([0.10]), np.array([2025]))[0] == pytest.approx(0.2680634)
    assert t.import_price(np.array([0.10]), np.array([2024]))[0] == pytest.approx(
        (0.10 + 0.02 + 0.1088) * 1.21)


def test_export_price_depends_on_the_annual_position_and_the_regime():
    p, y = np.array([0.05, -0.02]), np.array([2025, 2025])
    t = Tariff()
    # net importer: the day-ahead price and the energy tax back, both with VAT
    np.testing.assert_allclose(t.export_price(p, y), (p + TAX25) * 1.21)
    # net exporter: the day-ahead price only (the dynamic contract's feed-in compensation)
    np.testing.assert_allclose(t.export_price(p, y, net_importer=False), p * 1.21)
    after = Tariff.after_net_metering()
    np.testing.assert_allclose(after.export_price(p, y), p)  # no VAT on feed-in from 2027
    assert (after.export_price(p, y) < after.import_price(p, y)).all()
    half = Tariff.after_net_metering(feed_in_share=0.5)  # the legal minimum 2027-2029
    np.testing.assert_allclose(half.export_price(p, y), 0.5 * p)


def test_marginal_prices_per_household():
    p, y = np.array([0.10, 0.20]), np.array([2025, 2025])
    imp, exp = Tariff().marginal_prices(p, y, np.array([True, False]))
    assert imp.shape == exp.shape == (2, 2)
    np.testing.assert_allclose(imp[:, 0], (p + 0.02 + TAX25) * 1.21)
    np.testing.assert_allclose(imp[:, 1], (p + 0.02) * 1.21)  # an exporter pays no tax at the margin
    np.testing.assert_allclose(exp[:, 0] - exp[:, 1], TAX25 * 1.21)


def test_unknown_year_and_bad_tariff_values():
    with pytest.raises(ValueError, match=r"no energy tax for year\(s\) \[2030\]"):
        Tariff().import_price(np.array([0.1]), np.array([2030]))
    with pytest.raises(ValueError, match="feed_in_share must lie in"):
        Tariff(feed_in_share=1.5)
    with pytest.raises(ValueError, match="supplier_margin_eur_per_kwh must be a finite number"):
        Tariff(supplier_margin_eur_per_kwh="0.02")


def _year_village(year=2025):
    """Two homes over one calendar year, 15-minute steps, day-ahead price 0.10 EUR/kWh.

    H1 (net importer): load 0.5 kW, PV 2 kW from 10:00 to 14:00 local: a day imports
    0.5 x 20 = 10 kWh and exports 1.5 x 4 = 6 kWh. H2 (net exporter): load 0.25 kW,
    PV 3 kW 10:00-14:00: imports 5 kWh and exports 11 kWh a day.
    """
    t = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left",
                      tz="Europe/Amsterdam")
    sun = np.asarray((t.hour >= 10) & (t.hour < 14))
    load = np.column_stack([np.full(len(t), 0.5), np.full(len(t), 0.25)])
    pv = np.column_stack([2.0 * sun, 3.0 * sun])
    return from_arrays(t, load, pv, household_transformer=["T1", "T1"],
                       transformer_kva=[100.0], price_eur_per_kwh=np.full(len(t), 0.10))


@pytest.fixture(scope="module")
def year_village():
    return _year_village()


def test_annual_net_of_a_full_year(year_village):
    v = year_village
    net = (v["load_kw"] - v["pv_kw"]).values
    n = annual_net_kwh(net, local_time(v), 0.25, v["household"].values)
    assert n.loc[2025].to_numpy() == pytest.approx([4 * 365, -6 * 365])
    assert n.attrs["estimated"] == {2025: "data"}


def test_bill_of_a_net_importer_and_a_net_exporter_by_hand(year_village):
    """Net metering: supply part per step, energy tax only on the annual net consumption."""
    c = household_costs(year_village, Tariff(), fixed=False)
    assert list(c.index) == [f"2025-{m:02d}" for m in range(1, 13)]
    bill = c.sum()
    imp, exp = np.array([10.0, 5.0]) * 365, np.array([6.0, 11.0]) * 365
    supply = (imp * 0.12 - exp * 0.10) * 1.21
    assert bill.iloc[0] == pytest.approx(supply[0] + TAX25 * 1.21 * (imp[0] - exp[0]))
    assert bill.iloc[1] == pytest.approx(supply[1])  # exporter: no tax, surplus at the DA price
    # after net metering: tax on every imported kWh, feed-in at the day-ahead price, no VAT
    after = household_costs(year_village, Tariff.after_net_metering(), fixed=False).sum()
    np.testing.assert_allclose(after.to_numpy(), imp * (0.12 + TAX25) * 1.21 - exp * 0.10)


def test_bill_of_a_month_follows_the_year(year_village):
    """A June run of the exporter is billed with its annual position, not June's."""
    june = year_village.sel(time=slice("2025-05-31T22:00", "2025-06-30T21:45"))  # UTC
    annual = annual_net_kwh((year_village["load_kw"] - year_village["pv_kw"]).values,
                            local_time(year_village), 0.25, year_village["household"].values)
    c = household_costs(june, Tariff(), fixed=False, annual_net=annual)
    days = 30
    expect_importer = (10 * 0.12 - 6 * 0.10) * 1.21 * days + TAX25 * 1.21 * 4 * days
    expect_exporter = (5 * 0.12 - 11 * 0.10) * 1.21 * days
    assert c.iloc[0].to_numpy() == pytest.approx([expect_importer, expect_exporter])


def test_missing_days_are_filled_from_other_years_and_said():
    """Data from July 2024 to June 2025: 2024's first half borrows 2025's."""
    t = pd.date_range("2024-07-01", "2025-07-01", freq="1h", inclusive="left",
                      tz="Europe/Amsterdam")
    net = np.where(t.year == 2024, 1.0, 2.0)[:, None]  # kW all day: 24 or 48 kWh a day
    n = annual_net_kwh(net, t, 1.0, ["H"])
    # Jul-Dec 2024 (27 October has 25 hours) + Jan-Jun 2024's 182 days from 2025 (30 March
    # has 23 hours; 29 February takes 28 February)
    assert n.loc[2024, "H"] == pytest.approx(184 * 24 + 1 + 182 * 48 - 2)
    assert "182 days from the same calendar days elsewhere in the data" in n.attrs["estimated"][2024]
    # ... and says that they come from after the year (2025), which 2025's (from 2024) do not
    assert n.attrs["estimated"][2024].endswith("(182 of them from days after the window)")
    assert "after the window" not in n.attrs["estimated"][2025]
    last, note = last_year_net_kwh(net, t, 1.0, pd.Timestamp("2024-10-01"))
    assert note.endswith("273 days from the same calendar days elsewhere in the data (273 of "
                         "them from days after the window)")
    # stand-ins that are the mean of a year before and a year after the window: "in part"
    two = pd.date_range("2023-01-01", "2023-04-01", freq="1h", inclusive="left",
                        tz="Europe/Amsterdam").append(pd.date_range(
                            "2025-01-01", "2025-04-01", freq="1h", inclusive="left",
                            tz="Europe/Amsterdam"))
    _, note = last_year_net_kwh(np.ones((len(two), 1)), two, 1.0, pd.Timestamp("2024-06-01"))
    assert "91 days from the same calendar days elsewhere in the data (91 of them in part " \
           "from days after the window)" in note
    last, note = last_year_net_kwh(net, t, 1.0, pd.Timestamp("2025-07-01"))
    assert last[0] == pytest.approx(184 * 24 + 1 + 181 * 48 - 2) and note == "data"


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


def test_positions_scaled_from_short_data_are_announced():
    """Under net metering the annual position picks the marginal prices; from a few days of
    data it is an extrapolation, and the run says so (not under the 2027 rules)."""
    import warnings

    import ansen
    from tests.conftest import tiny

    v = tiny(days=3)
    with pytest.warns(UserWarning,
                      match=r"less than a year of data.*in no year of the data: the sum over "
                            r"the \d+ known hours scaled up to the window's 8760 \(365 days\)\)"):
        ansen.simulate(v, "M0", progress=False, forecast="perfect")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ansen.simulate(v, "M0", progress=False, forecast="perfect",
                       tariff=Tariff.after_net_metering())


def test_a_year_without_tax_figures_names_the_fix_and_rules_run_without_them():
    """Data of 2023: the rules (none, M1) need no prices and run; a cost model says which
    years the tariff knows and how to give others; with the year's figures it runs."""
    import ansen
    from ansen.tariffs import ENERGY_TAX, TAX_REDUCTION
    from tests.conftest import tiny

    v = tiny(days=2, start="2023-06-05")
    for model in ("none", "M1"):
        run = ansen.simulate(v, model, progress=False)
        assert run.sizes["time"] > 0
    with pytest.raises(ValueError, match=r"no energy tax for year\(s\) \[2023\]; it knows 2024, "
                                         r"2025, 2026\..*Tariff\(energy_tax="):
        ansen.simulate(v, "M4", progress=False)
    with pytest.raises(ValueError, match=r"no energy-tax reduction for year 2023; it knows"):
        Tariff(energy_tax={**ENERGY_TAX, 2023: 0.12}).fixed_eur_per_month(2023)
    own = Tariff(energy_tax={**ENERGY_TAX, 2023: 0.12},
                 tax_reduction_eur_per_year={**TAX_REDUCTION, 2023: 500.0})
    assert ansen.simulate(v, "M4", progress=False, tariff=own).sizes["time"] > 0


def test_net_metering_after_2026_is_announced():
    """Net metering ends with 2026: a run into 2027 under a netting tariff says so, one under
    the 2027 tariff does not."""
    import warnings

    import ansen
    from ansen.tariffs import ENERGY_TAX, TAX_REDUCTION
    from tests.conftest import tiny

    v = tiny(days=2, start="2027-06-07")
    taxes = {"energy_tax": {**ENERGY_TAX, 2027: 0.09},
             "tax_reduction_eur_per_year": {**TAX_REDUCTION, 2027: 500.0}}
    with pytest.warns(UserWarning, match=r"simulate M0: the run reaches 2027, but net metering "
                                         r"ends on 31 December 2026"):
        ansen.simulate(v, "M0", progress=False, tariff=Tariff(**taxes))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*net metering ends")
        ansen.simulate(v, "M0", progress=False, tariff=Tariff.after_net_metering(**taxes))
        ansen.simulate(tiny(days=2, start="2026-06-08"), "M0", progress=False)


@pytest.mark.parametrize("first_hour", [0, 2, 23])
def test_part_days_count_with_the_hours_they_hold(first_hour):
    """An export cut at another hour than local midnight starts and ends with part-days;
    they counted as whole days, so a constant 1 kW read as 10 % less over the year
    (a newcomer's village of 10 days that began at 02:00)."""
    from ansen.tariffs import last_year_net_kwh

    local = pd.date_range(f"2025-06-02 {first_hour:02d}:00", periods=10 * 96, freq="15min",
                          tz="Europe/Amsterdam")
    net = np.ones((len(local), 2))
    for before in ("2025-06-20", "2025-06-04"):  # after the data; in them (other days fill)
        total, note = last_year_net_kwh(net, local, 0.25, pd.Timestamp(before))
        assert total == pytest.approx([8760.0, 8760.0])  # 1 kW over the window's 8760 h
        assert "known hours scaled up" in note
        assert ("in part" in note) == (first_hour != 0)
    total, note = last_year_net_kwh(net, local, 0.25, pd.Timestamp("2025-06-03"))
    assert note.startswith("1 day in the data") and "1 days" not in note
    # two hours of data, outside the window: the data's mean power over the window
    total, note = last_year_net_kwh(2 * net[:8], local[:8], 0.25, local[0])
    assert total == pytest.approx([17520.0, 17520.0]) and "no known hour" in note


def test_a_village_outside_the_netherlands_is_told_it_is_billed_under_dutch_rules():
    """A London village ran under Dutch net metering, energy tax and VAT without a word."""
    import warnings

    import ansen
    from ansen.tariffs import Tariff
    from tests.conftest import tiny

    v = tiny(days=2)
    v.attrs["timezone"] = "Europe/London"
    with pytest.warns(UserWarning, match=r"simulate M1: the village's time zone is "
                                         r"Europe/London, but its households are steered and "
                                         r"billed under Dutch rules"):
        ansen.simulate(v, "M1", progress=False)
    with pytest.warns(UserWarning, match=r"Dutch rules: the tariff's energy tax is the Dutch"):
        ansen.simulate(v, "M1", progress=False, tariff=Tariff.after_net_metering())
    with warnings.catch_warnings():  # a tariff with taxes of one's own: nothing to say
        warnings.filterwarnings("error", message="simulate .* Dutch rules")
        ansen.simulate(v, "M1", progress=False, tariff=Tariff(
            energy_tax={2025: 0.2}, tax_reduction_eur_per_year={2025: 0.0}))
        ansen.simulate(tiny(days=2), "M1", progress=False)


@pytest.mark.parametrize("text, said", [
    ('[tariff]\nbase = "2030"\n', "base must be 'net_metering' or '2027'"),
    ('[tariff]\nenergy_tax = { next = 0.1 }\n', "energy_tax: next = 0.1; give each year"),
    ('[tariff]\nenergy_tax = { 2027 = -0.1 }\n', "energy_tax: 2027 = -0.1"),
    ('[tariff]\nenergy_tax = { 1 = 0.1 }\n', "energy_tax: 1 = 0.1; give each year (four"),
    ('[tariff]\nnet_metering = "no"\n', "net_metering must be true or false"),
    ('[tariff]\nfeed_in_share = 1.5\n', "Tariff.feed_in_share must lie in"),
    ('[tarif]\nvat = 0.2\n', "a tariff file holds one [tariff] table"),
    ('[tariff]\nvat = 21\n', "Tariff.vat = 21 is above 1: give it as a share: 0.21 for 21 %"),
    ('[tariff]\nenergy_tax = { 2027 = 91.6 }\n', "Tariff.energy_tax[2027] = 91.6: give it in "
                                                 "EUR per kWh"),
    ('[tariff]\nsupplier_margin_eur_per_kwh = 20\n', "give it as EUR per kWh"),
    ('[tariff]\nstanding_eur_per_month = -6\n', "standing_eur_per_month must be >= 0"),
])
def test_a_tariff_file_is_refused_by_file_and_key(tmp_path, text, said):
    from ansen.tariffs import read_tariff

    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{path}: ") + ".*" + re.escape(said)):
        read_tariff(path)


def test_a_tariff_file_changes_its_base(tmp_path):
    from ansen.tariffs import read_tariff

    path = tmp_path / "t.toml"
    for base in ('"2027"', "2027"):  # unquoted, a number in TOML
        path.write_text(f'[tariff]\nbase = {base}\nvat = 0.09\nenergy_tax = {{ 2027 = 0.05 }}\n')
        assert read_tariff(path) == Tariff.after_net_metering(vat=0.09, energy_tax={2027: 0.05})


def test_a_year_missing_from_one_tax_table_is_said_table_by_table():
    """'it knows no year' for a tariff whose two tables held 2026 and 2025 (outside check
    11)."""
    t = Tariff(energy_tax={2026: 0.0916}, tax_reduction_eur_per_year={2025: 524.95})
    with pytest.raises(ValueError, match=r"it knows both for none \(energy_tax: 2026; "
                                         r"tax_reduction_eur_per_year: 2025\)\. A tariff file"):
        t.check_years([2026])

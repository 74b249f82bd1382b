"""The penetration study's tables from a real (tiny) sweep store."""

import re

import numpy as np
import pytest

import ansen.data
from ansen import penetration, sweep
from tests.conftest import tiny

ALL = {"rule": "net_exporters", "eligible": "all", "existing": "replace"}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("penetration")
    village = ansen.data.save(tiny(days=4), folder / "tiny.nc")
    levels = [{"name": f"penetration_{n:03d}", "batteries": {"count": n, **ALL}}
              for n in (1, 3)]
    scenarios = [*levels, {"name": "penetration_003_2027", "batteries": {"count": 3, **ALL},
                           "tariff": "2027"},
                 {"name": "neighbourhood_T1_003", "batteries": {"count": 3, **ALL},
                  "neighbourhood": [{"transformer": "T1", "same_as": "all_sites"}]}]
    g = sweep.grid([village], scenarios, ["M1", "M4"],
                   [{"start": "2025-06-03", "end": "2025-06-05", "name": "summer",
                     "season": "summer"}],
                   name="p")
    store = folder / "p.parquet"
    out = sweep.run(g, store, scheduler="synchronous", progress=False)
    assert not out["failed"], out["failed"]
    return sweep.read_store(store)


def test_levels_start_from_the_village_without_batteries(rows):
    t = penetration.table(rows)
    assert sorted(t["battery_sites"].unique()) == [0, 1, 3]
    assert set(t["variant"]) == {"M1", "M4", "M1 (2027 tariff)", "M4 (2027 tariff)"}
    zero = t[t["battery_sites"] == 0]
    assert len(zero) == 4 and (zero["village_saving_eur_per_month"] == 0).all()
    # no battery: the same grid whatever the tariff, a dearer bill without net metering
    grid_cols = [c for c in penetration.MEASURES if c != "village_cost_eur_per_month"]
    np.testing.assert_allclose(zero[grid_cols].to_numpy(),
                               np.repeat(zero[grid_cols].to_numpy()[:1], len(zero), axis=0))
    nm = zero.set_index("variant")["village_cost_eur_per_month"]
    assert nm["M1 (2027 tariff)"] >= nm["M1"]
    # the saving is the difference of the village's bills
    r = t[t["battery_sites"] > 0]
    base = zero.set_index("variant")["village_cost_eur_per_month"]
    np.testing.assert_allclose(r["village_saving_eur_per_month"],
                               base.loc[r["variant"]].to_numpy()
                               - r["village_cost_eur_per_month"].to_numpy())


def test_findings_and_markdown_come_from_the_table(rows):
    t = penetration.table(rows)
    lines = penetration.findings(t)
    assert any(line.startswith("summer, M4: ") for line in lines)
    text = penetration.markdown(t, penetration.neighbourhood_table(rows))
    assert "## Neighbourhood battery against home batteries" in text
    assert f"{t['transformer_import_peak_pu'].iloc[0]:.2f}" in text


def test_neighbourhood_rows_stand_beside_homes_with_the_same_kwh(rows):
    nb = penetration.neighbourhood_table(rows)
    assert set(nb["layout"]) == {"homes", "T1"} and set(nb["model"]) == {"M1", "M4"}
    kwh = nb.groupby("layout")["battery_kwh_total"].first()
    assert kwh["homes"] == kwh["T1"] == 30.0


def test_neighbourhood_rows_under_a_parameter_set_of_ones_own_are_kept(rows):
    """They were dropped unless the set was named like the shipped spec's (hourly_plans)."""
    own = rows.assign(params="hourly")
    nb = penetration.neighbourhood_table(own)
    assert set(nb["model"]) == {"M1 (hourly)", "M4 (hourly)"}
    assert set(nb["layout"]) == {"homes", "T1"}
    # the variants compare like with like: homes under the 2027 tariff stay out
    assert len(nb) == len(penetration.neighbourhood_table(rows))


def test_neighbourhood_rows_pair_with_one_home_run_each(rows):
    """Two home runs for one level and variant (another rule, say) were both set beside one
    neighbourhood run; now refused, as the level table refuses them."""
    import pandas as pd

    twin = rows[rows["scenario"] == "penetration_003"].assign(scenario="penetration_003")
    with pytest.raises(ValueError, match="several runs for one season, period, battery total"):
        penetration.neighbourhood_table(pd.concat([rows, twin], ignore_index=True))


def test_neighbourhood_levels_named_by_share_count_the_home_batteries(rows):
    """On another village the levels are shares (penetration_050: half the homes); the
    table and figure said 50 batteries where there were 3."""
    named = rows.replace({"scenario": {"penetration_003": "penetration_050",
                                       "neighbourhood_T1_003": "neighbourhood_T1_050"}})
    nb = penetration.neighbourhood_table(named)
    assert set(nb["batteries"]) == {3}
    axes = penetration.plot_neighbourhood(nb, 3)
    assert "of 3 home batteries (30 kWh)" in axes[0].figure._suptitle.get_text()


def test_neighbourhood_and_homes_of_different_totals_are_refused(rows, tmp_path):
    """A neighbourhood battery of 30 kWh was set beside one home battery of 10 kWh without a
    word when their names said the same level; the report dropped the comparison in silence
    on any error."""
    wrong = rows.replace({"scenario": {"penetration_003": "penetration_003_other",
                                       "neighbourhood_T1_003": "neighbourhood_T1_001"}})
    message = ("neighbourhood_T1_001 30 kWh / 15 kW against penetration_001 10 kWh / 5 kW "
               "(summer)")
    with pytest.raises(ValueError, match=re.escape(message)):
        penetration.neighbourhood_table(wrong)
    with pytest.raises(ValueError, match=re.escape(message)):
        penetration.write_report(wrong, tmp_path)


def test_a_level_without_neighbourhood_runs_does_not_stop_the_comparison(rows):
    """Runs of a level that no neighbourhood run stands beside are not checked here (review:
    two grids' runs at level 1 stopped the whole report)."""
    import pandas as pd

    twin = rows[rows["scenario"] == "penetration_001"].assign(battery_sites=2,
                                                               params="other")
    nb = penetration.neighbourhood_table(pd.concat([rows, twin], ignore_index=True))
    assert set(nb["batteries"]) == {3}


def test_report_files(rows, tmp_path):
    files = penetration.write_report(rows, tmp_path)
    names = {f.name for f in files}
    assert {"penetration.csv", "neighbourhood.csv", "penetration.md", "penetration_grid.png",
            "penetration_money.png", "neighbourhood_003.png"} <= names
    assert all(f.is_file() for f in files)


def test_rows_without_levels_are_refused(rows):
    with pytest.raises(ValueError, match="no penetration rows"):
        penetration.table(rows[~rows["scenario"].str.startswith("penetration")])


def test_two_periods_of_one_season_are_refused_with_the_way_out(rows):
    """The tables are by season: a store with two periods of one season says so."""
    other = rows.assign(period="summer2", start="2025-06-10", end="2025-06-12")
    both = __import__("pandas").concat([rows, other], ignore_index=True)
    with pytest.raises(ValueError, match=r"the store holds two periods of one season .* give "
                                         r"each period its own season"):
        penetration.table(both)


def test_the_report_says_what_the_store_holds_and_what_it_leaves_out(rows, tmp_path):
    """A neighbourhood scenario not named neighbourhood_<layout>_NNN was dropped in silence;
    the text described the shipped study (two weeks, 10 kWh / 5 kW) whatever the store."""
    renamed = rows.copy()
    renamed.loc[renamed["scenario"] == "neighbourhood_T1_003", "scenario"] = "buurt_kerk_003"
    assert penetration.left_out(renamed) == ["buurt_kerk_003"]
    lines = penetration.describe(renamed)
    assert "levels: 1, 3 battery sites of 10 kWh and 5 kW on average per site" in lines[0]
    assert "summer 2025-06-03 to 2025-06-05 (2 days)" in lines[1]
    assert lines[-2].endswith("neighbourhood_<layout>_NNN): 'buurt_kerk_003'")  # quoted: a
    # scenario named "none" read as "nothing left out"
    assert lines[-1].startswith(f"provenance: {len(rows)} rows of ansen ")  # and their hashes
    assert "code SHA-256 " + rows["code_sha256"].iloc[0][:12] in lines[-1]
    with pytest.warns(UserWarning, match=r"1 scenario\(s\) left out.*buurt_kerk_003"):
        penetration.write_report(renamed, tmp_path)
    text = (tmp_path / "penetration.md").read_text()
    assert "buurt_kerk_003" in text and "two weeks" not in text


def test_findings_name_the_transformer_and_level_zero_has_no_battery_saving(rows):
    t = penetration.table(rows)
    assert set(t["transformer_import_peak_at"]) <= {"T1", "T2"}
    zero = t[t["battery_sites"] == 0]
    assert zero["saving_eur_per_battery_household_month"].isna().all()  # no battery household
    m4 = [line for line in penetration.findings(t) if line.startswith("summer, M4: ")][0]
    assert " of the rating, T1, at " in m4 or " of the rating, T2, at " in m4
    # the no-battery load of another transformer than the run's is named as such (it read
    # as the same transformer's)
    m0 = t[t["variant"] == "M1"].assign(variant="M0")
    top = m0["battery_sites"] == m0["battery_sites"].max()
    m0.loc[top, "transformer_import_peak_at"] = "T1"
    m0.loc[m0["battery_sites"] == 0, "transformer_import_peak_at"] = "T2"
    (line,) = [x for x in penetration.findings(m0) if x.startswith("summer, 3 batteries, M0")]
    assert "import " in line and "(T1; no battery " in line and " on T2), export" in line
    m0.loc[m0["battery_sites"] == 0, "transformer_import_peak_at"] = "T1"
    (line,) = [x for x in penetration.findings(m0) if x.startswith("summer, 3 batteries, M0")]
    assert " on T" not in line.split("export")[0]


def test_figures_fit_any_battery_size_and_season_count(rows):
    """The axis read "batteries (10 kWh)" on a study of 13.5 kWh batteries, and a long
    title was cut off on a figure of one or two seasons."""
    import matplotlib.pyplot as plt

    t = penetration.table(rows)
    title = "Battery penetration: the largest transformer load and the hours over its rating"
    axes = penetration.plot_headline(t, title)
    fig = axes[0, 0].figure
    assert axes[-1, 0].get_xlabel() == "battery sites"
    assert "\n" in fig._suptitle.get_text()  # wrapped to the one-season figure's width
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    plt.close(fig)
    assert "plan steps [min]: the data's step" in penetration.describe(rows)
    axes = penetration.plot_neighbourhood(penetration.neighbourhood_table(rows), 3)
    fig = axes[0].figure
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and "(30 kWh)" in fig._suptitle.get_text()
    plt.close(fig)


def test_findings_say_why_there_are_none(rows):
    t = penetration.table(rows)
    (line,) = penetration.findings(t[t["variant"] == "M1"])
    assert line.startswith("none: the findings read market steering (M0)") and "M1" in line


def _with_twin(rows, model="M4", twin="M9"):
    """The store with a copy of ``model``'s runs under another name: a variant whose every
    number is another's."""
    import pandas as pd

    copy = rows[rows["model"] == model].assign(model=twin)
    return pd.concat([rows, copy], ignore_index=True)


def test_identical_variants_are_found_and_drawn_once(rows):
    """M2 and M0 with household meters plan alike; drawn, one line hid the other."""
    import matplotlib.pyplot as plt

    t = penetration.table(_with_twin(rows))
    assert penetration.identical(t) == {"M9": "M4", "M9 (2027 tariff)": "M4 (2027 tariff)"}
    assert penetration.identical(penetration.table(rows)) == {}
    # a twin without one of the levels, or of the seasons, is a different variant
    assert "M9" not in penetration.identical(
        t[~((t["variant"] == "M9") & (t["battery_sites"] == 1))])
    # so are the variants of a store without a level with batteries (the baselines alike)
    assert penetration.identical(t[t["battery_sites"] == 0]) == {}
    # a difference in one number of one row is a different variant
    nudged = t.copy()
    i = nudged.index[(nudged["variant"] == "M9") & (nudged["battery_sites"] == 3)][0]
    nudged.loc[i, "mv_import_peak_kw"] *= 1.001
    assert "M9" not in penetration.identical(nudged)
    axes = penetration.plot_levels(t, ["transformer_import_peak_pu"])
    labels = axes[0, -1].get_legend_handles_labels()[1]
    assert "M4 = M9" in labels and "M9" not in labels
    assert len(axes[0, 0].get_lines()) == 4 + 1  # four variants drawn once, and the rating
    plt.close(axes[0, 0].figure)
    text = "\n".join(penetration.over_rating_markdown(t))
    assert "| M4 = M9 | " in text and "| M9 | " not in text and "(M9 = M4;" in text
    # twins chosen without the variant they equal are drawn once too
    axes = penetration.plot_levels(penetration.table(_with_twin(_with_twin(rows), "M4", "M8")),
                                   ["transformer_import_peak_pu"], variants=["M8", "M9"])
    assert axes[0, -1].get_legend_handles_labels()[1] == ["M8 = M9"]
    plt.close(axes[0, 0].figure)


def test_over_rating_reads_the_hours_over_and_the_largest_load(rows):
    t = penetration.table(rows)
    o = penetration.over_rating(t).set_index(["variant", "season"])
    for (v, season), r in o.iterrows():
        d = t[(t["variant"] == v) & (t["season"] == season) & (t["battery_sites"] > 0)]
        load = d[["transformer_import_peak_pu", "transformer_export_peak_pu"]].max(axis=1)
        assert r["largest_load_pu"] == load.max()
        assert r["at_level"] == d.loc[load.idxmax(), "battery_sites"]
        assert r["levels_over"] == sorted(d.loc[d["transformer_over_rating_h"] > 0,
                                                "battery_sites"])
    # levels over the rating are listed, ascending, and only those
    over = t.copy()
    m1 = over["variant"] == "M1"
    over.loc[m1 & (over["battery_sites"] == 3), "transformer_over_rating_h"] = 0.5
    over.loc[m1 & (over["battery_sites"] == 1), "transformer_over_rating_h"] = 0.25
    o = penetration.over_rating(over).set_index(["variant", "season"])
    assert o.loc[("M1", "summer"), "levels_over"] == [1, 3]
    assert o.loc[("M1", "summer"), "no_battery_pu"] == t.loc[
        m1 & (t["battery_sites"] == 0), ["transformer_import_peak_pu",
                                          "transformer_export_peak_pu"]].max(axis=1).iloc[0]
    assert "| M1 | 1, 3 (" in "\n".join(penetration.over_rating_markdown(over))
    assert o.loc[("M4", "summer"), "levels_over"] == \
        penetration.over_rating(t).set_index(["variant", "season"]).loc[("M4", "summer"),
                                                                        "levels_over"]


def test_the_headline_figure_draws_the_variants_the_store_has(rows, tmp_path):
    import matplotlib.pyplot as plt

    t = penetration.table(rows)
    axes = penetration.plot_headline(t)
    labels = axes[0, -1].get_legend_handles_labels()[1]
    assert labels == ["M1", "M4"]  # of HEADLINE, those present
    assert axes.shape == (2, 1)
    # the top row: the larger of import and export, against the rating
    m4 = t[t["variant"] == "M4"].sort_values("battery_sites")
    line = axes[0, 0].get_lines()[labels.index("M4")]
    np.testing.assert_array_equal(line.get_ydata(), m4[["transformer_import_peak_pu",
                                                        "transformer_export_peak_pu"]].max(axis=1))
    plt.close(axes[0, 0].figure)
    # fewer than two of them: every variant
    only = t[t["variant"].isin(["M1", "M4 (2027 tariff)"])]
    axes = penetration.plot_headline(only.assign(variant=only["variant"].replace("M1", "X")))
    assert sorted(axes[0, -1].get_legend_handles_labels()[1]) == ["M4 (2027 tariff)", "X"]
    plt.close(axes[0, 0].figure)
    files = penetration.write_report(rows, tmp_path)
    assert "penetration_headline.png" in {f.name for f in files}
    assert "## Transformers against their rating" in (tmp_path / "penetration.md").read_text()


def test_the_rating_table_says_what_it_does_not_know(rows):
    """NaN hours over the rating read as "none"; NaN loads, or a variant without a level
    with batteries, made the table fail."""
    t = penetration.table(rows)
    m4 = (t["variant"] == "M4") & (t["battery_sites"] > 0)
    unknown = t.copy()
    unknown.loc[m4 & (t["battery_sites"] == 3), "transformer_over_rating_h"] = np.nan
    text = "\n".join(penetration.over_rating_markdown(unknown))
    assert "| M4 | 3? (" in text and "`?` where they are not known" in text
    no_load = t.copy()
    no_load.loc[m4, ["transformer_import_peak_pu", "transformer_export_peak_pu"]] = np.nan
    assert "| M4 | none (-) |" in "\n".join(penetration.over_rating_markdown(no_load))
    assert "summer, M4: no level with batteries and a known transformer load." in \
        penetration.findings(no_load)
    zero = t[~m4]
    assert "| M4 | no battery level |" in "\n".join(penetration.over_rating_markdown(zero))
    # a variant missing from a season: "-"
    two = t.assign(season="summer").copy()
    other = t[t["variant"] == "M1"].assign(season="autumn")
    import pandas as pd

    text = "\n".join(penetration.over_rating_markdown(pd.concat([two, other])))
    assert "| M4 | none (" in text and text.split("| M4 | ")[1].split("\n")[0].endswith("| - |")


def test_hours_over_the_rating_start_at_zero_and_show_every_season(rows):
    """The hours axis ran from -0.055 with none over; then a limit set per panel on the shared
    axis cut the later seasons' lines at the first season's top (65 h drawn under 28)."""
    import pandas as pd

    t = penetration.table(rows)
    summer = t.assign(transformer_over_rating_h=np.where(t["battery_sites"] == 3, 65.0, 0.0))
    winter = t.assign(season="winter",  # drawn first, with fewer hours
                      transformer_over_rating_h=np.where(t["battery_sites"] == 3, 5.0, 0.0))
    axes = penetration.plot_levels(pd.concat([winter, summer], ignore_index=True),
                                   ["transformer_over_rating_h"])
    assert [ax.get_title() for ax in axes[0]] == ["winter", "summer"]
    low, high = axes[0, -1].get_ylim()
    assert low == 0.0 and high >= 65.0


def test_markdown_levels_ascend_whatever_variant_comes_first(rows):
    """A variant run at fewer levels (here the 2027 tariff: 0 and 3) listed first set the
    columns' order (0, 3, 1) of every level table."""
    t = penetration.table(rows)
    first = t.sort_values("variant", key=lambda v: ~v.str.contains("2027"), kind="stable")
    assert first["variant"].iloc[0].endswith("(2027 tariff)")
    headers = re.findall(r"^\| model \| ([\d |]+) \|$", penetration.markdown(first), flags=re.M)
    assert headers and set(headers) == {"0 | 1 | 3"}


def test_a_village_over_its_rating_without_batteries_is_not_blamed_on_them(rows):
    """An outside check's village was 2.5 h over its rating without batteries; M1 and M4
    shortened that, yet the report listed their levels as over the rating and M4's finding
    said "over the rating at 10 batteries" without the 2.5 h."""
    t = penetration.table(rows).copy()
    m4 = t["variant"] == "M4"
    t.loc[m4 & (t["battery_sites"] == 0), "transformer_over_rating_h"] = 2.5
    t.loc[m4 & (t["battery_sites"] == 1), "transformer_over_rating_h"] = 0.5
    t.loc[m4 & (t["battery_sites"] == 3), "transformer_over_rating_h"] = 3.0
    o = penetration.over_rating(t).set_index(["variant", "season"]).loc[("M4", "summer")]
    assert o["levels_over"] == [1, 3] and o["levels_longer"] == [3]
    assert o["no_battery_h"] == 2.5
    text = "\n".join(penetration.over_rating_markdown(t))
    assert "| M4 | 1*, 3 (" in text and "(2.50 h over the rating)" in text
    assert "In summer the village is over its rating without batteries" in text
    found = [f for f in penetration.findings(t) if f.startswith("summer, M4:")]
    assert found == [next(f for f in found)] and \
        "over the rating at 1 batteries (0.50 h), 3 batteries (3.00 h), against 2.50 h " \
        "without batteries (longer at 3)" in found[0]
    t.loc[m4 & (t["battery_sites"] == 3), "transformer_over_rating_h"] = 0.0
    found = [f for f in penetration.findings(t) if f.startswith("summer, M4:")][0]
    assert "against 2.50 h without batteries (never longer nor a higher peak with " \
        "batteries)" in found
    # as many hours, but a new peak: not marked, and said (outside check 11's village)
    zero = m4 & (t["battery_sites"] == 0)
    t.loc[m4 & (t["battery_sites"] == 1), "transformer_import_peak_pu"] = \
        t.loc[zero, ["transformer_import_peak_pu", "transformer_export_peak_pu"]].max(
            axis=1).iloc[0] + 0.5
    assert "| M4 | 1 (" in "\n".join(penetration.over_rating_markdown(t))
    found = [f for f in penetration.findings(t) if f.startswith("summer, M4:")][0]
    assert "against 2.50 h without batteries (a higher peak than " in found and \
        " at 1)" in found


def test_twins_are_one_bar_in_the_neighbourhood_figure(rows):
    """The report says identical variants are joined, yet the neighbourhood figures drew M0
    and M2 as two bars (outside check 10)."""
    import matplotlib.pyplot as plt

    nb = penetration.neighbourhood_table(_with_twin(rows))
    axes = penetration.plot_neighbourhood(nb, int(nb["batteries"].iloc[0]))
    ticks = [t.get_text() for t in axes[0].get_xticklabels()]
    assert "M4 = M9" in ticks and "M9" not in ticks and "M4" not in ticks
    plt.close(axes[0].figure)

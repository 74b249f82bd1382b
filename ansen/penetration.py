"""The penetration study: from ten home batteries to one in every connection, and a
neighbourhood battery against the same kWh and kW in homes.

The runs are a sweep (``data/sweeps/penetration.toml``, :mod:`ansen.sweep`); this module
turns the rows of its store into the study's tables and figures:

- :func:`table`: one row per season, battery count and steering variant (a model, and for
  M0 also the 2027 tariff), with the whole village's grid and money
  (:func:`ansen.metrics.grid_load`): the largest transformer import and export against the
  rating, hours over the rating, MV peaks, transformer load variance, the village's bills,
  the battery households' saving and the batteries' cycles per year. Level 0 is the
  no-battery baseline of the same season and tariff, which every run carries.
- :func:`neighbourhood_table`: per season and battery total, home batteries against one
  neighbourhood battery on T1 and one per transformer, under the same model.
- :func:`over_rating`: per variant and season, the battery counts at which some transformer
  goes over its rating, and the largest load; :func:`identical`: variants whose every number
  is another's (M2 and M0 with household meters), drawn and tabled once.
- :func:`findings`: sentences computed from the table (where market steering raises local
  peaks; whether M4 holds every transformer within its rating at every level).
- :func:`write_report`: ``penetration.csv``, ``neighbourhood.csv``, ``penetration.md`` and the
  figures, atomically.

Scenario names tell the parts apart: ``penetration_NNN`` (and ``penetration_NNN_2027``) are
levels, ``neighbourhood_<layout>_NNN`` neighbourhood batteries with the kWh and kW of NNN home
batteries. The battery count of a row is the store's ``battery_sites`` for home batteries and
the number in the name for neighbourhood batteries. Scenarios named otherwise are left out of
the tables, and the report names them (:func:`left_out`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HEADLINE", "MEASURES", "RESULTS_STORE", "definitions", "describe", "findings",
           "has_neighbourhood",
           "identical", "left_out", "markdown", "neighbourhood_table", "over_rating",
           "plot_headline", "plot_levels", "plot_neighbourhood", "table", "write_report"]

#: The store ``ansen reproduce --penetration --output results/penetration`` writes in the
#: repository (the notebook's default).
RESULTS_STORE = Path(__file__).resolve().parents[1] / "results" / "penetration" / \
    "penetration.parquet"

LEVEL = re.compile(r"^penetration_(\d+)(?:_[0-9a-z_]+)?$")
NEIGHBOURHOOD = re.compile(r"^neighbourhood_(.+)_(\d+)$")
SEASONS = ["winter", "spring", "summer", "autumn"]

#: Table column: (heading, store column of the run; the baseline's is ``baseline_`` + it).
MEASURES: dict[str, tuple[str, str]] = {
    "transformer_import_peak_pu": ("largest transformer import / rating [kW/kVA]",
                                   "grid_transformer_import_peak_pu"),
    "transformer_export_peak_pu": ("largest transformer export / rating [kW/kVA]",
                                   "grid_transformer_export_peak_pu"),
    "transformer_over_rating_h": ("hours over the rating, all transformers [h]",
                                  "grid_transformer_over_rating_h"),
    "mv_import_peak_kw": ("MV import peak [kW]", "grid_mv_import_peak_kw"),
    "mv_export_peak_kw": ("MV export peak [kW]", "grid_mv_export_peak_kw"),
    "transformer_variance_kw2": ("transformer load variance, summed [kW²]",
                                 "grid_transformer_variance_kw2"),
    "village_cost_eur_per_month": ("the village's energy bills [EUR/month]",
                                   "village_energy_cost_eur_per_month"),
}
#: Measures of the battery households and batteries (no baseline value: 0 / NaN at level 0).
BATTERY_MEASURES = {
    "village_saving_eur_per_month": "the village's saving against no battery [EUR/month]",
    "saving_eur_per_battery_household_month": "saving per battery household [EUR/month]",
    "cycles_per_battery_year": "equivalent full cycles per battery and year",
    "stored_change_per_household_kwh": "energy stored at the end less at the start, per "
                                       "battery household [kWh]: not valued in the savings "
                                       "(docs/models.md)",
    "saving_with_stored_eur_per_battery_household_month":
        "saving per battery household with that stored energy valued [EUR/month] "
        "(ansen.metrics.cost_saving)",
}


#: Parameter sets that do not name a variant (the sweep's defaults for every model).
DEFAULT_SETS = ("hourly_plans", "defaults", "")


def _variant(model: str, tariff: str, params: str = "") -> str:
    if tariff.lower().endswith(".toml"):  # a tariff file: its name (its terms: the report)
        tariff = Path(tariff).name
    parts = [] if tariff == "net_metering" else [f"{tariff} tariff"]
    if params not in DEFAULT_SETS:
        parts.append(params.replace("_", " "))
    return f"{model} ({', '.join(parts)})" if parts else model


def _rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The runs against no battery, with their variant and season."""
    if rows.empty:
        raise ValueError("the store has no rows")
    t = rows[rows["baseline"] == "none"].copy()
    t["variant"] = [_variant(m, tr, str(p)) for m, tr, p in
                    zip(t["model"], t["tariff"], t["params"].fillna(""), strict=True)]
    t["season"] = t["season"].where(t["season"].astype(str) != "", t["period"])
    days = (pd.to_datetime(t["end"]) - pd.to_datetime(t["start"])).dt.days.astype(float)
    t["cycles_per_battery_year"] = t["equivalent_full_cycles"].astype(float) * 365.25 / days
    return t


#: Which transformer carries the largest import and export (table column, store column).
WHERE = {"transformer_import_peak_at": "grid_transformer_import_peak_at",
         "transformer_export_peak_at": "grid_transformer_export_peak_at"}


def _where(t: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """The transformers of the largest loads ("?" for rows of a store written before they
    were, "" where no transformer flows that way)."""
    return pd.DataFrame({k: (t[prefix + col].fillna("?").astype(str) if prefix + col in t
                             else "?") for k, col in WHERE.items()}, index=t.index)


def _on(name: str) -> str:
    """``"T1; "`` for the findings' parentheses, "" where no transformer is named."""
    return f"{name}; " if name else ""


def _elsewhere(base, row, col: str) -> str:
    """``" on T2"`` where the no-battery largest load is another transformer's than the
    run's (the largest of the transformers' may move), else ""."""
    b, r = str(base[col]), str(row[col])
    return f" on {b}" if b and b != "?" and b != r else ""


def _largest_load(t: pd.DataFrame) -> pd.Series:
    """The largest transformer load in either direction over the rating [kW/kVA], per row
    (of :func:`table` or :func:`neighbourhood_table`)."""
    return t[["transformer_import_peak_pu", "transformer_export_peak_pu"]].max(axis=1)


def _measures(t: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    out = pd.DataFrame({k: t[prefix + col].astype(float) for k, (_, col) in MEASURES.items()},
                       index=t.index)
    return out


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """The penetration table from a store's rows (:func:`ansen.sweep.read_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``season``, ``start``, ``end``, ``battery_sites``, ``variant``, the
        :data:`MEASURES`, the transformers of the largest loads (:data:`WHERE`) and
        :data:`BATTERY_MEASURES`; one row per season, level and
        variant, level 0 (no battery, from the runs' baselines) included for every variant.
        Sorted by season (winter, spring, summer, autumn, others), variant and level.

    Raises
    ------
    ValueError
        No penetration rows, or two runs for one season, level and variant (rows of
        different grids: select one first).
    """
    t = _rows(rows)
    t = t[t["scenario"].astype(str).str.fullmatch(LEVEL.pattern)]
    if t.empty:
        raise ValueError("no penetration rows in the store (scenarios named penetration_NNN)")
    key = ["season", "battery_sites", "variant"]
    if t.duplicated(key).any():
        dup = t[t.duplicated(key, keep=False)][key + ["scenario", "params", "period", "start",
                                                       "end"]]
        several = dup.groupby(key)["period"].nunique().max() > 1
        raise ValueError(
            "several runs for one season, level and variant: "
            + ("the store holds two periods of one season (the table is by season: give each "
               "period its own season in the sweep spec, e.g. season = \"late_spring\", or "
               "select one period)" if several else "rows of different grids? (select one)")
            + f":\n{dup.to_string()}")
    runs = pd.concat([t[["season", "start", "end", "battery_sites", "variant"]], _measures(t),
                      _where(t)], axis=1)
    runs["village_saving_eur_per_month"] = (t["baseline_village_energy_cost_eur_per_month"]
                                            - t["village_energy_cost_eur_per_month"])
    runs["saving_eur_per_battery_household_month"] = t["saving_eur_per_household_month"]
    runs["cycles_per_battery_year"] = t["cycles_per_battery_year"]
    # "-" in stores written before the package measured it (2026-12-05)
    runs["stored_change_per_household_kwh"] = t.get("stored_change_per_household_kwh", np.nan)
    runs["saving_with_stored_eur_per_battery_household_month"] = t.get(
        "saving_with_stored_eur_per_household_month", np.nan)
    # level 0: the no-battery baseline of each season and variant (its tariff), taken from
    # its smallest level (every level carries the same baseline; checked below); without
    # batteries there is no battery household to save and no cycle (NaN)
    first = t.sort_values("battery_sites").groupby(["season", "variant"], sort=False).head(1)
    zero = pd.concat([first[["season", "start", "end", "variant"]], _measures(first, "baseline_"),
                      _where(first, "baseline_")],
                     axis=1).assign(battery_sites=0, village_saving_eur_per_month=0.0,
                                    saving_eur_per_battery_household_month=np.nan,
                                    cycles_per_battery_year=np.nan,
                                    stored_change_per_household_kwh=np.nan,
                                    saving_with_stored_eur_per_battery_household_month=np.nan)
    spread = (_measures(t, "baseline_").groupby([t["season"], t["variant"]])
              .agg(lambda s: s.max() - s.min()))
    if (spread.to_numpy() > 1e-6 * (1 + np.abs(_measures(t, "baseline_")).max().max())).any():
        raise ValueError("the no-battery baselines differ between levels of one season and "
                         "variant: the levels are not the same village")
    out = pd.concat([zero[runs.columns], runs], ignore_index=True)
    out["battery_sites"] = out["battery_sites"].astype(int)
    order = {s: i for i, s in enumerate(SEASONS)}
    out["_s"] = out["season"].map(lambda s: order.get(s, len(order)))
    out = out.sort_values(["_s", "season", "variant", "battery_sites"], kind="stable")
    return out.drop(columns="_s").reset_index(drop=True)


def has_neighbourhood(rows: pd.DataFrame) -> bool:
    """Whether a store's rows hold runs of neighbourhood scenarios (``neighbourhood_<layout>_NNN``)."""
    return bool(rows["scenario"].astype(str).str.fullmatch(NEIGHBOURHOOD.pattern).any())


def neighbourhood_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Home batteries against neighbourhood batteries of the same total kWh and kW.

    For every season, battery total N and steering variant of the neighbourhood
    runs (scenarios ``neighbourhood_<layout>_NNN``), the runs of the same
    variant (model, tariff and parameter set) with N home batteries
    (``penetration_NNN``) beside them.

    Returns
    -------
    pandas.DataFrame
        Columns ``season``, ``batteries`` (the number of home batteries the
        neighbourhood battery stands for: the battery sites of the runs of
        ``penetration_NNN`` with the same NNN, which names the level, a count on
        the shipped village, a share in % on another), ``model`` (the variant: the model, with its tariff and parameter
        set where they are not the defaults, as in :func:`table`), ``layout``
        (``homes`` or the neighbourhood layout),
        ``battery_kwh_total``, ``battery_kw_total``, the :data:`MEASURES`, ``mv_peak_reduction_pct``
        (mean of weeks, against no battery), ``village_saving_eur_per_month``
        and ``cycles_per_battery_year`` (equivalent full cycles of the batteries' total
        kWh: the same measure for one large battery as for homes).

    Raises
    ------
    ValueError
        No neighbourhood rows; or a neighbourhood scenario whose total kWh or kW
        differs from its level's home batteries (the comparison would not be
        like with like); or runs of one level with different battery sites.
    """
    t = _rows(rows)
    t["model"] = t["variant"]  # homes and neighbourhood compared under the same variant
    name = t["scenario"].astype(str)
    nb = t[name.str.fullmatch(NEIGHBOURHOOD.pattern)].copy()
    if nb.empty:
        raise ValueError("no neighbourhood rows in the store (scenarios named "
                         "neighbourhood_<layout>_NNN)")
    parts = nb["scenario"].str.extract(NEIGHBOURHOOD)
    nb["layout"], nb["level"] = parts[0], parts[1].astype(int)
    homes = t[name.str.fullmatch(LEVEL.pattern)].copy()
    homes["layout"] = "homes"
    homes["level"] = homes["scenario"].str.extract(LEVEL)[0].astype(int)
    # the same runs beside each other: the period too, so that a store with two periods of a
    # season or several grids cannot pair rows of different runs. NNN is the level's name (a
    # count on the shipped village, a share in % on another); the batteries it stands for are
    # the home runs' battery sites, and both must hold the same kWh and kW.
    period = ["season", "start", "end", "level"]
    # the levels the neighbourhood runs stand beside (others are the level table's business)
    homes = homes.merge(nb[period].drop_duplicates(), on=period)
    sites = homes.groupby(period)["battery_sites"].agg(lambda s: sorted(set(s.astype(int))))
    if (several := sites[sites.map(len) > 1]).any():
        raise ValueError(f"home-battery runs of one level with different numbers of battery "
                         f"sites (rows of different grids? select one): {several.to_dict()}")
    alone = nb.set_index(period).index.difference(sites.index)
    if len(alone):
        import warnings

        lost = sorted(set(nb.set_index(period).loc[alone, "scenario"]))
        warnings.warn(f"neighbourhood table: {lost} left out: no penetration_NNN run of the "
                      "same level over the same period to compare with", UserWarning,
                      stacklevel=2)
        nb = nb[~nb.set_index(period).index.isin(alone)]
        if nb.empty:
            raise ValueError(f"no neighbourhood run has penetration_NNN runs of the same level "
                             f"over the same period to compare with: {lost}")
    batteries = sites.str[0].rename("batteries")  # one number of sites per level and period
    homes, nb = homes.join(batteries, on=period), nb.join(batteries, on=period)
    totals = ["battery_kwh_total", "battery_kw_total"]
    pairs = nb[period + ["scenario"] + totals].drop_duplicates().merge(
        homes[period + ["scenario"] + totals].drop_duplicates(), on=period,
        suffixes=("", "_homes"))
    differ = pd.Series(False, index=pairs.index)
    for col in totals:  # a total not recorded (NaN) on both sides is not a difference
        differ |= ~np.isclose(pairs[col].astype(float), pairs[f"{col}_homes"].astype(float),
                              rtol=1e-9, atol=1e-6, equal_nan=True)
    if differ.any():
        bad = pairs[differ]
        raise ValueError(
            "neighbourhood batteries and home batteries of different totals: "
            + "; ".join(f"{r.scenario} {r.battery_kwh_total:g} kWh / {r.battery_kw_total:g} kW "
                        f"against {r.scenario_homes} {r.battery_kwh_total_homes:g} kWh / "
                        f"{r.battery_kw_total_homes:g} kW ({r.season})"
                        for r in bad.itertuples())
            + ": give the neighbourhood scenario the kWh and kW of the level it is named after")
    same = ["season", "start", "end", "level", "model"]
    homes = homes.merge(nb[same].drop_duplicates(), on=same)
    both = pd.concat([homes, nb], ignore_index=True)
    both["batteries"] = both["batteries"].astype(int)
    key = same + ["layout"]
    if both.duplicated(key).any():
        dup = both[both.duplicated(key, keep=False)][key + ["scenario", "params", "period"]]
        raise ValueError("several runs for one season, period, battery total, variant and "
                         "layout (rows of different grids, or two periods of one season? "
                         f"select one):\n{dup.to_string()}")
    out = pd.concat([both[["season", "batteries", "model", "layout", "battery_kwh_total",
                           "battery_kw_total"]],
                     _measures(both)], axis=1)
    out["mv_peak_reduction_pct"] = both["mv_peak_reduction_mean_pct"].astype(float)
    out["village_saving_eur_per_month"] = (both["baseline_village_energy_cost_eur_per_month"]
                                           - both["village_energy_cost_eur_per_month"])
    # cycles: discharged energy over the total capacity, per year (capacity-weighted)
    out["cycles_per_battery_year"] = both["cycles_per_battery_year"]
    layouts = {"homes": 0}
    out["_l"] = out["layout"].map(lambda x: layouts.get(x, 1))
    order = {s: i for i, s in enumerate(SEASONS)}
    out["_s"] = out["season"].map(lambda s: order.get(s, len(order)))
    out = out.sort_values(["batteries", "_s", "model", "_l", "layout"], kind="stable")
    return out.drop(columns=["_l", "_s"]).reset_index(drop=True)


def findings(tab: pd.DataFrame) -> list[str]:
    """Sentences read off :func:`table`: market steering's local peaks, M4 and the rating.

    Every number is computed from ``tab``; nothing is written in advance.
    """
    out = []
    top = tab["battery_sites"].max()
    rating = over_rating(tab).set_index(["variant", "season"])  # against no battery too
    for season, s in tab.groupby("season", sort=False):
        zero = s[s["battery_sites"] == 0]

        def base_of(v, zero=zero):  # the variant's own level 0 (its tariff's baseline)
            own = zero[zero["variant"] == v]
            return own.iloc[0] if not own.empty else zero.iloc[0]

        at_top = s[s["battery_sites"] == top].set_index("variant")
        m0 = [v for v in at_top.index if v.startswith("M0")]
        for v in m0:
            r = at_top.loc[v]
            base = base_of(v)
            out.append(
                f"{season}, {top} batteries, {v}: largest transformer import "
                f"{r['transformer_import_peak_pu']:.2f} of the rating "
                f"({_on(r['transformer_import_peak_at'])}no battery "
                f"{base['transformer_import_peak_pu']:.2f}"
                f"{_elsewhere(base, r, 'transformer_import_peak_at')}), export "
                f"{r['transformer_export_peak_pu']:.2f} ({_on(r['transformer_export_peak_at'])}"
                f"no battery {base['transformer_export_peak_pu']:.2f}"
                f"{_elsewhere(base, r, 'transformer_export_peak_at')}), "
                f"{r['transformer_over_rating_h']:.1f} h over the rating "
                f"({base['transformer_over_rating_h']:.1f} h).")
        for v in sorted(x for x in s["variant"].unique() if x.startswith("M4")):
            m = s[(s["variant"] == v) & (s["battery_sites"] > 0)]
            load = _largest_load(m)
            over = m[m["transformer_over_rating_h"] > 0]
            if load.dropna().empty:
                out.append(f"{season}, {v}: no level with batteries and a known transformer "
                           "load.")
                continue
            worst = m.loc[load.idxmax()]
            at = worst["transformer_import_peak_at" if worst["transformer_import_peak_pu"]
                       >= worst["transformer_export_peak_pu"] else "transformer_export_peak_at"]
            at = f", {at}" if at else ""
            o = rating.loc[(v, season)]
            before = o["no_battery_h"]
            if over.empty:
                out.append(f"{season}, {v}: every transformer within its rating at every level "
                           f"(largest load {load.max():.2f} of the rating{at}, at "
                           f"{int(worst['battery_sites'])} batteries"
                           + (f"; {before:.2f} h over without batteries" if before > 0 else "")
                           + ").")
            else:
                levels = ", ".join(f"{int(r['battery_sites'])} batteries "
                                   f"({r['transformer_over_rating_h']:.2f} h)"
                                   for _, r in over.iterrows())
                if before > 0:  # the village is over its rating without batteries
                    longer = o["levels_longer"]
                    higher = [n for n in o["levels_higher"] if n in o["levels_over"]]
                    said = ([f"longer at {', '.join(map(str, longer))}"] if longer else []) + (
                        [f"a higher peak than {o['no_battery_pu']:.2f} at "
                         f"{', '.join(map(str, higher))}"] if higher else [])
                    levels += (f", against {before:.2f} h without batteries ("
                               + ("; ".join(said) if said else
                                  "never longer nor a higher peak with batteries") + ")")
                out.append(f"{season}, {v}: over the rating at {levels}; largest load "
                           f"{load.max():.2f} of the rating{at}, at "
                           f"{int(worst['battery_sites'])} batteries.")
    if not out:
        out.append("none: the findings read market steering (M0) at the largest level and M4 "
                   "at every level, and this table has neither (its variants: "
                   + ", ".join(sorted(tab["variant"].unique())) + "); the tables below hold "
                   "every measure")
    return out


def identical(tab: pd.DataFrame, rtol: float = 1e-9) -> dict[str, str]:
    """Variants whose every number in :func:`table` equals another variant's, at every
    level and season.

    With household meters M2's community cost is the sum of the households' costs, so M2
    plans what M0 plans and its rows are M0's; drawn, one line hides the other.

    Returns
    -------
    dict
        ``{variant: the first variant (in sorted order) it equals}``; a variant equal to
        none is not a key, and none is without a level with batteries (the no-battery
        rows of one tariff are alike). Numbers (:data:`MEASURES`, :data:`BATTERY_MEASURES`)
        are equal within ``rtol`` of the column's largest magnitude; NaN equals NaN.
    """
    cols = [*MEASURES, *BATTERY_MEASURES]
    if not (tab["battery_sites"] > 0).any():
        return {}
    values = tab[cols].to_numpy(float)
    scale = rtol * (1.0 + np.nanmax(np.abs(values), axis=0, initial=0.0))
    grids = {}
    for v, d in tab.groupby("variant", sort=True):
        grids[v] = d.sort_values(["season", "battery_sites"])[
            ["season", "battery_sites", *cols]].reset_index(drop=True)
    out: dict[str, str] = {}
    names = sorted(grids)
    for i, v in enumerate(names):
        for w in names[:i]:
            if w in out:
                continue
            a, b = grids[w], grids[v]
            if (a.shape == b.shape and a["season"].equals(b["season"])
                    and a["battery_sites"].equals(b["battery_sites"])
                    and np.all(np.isclose(a[cols].to_numpy(float), b[cols].to_numpy(float),
                                          rtol=0.0, atol=scale, equal_nan=True))):
                out[v] = w
                break
    return out


#: Hours over the rating that count as more than without batteries [h] (a step of a
#: minute; the hours are sums of whole steps).
HOURS_TOL = 1.0 / 60
#: A largest load that counts as higher than without batteries [kW/kVA].
LOAD_TOL = 0.005


def over_rating(tab: pd.DataFrame) -> pd.DataFrame:
    """Per variant and season: at which battery counts a transformer goes over its rating.

    A level is over where :func:`table`'s ``transformer_over_rating_h`` > 0 (some
    transformer's load above its kVA rating for some step, ``ansen.metrics.grid_load``),
    and *longer* where it is over for more hours than the village without batteries (on a
    village already over its rating without them, being over says nothing of the batteries).

    Returns
    -------
    pandas.DataFrame
        One row per variant and season: ``levels_over`` (the battery counts over the
        rating, ascending; empty where none), ``levels_longer`` (those over it for longer
        than without batteries, by more than :data:`HOURS_TOL`), ``levels_higher`` (those
        whose largest load in either direction exceeds the one without batteries by more
        than :data:`LOAD_TOL`), ``no_battery_h`` (the hours over the rating without
        batteries), ``levels_unknown`` (battery counts whose hours
        over the rating are not known, NaN), ``largest_load_pu`` (the largest transformer
        load in either direction over the rating [kW/kVA] at any level with batteries; NaN
        where none has a load), ``at_level`` (the battery count of that load, 0 where none),
        ``levels`` (the battery counts with batteries of the variant and season) and
        ``no_battery_pu`` (the load without batteries).
    """
    t = tab.assign(load=_largest_load(tab))
    out = []
    for (variant, season), d in t.groupby(["variant", "season"], sort=False):
        some = d[d["battery_sites"] > 0]
        zero = d[d["battery_sites"] == 0]
        loads = some["load"].dropna()
        worst = some.loc[loads.idxmax()] if not loads.empty else None
        hours = some["transformer_over_rating_h"]
        before = float(zero["transformer_over_rating_h"].iloc[0]) if not zero.empty else 0.0
        before = 0.0 if np.isnan(before) else before
        out.append({
            "variant": variant, "season": season,
            "levels_over": [int(n) for n in sorted(some.loc[hours > 0, "battery_sites"])],
            "levels_longer": [int(n) for n in sorted(
                some.loc[hours > before + HOURS_TOL, "battery_sites"])],
            "levels_higher": [int(n) for n in sorted(some.loc[
                some["load"] > (float(zero["load"].iloc[0]) if not zero.empty else np.inf)
                + LOAD_TOL, "battery_sites"])],
            "no_battery_h": before,
            "levels_unknown": [int(n) for n in sorted(some.loc[hours.isna(), "battery_sites"])],
            "levels": [int(n) for n in sorted(some["battery_sites"])],
            "largest_load_pu": float(worst["load"]) if worst is not None else np.nan,
            "at_level": int(worst["battery_sites"]) if worst is not None else 0,
            "no_battery_pu": float(zero["load"].iloc[0]) if not zero.empty else np.nan})
    return pd.DataFrame(out)


def over_rating_markdown(tab: pd.DataFrame) -> list[str]:
    """:func:`over_rating` as a Markdown table (variants x seasons), identical variants
    joined (:func:`identical`)."""
    o = over_rating(tab)
    same = identical(tab)
    seasons = list(dict.fromkeys(tab["season"]))
    tested = sorted({n for levels in o["levels"] for n in levels})
    before = {s: float(o[o["season"] == s]["no_battery_h"].max()) for s in seasons}
    already = [s for s in seasons if before[s] > 0]
    lines = ["The battery counts, of those run (" + (", ".join(map(str, tested)) or "none")
             + "), at which some transformer goes over its rating (hours over > 0; `?` where "
             "they are not known), and in brackets the largest transformer load in either "
             "direction against the rating at any level with batteries [kW/kVA]. Without "
             "batteries: " + "; ".join(
                 f"{s} {_fmt(o[o['season'] == s]['no_battery_pu'].max())}"
                 + (f" ({before[s]:.2f} h over the rating)" if before[s] > 0 else "")
                 for s in seasons) + "."
             + (" In " + ", ".join(already) + " the village is over its rating without "
                "batteries: there a count is marked `*` where neither its hours over nor its "
                "largest load exceed those without batteries (the batteries added no hour and "
                "no higher peak)." if already
                else ""), "",
             "| variant | " + " | ".join(seasons) + " |", "|---" * (len(seasons) + 1) + "|"]
    for v in sorted(o["variant"].unique()):
        if v in same:
            continue
        twins = [w for w, first in same.items() if first == v]
        name = " = ".join([v, *twins])
        cells = []
        for s in seasons:
            r = o[(o["variant"] == v) & (o["season"] == s)]
            if r.empty:
                cells.append("-")
                continue
            r = r.iloc[0]
            if not r["levels"]:
                cells.append("no battery level")
                continue
            worse = set(r["levels_longer"]) | set(r["levels_higher"])
            over = ", ".join([*(f"{n}" if n in worse or r["no_battery_h"] <= 0
                                else f"{n}*" for n in r["levels_over"]),
                              *(f"{n}?" for n in r["levels_unknown"])]) or "none"
            load = (f"{_fmt(r['largest_load_pu'])} at {r['at_level']}"
                    if not pd.isna(r["largest_load_pu"]) else "-")
            cells.append(f"{over} ({load})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if same:
        lines += ["", "Joined by `=` here and in the figures: variants whose every number in "
                  "the tables by battery count below is the same, at every level and season ("
                  + "; ".join(f"{v} = {w}" for v, w in same.items()) + ")."]
    return lines


def left_out(rows: pd.DataFrame) -> list[str]:
    """The store's scenarios that no table reads: names neither ``penetration_NNN[_...]``
    nor ``neighbourhood_<layout>_NNN`` (the module docstring)."""
    names = sorted(set(rows["scenario"].astype(str)))
    return [n for n in names if not (LEVEL.fullmatch(n) or NEIGHBOURHOOD.fullmatch(n))]


def describe(rows: pd.DataFrame) -> list[str]:
    """What a store holds, in sentences computed from it: levels and battery sizes, seasons
    and their periods, variants, plan steps, neighbourhood batteries, scenarios left out."""
    t = _rows(rows)
    name = t["scenario"].astype(str)
    levels = t[name.str.fullmatch(LEVEL.pattern)]
    out = []
    if not levels.empty:
        counts = sorted(set(levels["battery_sites"].astype(int)))
        some = levels[levels["battery_sites"].astype(int) > 0]  # a level of 0 has no size
        sites = some["battery_sites"].astype(float)
        kwh = sorted(set((some["battery_kwh_total"].astype(float) / sites).round(2)))
        kw = sorted(set((some["battery_kw_total"].astype(float) / sites).round(2)))
        out.append(f"levels: {', '.join(map(str, counts))} battery sites of "
                   f"{'/'.join(f'{x:g}' for x in kwh)} kWh and {'/'.join(f'{x:g}' for x in kw)} "
                   "kW on average per site (which connections: the scenarios' recipes)")
    periods = t.drop_duplicates(["season", "start", "end"])[["season", "start", "end"]]
    out.append("seasons: " + "; ".join(
        f"{r.season} {r.start} to {r.end} "
        f"({(pd.Timestamp(r.end) - pd.Timestamp(r.start)).days} days)"
        for r in periods.itertuples()))
    out.append("variants: " + ", ".join(sorted(t["variant"].unique())))
    params = t["params_json"].fillna("{}") if "params_json" in t else pd.Series("{}", t.index)
    step = [str(json.loads(p).get("plan_minutes") or "the data's step") for p in params]
    by_step = pd.Series(t["variant"].to_numpy(), index=step).groupby(level=0).agg(
        lambda v: ", ".join(sorted(set(v))))
    out.append("plan steps [min]: " + "; ".join(
        f"{k} ({v})" if len(by_step) > 1 else k for k, v in by_step.items()))
    nb = sorted(set(n for n in name if NEIGHBOURHOOD.fullmatch(n)))
    if nb:
        out.append("neighbourhood batteries: " + ", ".join(nb))
    if "scenario_json" in t:  # a tariff file's terms: what its variants were billed under
        files = {}
        for recipe in t["scenario_json"].dropna().unique():
            chosen = json.loads(recipe).get("tariff")
            if isinstance(chosen, dict) and "terms" in chosen:
                files[str(chosen.get("file"))] = chosen["terms"]
        for path, terms in sorted(files.items()):
            out.append(f"tariff file {Path(path).name} ({path}): " + ", ".join(
                f"{k} {json.dumps(v, sort_keys=True) if isinstance(v, dict) else v}"
                for k, v in sorted(terms.items())))
    if skipped := left_out(rows):
        out.append("scenarios left out (names neither penetration_NNN nor "
                   "neighbourhood_<layout>_NNN): " + ", ".join(f"'{n}'" for n in skipped))
    if {"code_sha256", "data_sha256", "version"} <= set(rows.columns):
        def short(col):
            return ", ".join(sorted(str(x)[:12] for x in rows[col].dropna().unique()))

        out.append(f"provenance: {len(rows)} rows of ansen {short('version')}, code SHA-256 "
                   f"{short('code_sha256')}..., village data SHA-256 {short('data_sha256')}... "
                   "(each row's task_key in the store)")
    return out


def definitions(rows: pd.DataFrame | None = None) -> list[str]:
    """What each measure of the report is, in sentences (``ansen.metrics``'s definitions),
    and, with a store's ``rows``, how its runs planned (its ``plan_method`` per variant)."""
    out = [
        "Transformer load / rating: each transformer's net load [kW, import positive] over "
        "its rating [kVA], read as kW at power factor 1 (the data have active power only; with "
        "reactive load a transformer reaches its kVA earlier); the largest over the period's "
        "steps and the village's transformers (`ansen.metrics.grid_load`).",
        "Hours over the rating: transformer-hours: for each transformer, the number of steps "
        "in which its load in either direction exceeds its rating, times the step's length; "
        "summed over the transformers (two transformers over in one hour count two hours).",
        "MV peaks: the feeder's largest import and export [kW] over the period.",
        "Money: energy bills only (each run's tariff's per-step prices: net metering as the "
        "law has it, the 2027 rules, or a tariff file's terms as listed above; no fixed "
        "costs), per month of the run [EUR/month]: the village's (every "
        "connection's bill summed) and the battery households' saving against no battery. "
        "Energy left in the batteries at the run's end is not counted (its own section).",
        "Cycles per battery and year: energy discharged over the batteries' capacity, scaled "
        "from the period's days to 365.25 (a short period's sample, not a year's "
        "measurement).",
        "A season is one period (its dates in each table's heading), a sample of its weeks, "
        "not its average.",
    ]
    if rows is not None and "plan_method" in rows.columns:
        t = _rows(rows)
        how = t.groupby("variant")["plan_method"].agg(lambda v: ", ".join(sorted(set(
            str(x) for x in v))))
        out.append("Plans (the store's `plan_method`; `lp`: one LP battery per site, exact; "
                   "`dp`: a dynamic programme per battery, exact; `... on classes`: battery "
                   "classes, exact for M3, an approximation with a certificate for the "
                   "coupled models): " + "; ".join(f"{v}: {m}" for v, m in how.items()) + ".")
    return out


def markdown(tab: pd.DataFrame, nb: pd.DataFrame | None = None,
             title: str = "Battery penetration", rows: pd.DataFrame | None = None,
             store=None) -> str:
    """The tables as Markdown: what the store holds (:func:`describe`, with ``rows``),
    findings, then per measure one table (variant x level) per season, then the
    neighbourhood comparison."""
    lines = [f"# {title}", "",
             "Every row: a steering model over a period of a season with N battery sites, "
             "against no battery over the same period; the whole village (every transformer "
             "and connection). Level 0 is the village without batteries. Runs: a sweep's store "
             "(`ansen sweep`); definitions: `ansen.metrics.grid_load`, `ansen.penetration`. "
             "Largest loads are the largest of the transformers' (which one: in the findings "
             "and in penetration.csv, `transformer_import_peak_at` and `_export_peak_at`).", ""]
    if rows is not None:
        lines += ["## What the store holds", ""] + (
            [f"- store: `{Path(store).name}`"] if store is not None else []) + [
            f"- {x}" for x in describe(rows)] + [""]
    lines += ["## How to read the measures", ""] + [f"- {x}" for x in definitions(rows)] + [""]
    lines += ["## Transformers against their rating", ""] + over_rating_markdown(tab) + [""]
    lines += ["## Findings (computed from the table)", ""]
    lines += [f"- {s}" for s in findings(tab)]
    headings = {**{k: h for k, (h, _) in MEASURES.items()}, **BATTERY_MEASURES}
    for col, heading in headings.items():
        lines += ["", f"## {heading}", ""]
        for season, s in tab.groupby("season", sort=False):
            grid = s.pivot_table(index="variant", columns="battery_sites", values=col,
                                 dropna=False, sort=False)
            # the variants in the table's order, the battery counts ascending (a variant run
            # at fewer levels must not set the columns' order)
            grid = grid.reindex(columns=sorted(grid.columns))
            lines += [f"**{season}** ({s['start'].iloc[0]} to {s['end'].iloc[0]})", "",
                      "| model | " + " | ".join(str(c) for c in grid.columns) + " |",
                      "|---" * (len(grid.columns) + 1) + "|"]
            for v, row in grid.iterrows():
                lines.append(f"| {v} | " + " | ".join(_fmt(x) for x in row) + " |")
            lines.append("")
    if nb is not None and not nb.empty:
        lines += ["## Neighbourhood battery against home batteries", "",
                  "The same total kWh and kW in N homes or in neighbourhood batteries (the layout "
                  "as the scenario `neighbourhood_<layout>_NNN` names it), under the same "
                  "model. `mv_peak_reduction_pct` is the mean over the local weeks (Monday to "
                  "Sunday) with at least three days in the period, `-` where it has none "
                  "(`ansen.metrics.weekly_mv_peak_reduction`). The money compares two ways of "
                  "billing as much as two places: a neighbourhood battery is billed as a "
                  "connection of its own (docs/scenarios.md), so what it imports pays the "
                  "supplier margin and VAT (with net metering, the energy tax on its net "
                  "consumption), while home batteries trade behind their households' meters.",
                  ""]
        cols = ["transformer_import_peak_pu", "transformer_export_peak_pu",
                "transformer_over_rating_h", "mv_peak_reduction_pct",
                "village_saving_eur_per_month", "cycles_per_battery_year"]
        lines += ["| batteries | season | model | layout | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 4) + "|"]
        for _, r in nb.iterrows():
            lines.append(f"| {r['batteries']} | {r['season']} | {r['model']} | {r['layout']} | "
                         + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    if pd.isna(x):
        return "-"
    x = float(x)
    text = f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # not -0.00


#: The variants of the headline figure (:func:`plot_headline`), those the store has.
HEADLINE = ("M1", "M0", "M0 (2027 tariff)", "M4", "M4 (guard)")
#: Measures computed for the figures only: (heading, function of the table).
DERIVED = {"transformer_peak_pu": (
    "largest transformer load, either direction / rating [kW/kVA]",
    _largest_load)}


def plot_levels(tab: pd.DataFrame, measures: list[str], title: str = "",
                variants: list[str] | None = None, widths: tuple[float, float] = (3.0, 0.8)):
    """Line plots: each measure (rows) against the battery count, per season (columns), one
    line per variant; the rating drawn at 1 for the per-unit measures.

    ``variants``: those to draw (default all). A variant whose numbers all equal another's
    (:func:`identical`) is not drawn twice: the other's line is labelled with both names.
    ``measures`` may name :data:`DERIVED` measures. ``widths``: the line width [pt] of the
    first and the last variant (earlier variants wider: lines that overlap stay visible).
    """
    import matplotlib.pyplot as plt

    seasons = list(dict.fromkeys(tab["season"]))
    same = identical(tab)
    tab = tab.assign(**{k: f(tab) for k, (_, f) in DERIVED.items()})
    every = sorted(tab["variant"].unique())
    chosen = every if variants is None else list(variants)
    groups: dict[str, list[str]] = {}  # twins among those chosen: drawn once, named together
    for v in chosen:
        groups.setdefault(same.get(v, v), []).append(v)
    variants = [members[0] for members in groups.values()]
    names = {members[0]: " = ".join(members) for members in groups.values()}
    # a colour per model, a line style and marker per what follows it ("(2027 tariff)",
    # "(guard)", ...): any number of variants stays readable
    # from every variant of the table: a variant looks the same in every figure
    from ansen.models import MODELS

    # a model's colour is fixed by its place among the package's models, whatever the table
    # holds: M4 has one colour in every report (others after them)
    known = [m for m in MODELS if m != "none"]  # no variant is 'none': its colour to M0's
    models = [*known, *sorted({v.split(" (")[0] for v in every} - set(known))]
    kinds = sorted({v[len(v.split(" (")[0]):] for v in every})
    palette = plt.get_cmap("tab10").colors
    styles = ["-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
    markers = ["o", "s", "^", "D", "v", "P", "X"]

    def look(v: str) -> dict:
        model = v.split(" (")[0]
        kind = kinds.index(v[len(model):])
        return {"color": palette[models.index(model) % len(palette)],
                "ls": styles[kind % len(styles)], "marker": markers[kind % len(markers)]}
    headings = {**{k: h for k, (h, _) in MEASURES.items()}, **BATTERY_MEASURES,
                **{k: h for k, (h, _) in DERIVED.items()}}
    fig, axes = plt.subplots(len(measures), len(seasons), squeeze=False, sharex=True,
                             sharey="row", figsize=(3.6 * len(seasons), 2.9 * len(measures)))
    for i, col in enumerate(measures):
        for j, season in enumerate(seasons):
            ax = axes[i, j]
            s = tab[tab["season"] == season]
            for k, v in enumerate(variants):  # earlier variants wider: overlaps stay visible
                d = s[s["variant"] == v].sort_values("battery_sites")
                f = k / max(1, len(variants) - 1)
                ax.plot(d["battery_sites"], d[col], ms=6 - 3.0 * f,
                        lw=widths[0] + (widths[1] - widths[0]) * f, label=names[v],
                        alpha=0.85,
                        **look(v))
            if col.endswith("_pu"):
                ax.axhline(1.0, color="black", lw=0.8, ls=":")
            if col == "transformer_over_rating_h":  # an hour or two beside tens of hours
                from matplotlib.ticker import FuncFormatter, SymmetricalLogLocator

                ax.set_yscale("symlog", linthresh=1.0)
                # ticks at 1, 2, 5 of each decade: 4 h in a short run was drawn with no tick
                # above 1 (outside check 11)
                ax.yaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1.0,
                                                                 subs=[1.0, 2.0, 5.0]))
                ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            if i == 0:
                ax.set_title(season)
            if j == 0:
                ax.set_ylabel("\n".join(_wrap(headings[col])), fontsize=9)
            if i == len(measures) - 1:
                ax.set_xlabel("battery sites")
    for i, col in enumerate(measures):  # hours are >= 0: the row's axis starts at 0 (it ran
        # from -0.055 with none over); set once the row's every panel is drawn (y is shared:
        # a limit set earlier would cut the panels drawn after it)
        if col == "transformer_over_rating_h":
            top = float(np.nanmax(tab[col].to_numpy(float), initial=0.0))
            axes[i, 0].set_ylim(0.0, 1.5 * max(top, 1.0))
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    if title:  # wrapped to the figure's width (one season is a narrow figure)
        fig.suptitle("\n".join(_wrap(title, max(30, int(9 * fig.get_figwidth())))))
    return axes


def plot_headline(tab: pd.DataFrame, title: str = ""):
    """The study's two questions in one figure: where market steering (M0) takes the
    transformers over their rating, and whether M4 holds them.

    Per season (columns): the largest transformer load in either direction against the
    rating, and the hours over it, against the battery count, for the :data:`HEADLINE`
    variants the table has, and M0 and M4 under a tariff file of one's own (all variants if
    it has fewer than two of them).
    """
    present = set(tab["variant"])
    own = sorted(v for v in present if re.fullmatch(r"(M0|M4) \([^,]*\.toml tariff\)", v))
    chosen = [v for v in HEADLINE if v in present] + own
    if len(chosen) < 2:
        chosen = sorted(present)
    return plot_levels(tab, ["transformer_peak_pu", "transformer_over_rating_h"], title,
                       variants=chosen, widths=(3.2, 1.8))


def _wrap(text: str, width: int = 28) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def plot_neighbourhood(nb: pd.DataFrame, batteries: int):
    """Bars per model: home batteries against neighbourhood layouts (one battery total),
    averaged over the seasons: largest transformer load over its rating, MV peak reduction,
    the village's saving. Models whose every number is another's are one bar, named
    ``M0 = M2``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = nb[nb["batteries"] == batteries].copy()
    # models whose every number is another's (M2 = M0 with household meters): one bar, both
    # names (as the level figures join them)
    numbers = [c for c in d.columns if c not in ("season", "batteries", "model", "layout")
               and pd.api.types.is_numeric_dtype(d[c])]
    frames = {m: g.sort_values(["season", "layout"])[["season", "layout", *numbers]]
              .reset_index(drop=True) for m, g in d.groupby("model", sort=True)}
    names: dict[str, str] = {}
    for m, f in frames.items():
        twin = next((k for k in names if k == names[k].split(" = ")[0]
                     and frames[k][["season", "layout"]].equals(f[["season", "layout"]])
                     and np.allclose(frames[k][numbers].to_numpy(float),
                                     f[numbers].to_numpy(float), rtol=1e-9, atol=1e-9,
                                     equal_nan=True)), None)
        if twin is None:
            names[m] = m
        else:
            names[twin] += f" = {m}"
    d = d[d["model"].isin([k for k, v in names.items() if v.split(" = ")[0] == k])]
    d["model"] = d["model"].map(names)
    d["largest transformer load / rating"] = _largest_load(d)
    d["MV peak reduction [%]"] = d["mv_peak_reduction_pct"]
    d["village saving [EUR/month]"] = d["village_saving_eur_per_month"]
    cols = ["largest transformer load / rating", "MV peak reduction [%]",
            "village saving [EUR/month]"]
    fig, axes = plt.subplots(1, len(cols), figsize=(4.4 * len(cols), 3.6))
    for ax, col in zip(axes, cols, strict=True):
        sns.barplot(data=d, x="model", y=col, hue="layout", ax=ax, errorbar=("pi", 100),
                    err_kws={"linewidth": 1})
        ax.set_title(col, fontsize=10)
        ax.set_ylabel("")
        if ax is not axes[-1]:
            ax.get_legend().remove()
        if col.startswith("largest"):
            ax.axhline(1.0, color="black", lw=0.8, ls=":")
    axes[-1].legend(fontsize=8, title="layout", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    kwh = d["battery_kwh_total"].dropna()
    size = f" ({kwh.iloc[0]:g} kWh)" if not kwh.empty else ""
    title = (f"The kWh and kW of {batteries} home batteries{size} in homes or as "
             "neighbourhood batteries: mean of the seasons (bars), range (lines)")
    fig.suptitle("\n".join(_wrap(title, int(9 * fig.get_figwidth()))))
    return axes


def write_report(rows: pd.DataFrame, folder, title: str = "Battery penetration",
                 store=None) -> list[Path]:
    """Write penetration.csv, neighbourhood.csv, penetration.md and the figures.

    ``store``: the sweep store the rows were read from, named in penetration.md (with the
    rows' code and data SHA-256).

    Figures: ``penetration_headline`` (:func:`plot_headline`), ``penetration_grid``
    (transformer loads against the rating, hours over it, MV peaks), ``penetration_money``
    (bills, savings, cycles) and ``neighbourhood_NNN`` per battery total; PNG and SVG,
    atomically.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import matplotlib.pyplot as plt

    from ansen import plots
    from ansen.io import atomic_path, write_table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if skipped := left_out(rows):
        import warnings

        warnings.warn(f"penetration report: {len(skipped)} scenario(s) left out, their names "
                      f"neither penetration_NNN nor neighbourhood_<layout>_NNN: {skipped}",
                      UserWarning, stacklevel=2)
    tab = table(rows)
    # only a store without neighbourhood runs has no comparison; any other problem is said
    nb = neighbourhood_table(rows) if has_neighbourhood(rows) else None
    files = [write_table(tab.set_index("season"), folder / "penetration.csv")]
    if nb is not None:
        files.append(write_table(nb.set_index("season"), folder / "neighbourhood.csv"))
    with atomic_path(folder / "penetration.md") as tmp:
        tmp.write_text(markdown(tab, nb, title, rows, store=store))
    files.append(folder / "penetration.md")
    plots.set_theme()
    axes = plot_headline(tab, f"{title}: the largest transformer load and the hours over "
                         "its rating" if title else "")
    files += plots.write_figure(axes[0, 0].figure, folder / "penetration_headline")
    plt.close(axes[0, 0].figure)
    figures = {
        "penetration_grid": ["transformer_import_peak_pu", "transformer_export_peak_pu",
                             "transformer_over_rating_h", "mv_import_peak_kw",
                             "mv_export_peak_kw"],
        "penetration_money": ["village_saving_eur_per_month",
                              "saving_eur_per_battery_household_month",
                              "cycles_per_battery_year"],
    }
    for stem, measures in figures.items():
        axes = plot_levels(tab, measures, title)
        fig = axes[0, 0].figure
        files += plots.write_figure(fig, folder / stem)
        plt.close(fig)
    if nb is not None:
        for n in sorted(nb["batteries"].unique()):
            axes = plot_neighbourhood(nb, int(n))
            fig = axes[0].figure
            files += plots.write_figure(fig, folder / f"neighbourhood_{int(n):03d}")
            plt.close(fig)
    return files

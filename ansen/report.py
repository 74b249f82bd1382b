"""The report's figures next to the reproduced ones: results/summary.md, .csv, .png/.svg.

Each :class:`Figure` names a number the report gives (NO-GIZMOS, "Thuisbatterijen
als publiek goed", 2026), the experiment(s) and metric that reproduce it, and a
note on why the two may differ. :func:`summary_table` reads the experiments'
``metrics.csv`` files and computes the reproduced value; nothing in the table
is typed in by hand except the report's own numbers.

Only results with a complete provenance (:mod:`ansen.provenance`) are read:
the experiments a run names, or else every folder whose provenance is intact,
and then all of one data file, code and solver (:func:`included`). The
summary lists the experiments it used.

The season sweep's table and figure come from its store (:mod:`ansen.sweep`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FIGURES", "RESULTS_DIR", "Figure", "collect_metrics", "included", "not_counted",
           "summary_markdown", "summary_table", "write_summary"]

#: The repository's results folder (the default of the summary notebook).
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


@dataclass(frozen=True)
class Figure:
    """A figure of the report and how the package reproduces it."""

    name: str
    report: float
    unit: str
    experiments: tuple[str, ...]
    metric: str
    baseline: str = "M1"
    how: str = "mean over the experiments"
    note: str = ""
    where: tuple = ()  # (column, value) pairs that select rows of a study's metrics.csv
    #: what the note says of the shipped village's results in particular (its batteries,
    #: feeder, runs): shown only for results of the shipped village's data
    village_note: str = ""


#: The report's figures, each with its reproduction.
FIGURES: tuple[Figure, ...] = (
    Figure("M2 collective saving", 11.0, "%", ("E02_M2_summer2024", "E07_M2_spring2025"),
           "saving_collective_pct",
           note="our % is of the retail value of the battery households' consumption, the "
                "saving against M1 on their own bills (energy tax netted over the year: a site "
                "that exports more than it imports earns only the day-ahead spread for its "
                "stored PV, while M2 trades the spread every day); the report's base is not "
                "stated",
           village_note="8 of the shipped village's 10 battery sites export more than they "
                        "import from July 2024 to June 2025"),
    Figure("M2 LV feed-in change", np.nan, "%", ("E02_M2_summer2024", "E07_M2_spring2025"),
           "lv_feed_in_change_pct",
           note="the report says 'strong drop' without a number",
           village_note="in the shipped village ten 5 kW batteries against transformers that "
                        "feed back 150-250 kW"),
    Figure("M3 transformer variance reduction", 27.0, "%",
           ("E03_M3_autumn2024", "E06_M3_winter2025"), "transformer_variance_reduction_pct",
           village_note="ten batteries flatten a winter transformer much more than a summer "
                        "one whose PV swings they cannot absorb",
           note="M3's piecewise-linear objective has many equal "
                "optima: here the batteries on a transformer share its plan in proportion to "
                "their power (battery classes, an exact aggregation), and per-battery LP plans "
                "(plan_method='lp') pick other optima and move this figure by a few points"),
    Figure("M3 winter household result", np.nan, "EUR/month", ("E06_M3_winter2025",),
           "saving_eur_per_household_month",
           note="the report: negative, especially in winter; M3 flattens the transformer "
                "whatever the price, and the energy tax nets over the year, so its bill gains "
                "little or loses; its objective does not see the bills, so which of its equal "
                "optima is chosen decides this figure (here each transformer's plan shared in "
                "proportion to power; per-battery LP plans, plan_method='lp', give another)"),
    Figure("M4 variance reduction (like M3)", 27.0, "%",
           ("E04_M4_autumn2024", "E09_M4_summer2025"), "transformer_variance_reduction_pct",
           note="report: grid effect comparable to M3"),
    Figure("M4 household saving (modest)", np.nan, "EUR/month",
           ("E04_M4_autumn2024", "E09_M4_summer2025"), "saving_eur_per_household_month"),
    Figure("M5 MV peak reduction, mean", 4.2, "%",
           ("E08_M5_fresh_spring2025", "E11_M5_fresh_autumn2025"), "mv_peak_reduction_mean_pct",
           note="persistence forecasts of a solar-driven feeder miss sunny-day peaks (the rows "
                "with perfect and weather forecasts over the same weeks below)",
           village_note="the shipped village's MV feeder scale is calibrated (weekly peaks "
                        "~1 MW)"),
    Figure("M5 MV peak reduction, best week", 6.0, "%",
           ("E08_M5_fresh_spring2025", "E11_M5_fresh_autumn2025"),
           "mv_peak_reduction_best_week_pct", how="best week over the experiments",
           note="report: over 6% in the best weeks"),
    Figure("M5 with week-old data", 1.4, "%", ("E05_M5_weekold_autumn2024",),
           "mv_peak_reduction_mean_pct",
           note="another season than the fresh-data runs (the report does not give the dates); "
                "the like-for-like rows below run every data age over the same weeks"),
    Figure("M5 with fresh data, same weeks as week-old", 4.2, "%", ("F01_freshness",),
           "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "15min")),
           note="freshness study (F01_freshness): the weeks of the schedule's M5 runs, grid "
                "data in real time, persistence forecasts, hourly re-plans"),
    Figure("M5 with week-old data, same weeks as fresh", 1.4, "%", ("F01_freshness",),
           "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "7D")),
           note="the same weeks as the row above, grid data 7 days old"),
    Figure("M5 with fresh data, same weeks, weather forecasts", 4.2, "%", ("F01_freshness",),
           "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "weather"), ("data_lag", "15min")),
           note="PV from a day-ahead weather forecast with published error statistics "
                "(docs/forecasts.md), the rest from grid data in real time"),
    Figure("M5 with perfect forecasts, same weeks (upper bound)", np.nan, "%",
           ("F01_freshness",), "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "perfect")),
           note="what M5 with the village's batteries could do with perfect knowledge of the "
                "coming day"),
    Figure("M5 fresh / week-old, same weeks (persistence forecasts)", 3.0, "ratio",
           ("F01_freshness",), "fresh_over_week_old",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "15min")),
           note="report: 'less than a third' (4.2 / 1.4); every stream forecast from the grid "
                "data, PV included: stale data miss the sunny days"),
    Figure("M5 fresh / week-old, same weeks (weather forecasts)", 3.0, "ratio",
           ("F01_freshness",), "fresh_over_week_old",
           where=(("model", "M5"), ("forecast", "weather"), ("data_lag", "15min")),
           note="PV from a day-ahead weather forecast and the sites' own meters",
           village_note="the grid data's age then matters little, so the pilot's forecasts "
                        "must have leaned on the grid data for the solar-driven MV peaks"),
    Figure("M5 with fresh data, every week of the data", 4.2, "%", ("F02_freshness_year",),
           "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "15min")),
           note="freshness study over every week of the data from its third "
                "(F02_freshness_year): grid data in real time, persistence forecasts; its "
                "freshness.md gives each mean's 95 % interval over the weeks"),
    Figure("M5 with week-old data, every week of the data", 1.4, "%", ("F02_freshness_year",),
           "mv_peak_reduction_mean_pct",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "7D")),
           note="the same weeks as the row above, grid data 7 days old"),
    Figure("M5 fresh / week-old, every week (persistence forecasts)", 3.0, "ratio",
           ("F02_freshness_year",), "fresh_over_week_old",
           where=(("model", "M5"), ("forecast", "persistence"), ("data_lag", "15min")),
           note="F02_freshness_year's freshness.md gives the ratio's 95 % interval and "
                "compares the ages week by week (mean difference, its interval, weeks better "
                "and worse)"),
    Figure("M5 fresh / week-old, every week (weather forecasts)", 3.0, "ratio",
           ("F02_freshness_year",), "fresh_over_week_old",
           where=(("model", "M5"), ("forecast", "weather"), ("data_lag", "15min")),
           note="PV from a day-ahead weather forecast and the sites' own meters"),
    Figure("M5 household benefit", 30.0, "EUR/month",
           ("E08_M5_fresh_spring2025", "E11_M5_fresh_autumn2025"),
           "saving_eur_per_household_month",
           note="mostly day-ahead arbitrage on the modelled prices, on the households' own "
                "bills (before wear: see extra_wear_eur_per_household_month in metrics.csv)"),
    Figure("M5 household benefit, stored energy valued", np.nan, "EUR/month",
           ("E08_M5_fresh_spring2025", "E11_M5_fresh_autumn2025"),
           "saving_with_stored_eur_per_household_month",
           note="the row above plus the energy the batteries hold at the run's end less at its "
                "start (against M1's), each kWh at what the planners give a kWh left at their "
                "window's end (docs/models.md, 'What the bills do not count'); a judgement, "
                "not a bill: the report's EUR 30 is what households pay, so the row above is "
                "the one to compare with it"),
    Figure("M6 extreme transformer peaks left", np.nan, "% of baseline",
           ("E10_M6_summer2025",), "transformer_extreme_left_pct",
           note="report: extreme peaks almost absent"),
    Figure("Grid reinforcement deferral (M5, 1%/yr growth)", 7.5, "years",
           ("E08_M5_fresh_spring2025", "E11_M5_fresh_autumn2025"), "mv_deferral_years",
           note="report: 5-10 years (7.5 = middle); deferral = ln(1/(1-r))/ln(1+g)"),
)

TOLERANCE = {"%": 1.0, "EUR/month": 5.0, "years": 2.5, "% of baseline": 10.0, "ratio": 0.5}


def included(results_dir: str | os.PathLike | None = None, experiments=None) -> pd.DataFrame:
    """The experiments whose results a summary may use, with their provenance.

    Parameters
    ----------
    results_dir : path-like, optional
        Folder with one subfolder per experiment (default :data:`RESULTS_DIR`).
    experiments : list of str or str, optional
        Ids (a list, or one string separated by spaces). Default: every
        subfolder with a complete, intact provenance; those must all come
        from one data file, code and solver.

    Returns
    -------
    pandas.DataFrame
        One row per experiment: id, model, period, data path and SHA-256,
        solver, code SHA-256, version, when written.

    Raises
    ------
    ValueError
        A named experiment without a complete result (no provenance, or
        tables changed since), or, without ``experiments``, results of
        different data, code or solver in one folder.
    FileNotFoundError
        No complete result at all.
    """
    from ansen.provenance import check_id, is_current

    root = Path(results_dir) if results_dir else RESULTS_DIR
    if isinstance(experiments, str):
        experiments = experiments.split()
    if experiments:
        for e in experiments:
            check_id(e, "experiments")
        bad = [e for e in experiments if not is_current(root / e)]
        if bad:
            raise ValueError(f"{root}: no complete result (provenance.json with matching tables) "
                             f"for {bad}; rerun them with `ansen reproduce`")
        ids = list(experiments)
    else:  # a folder named otherwise than its experiment is left out (not_counted says so)
        ids = sorted(d.name for d in root.iterdir() if d.is_dir() and is_current(d)
                     and _named_by_its_id(d)) if root.is_dir() else []
    if not ids:
        raise FileNotFoundError(f"no complete experiment results in {root}; run `ansen reproduce`")
    return _provenance_table(root, ids, check_one_run=not experiments)


def _recorded_id(folder: Path) -> str | None:
    """The experiment id a result folder's provenance records (None: none recorded)."""
    from ansen.provenance import read_provenance

    return ((read_provenance(folder) or {}).get("experiment") or {}).get("id")


def _named_by_its_id(folder: Path) -> bool:
    """Whether a result folder bears the name of the experiment its provenance records."""
    return _recorded_id(folder) == folder.name


def not_counted(results_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Subfolders of ``results_dir`` that hold an incomplete result, or one in a folder not
    named by its experiment's id, with the reason."""
    from ansen.provenance import FILENAME, is_current, read_provenance

    root = Path(results_dir) if results_dir else RESULTS_DIR
    out = {}
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir() or not (d / "metrics.csv").exists():
            continue
        if is_current(d):
            if (held := _recorded_id(d)) != d.name:
                out[d.name] = (f"holds experiment {held!r}: the summary reads each experiment "
                               "from a folder of its id (rename the folder, or run it with "
                               "output_dir = results folder / id)" if held else
                               "its provenance.json names no experiment")
            continue
        record = read_provenance(d)
        if record is None:
            out[d.name] = f"no {FILENAME} (an unfinished, failed or old run)"
        else:
            out[d.name] = "files changed since the run (checksums in provenance.json differ)"
    return out


def _data_path(path: str, root: Path, exp_id: str) -> str:
    """A provenance's data path as the summary in ``root`` shows it: repository-relative as
    recorded, else (a village outside the repository, recorded relative to the experiment's
    folder) relative to ``root``."""
    import os

    from ansen.provenance import REPOSITORY

    if Path(path).is_absolute() or (REPOSITORY / path).exists():
        return path
    return Path(os.path.relpath((root / exp_id / path).resolve(), root.resolve())).as_posix()


def _provenance_table(root: Path, ids, check_one_run: bool) -> pd.DataFrame:
    from ansen.provenance import read_provenance

    rows = []
    for e in ids:
        r = read_provenance(root / e)
        x = r["experiment"]
        if x["id"] != e:
            raise ValueError(f"{root / e}: provenance.json is of experiment {x['id']!r}, not "
                             f"{e!r} (a copied or renamed folder?)")
        rows.append({"experiment": e, "model": x["model"], "start": x["start"], "end": x["end"],
                     "data": _data_path(r["data"]["path"], root, e),
                     "data_sha256": r["data"]["sha256"],
                     "solver": r["solver"], "code_sha256": r["package"]["code_sha256"],
                     "version": r["package"]["version"], "written_utc": r.get("written_utc", "")})
    table = pd.DataFrame(rows)
    if check_one_run:
        groups = table.groupby(["data_sha256", "code_sha256", "solver"])["experiment"].apply(list)
        if len(groups) > 1:
            listing = "; ".join(f"data {d[:12]}, code {c[:12]}, {sv}: {', '.join(ids)}"
                                for (d, c, sv), ids in groups.items())
            raise ValueError(f"{root} holds results of different runs ({listing}); name the "
                             "experiments to summarise, or rerun them together")
    return table


def collect_metrics(results_dir: str | os.PathLike | None = None,
                    experiments=None) -> pd.DataFrame:
    """The ``metrics.csv`` of the :func:`included` experiments in one table, with derived columns
    (``attrs["data_sha256"]``: the SHA-256s of the data they ran on)."""
    root = Path(results_dir) if results_dir else RESULTS_DIR
    tables = []
    used = included(root, experiments)
    for e in used["experiment"]:
        t = pd.read_csv(root / e / "metrics.csv")
        if set(t["experiment"].astype(str)) != {e}:
            raise ValueError(f"{root / e / 'metrics.csv'}: holds experiment(s) "
                             f"{sorted(set(t['experiment'].astype(str)))}, not {e} (a copied or "
                             "renamed folder?)")
        tables.append(t)
    t = pd.concat(tables, ignore_index=True)
    def col(name: str) -> pd.Series:
        # a freshness study's table has no feed-in or extreme peaks: NaN there, not a
        # KeyError (results of freshness studies alone have none of these columns)
        return t[name].astype(float) if name in t else pd.Series(np.nan, index=t.index)

    t["lv_feed_in_change_pct"] = 100.0 * (col("lv_feed_in_kwh") / col("baseline_lv_feed_in_kwh")
                                          - 1)
    t["transformer_extreme_left_pct"] = 100.0 * (
        col("transformer_extreme_steps") / col("baseline_transformer_extreme_steps").replace(
            0, np.nan))
    t["transformer_extreme_removed_pct"] = 100.0 - t["transformer_extreme_left_pct"]
    t.attrs["data_sha256"] = sorted(set(used["data_sha256"]))  # the data they ran on
    return t


def _of_the_shipped_village(data_sha256: list[str]) -> bool:
    """Whether results of the data ``data_sha256`` (SHA-256s) are all of the shipped
    village's data."""
    from ansen.data.io import DEFAULT_PATH
    from ansen.provenance import data_fingerprint

    if not DEFAULT_PATH.is_file():
        return False
    return set(data_sha256) == {data_fingerprint(DEFAULT_PATH)}


def summary_table(results_dir: str | os.PathLike | None = None, experiments=None) -> pd.DataFrame:
    """Report figure, reproduced value, difference and note, one row per figure.

    A figure's ``village_note`` (what its note says of the shipped village's results in
    particular) is added only when the results are of the shipped village's data.
    """
    t = collect_metrics(results_dir, experiments)
    shipped = _of_the_shipped_village(t.attrs["data_sha256"])
    rows = []
    for f in FIGURES:
        sel = t[t["experiment"].isin(f.experiments) & (t["baseline"] == f.baseline)]
        for column, value in f.where:
            sel = sel[sel[column].astype(str) == value] if column in sel else sel.iloc[:0]
        vals = sel[f.metric].astype(float) if f.metric in sel else pd.Series(dtype=float)
        if vals.empty:
            value = np.nan
        elif f.how.startswith("best"):
            value = float(vals.max())
        else:
            value = float(vals.mean())
        diff = value - f.report if not np.isnan(f.report) else np.nan
        differs = np.isnan(f.report) or abs(diff) > TOLERANCE.get(f.unit, 0.0)
        missing = sorted(set(f.experiments) - set(sel["experiment"]))
        note = "; ".join(x for x in (f.note, f.village_note if shipped else "") if x) \
            if differs else ""
        if missing:
            note = f"not in this run: {', '.join(missing)}" + (f"; {note}" if note else "")
        rows.append({
            "figure": f.name, "report": f.report, "reproduced": value, "difference": diff,
            "unit": f.unit, "experiments": " ".join(sorted(set(sel["experiment"]))),
            "per experiment": "; ".join(f"{e}: {v:.2f}" for e, v in
                                        zip(sel["experiment"], vals, strict=True)),
            "note": note,
        })
    return pd.DataFrame(rows)


def summary_markdown(table: pd.DataFrame, used: pd.DataFrame | None = None) -> str:
    """results/summary.md: the table in Markdown with a short header and the experiments used."""

    def fmt(x):
        return "n/a" if pd.isna(x) else f"{x:.2f}"

    lines = [
        "# Report figures and their reproduction",
        "",
        "Reproduced from the experiment results listed at the end (`ansen reproduce` writes",
        "them all), on the village each names there (the shipped one is the synthetic Ansen of",
        "data/README.md, not the pilot's measurements). Baseline M1 over the same period.",
        "'n/a' in the report column: the report gives no number. Notes explain differences.",
        "",
        "| figure | report | reproduced | difference | unit | per experiment | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(f"| {r['figure']} | {fmt(r['report'])} | {fmt(r['reproduced'])} | "
                     f"{fmt(r['difference'])} | {r['unit']} | {r['per experiment']} | "
                     f"{r['note']} |")
    if used is not None:
        lines += ["", "## Experiments in this summary", "",
                  "Each from its folder's provenance.json (data and code as SHA-256, first 12 "
                  "characters).", "",
                  "| experiment | model | period | data | data sha256 | solver | code sha256 | "
                  "written (UTC) |", "|---|---|---|---|---|---|---|---|"]
        for _, r in used.iterrows():
            lines.append(f"| {r['experiment']} | {r['model']} | {r['start']} to {r['end']} | "
                         f"{r['data']} | {r['data_sha256'][:12]} | {r['solver']} | "
                         f"{r['code_sha256'][:12]} | {r['written_utc']} |")
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> Path:
    from ansen.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def _write_figure(axes, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from ansen.plots import write_figure

    fig = np.ravel(axes)[0].figure
    out = write_figure(fig, stem)
    plt.close(fig)
    return out


PER_EXPERIMENT = ["experiment", "model", "mv_peak_reduction_mean_pct",
                  "mv_peak_reduction_best_week_pct", "transformer_variance_reduction_pct",
                  "lv_feed_in_change_pct", "saving_eur_per_household_month",
                  "transformer_extreme_left_pct"]


def write_summary(results_dir: str | os.PathLike | None = None, experiments=None) -> dict:
    """Write summary.csv, summary.md and summary.png/.svg into ``results_dir``.

    Parameters
    ----------
    results_dir : path-like, optional
        Default :data:`RESULTS_DIR`.
    experiments : list of str or str, optional
        See :func:`included`.

    Returns
    -------
    dict
        ``markdown`` (the text of summary.md), ``table`` (:func:`summary_table`),
        ``used`` (:func:`included`), ``per_experiment`` (key measures of each
        experiment against M1) and ``files`` written. Without ``experiments``
        and without any complete result nothing is written and ``markdown``
        says why, listing the folders not counted.
    """
    from ansen import plots
    from ansen.io import write_table

    root = Path(results_dir) if results_dir else RESULTS_DIR
    skipped = not_counted(root)
    try:
        used = included(root, experiments)
    except FileNotFoundError:
        if experiments:
            raise
        lines = ["# Report figures and their reproduction", "",
                 "No complete experiment results in this folder yet: run `ansen reproduce`.", ""]
        lines += [f"- {k}: not counted, {v}" for k, v in skipped.items()]
        return {"markdown": "\n".join(lines) + "\n", "table": None, "used": None,
                "per_experiment": pd.DataFrame(columns=PER_EXPERIMENT).set_index("experiment"),
                "files": []}
    ids = list(used["experiment"])
    table = summary_table(root, ids)
    metrics = collect_metrics(root, ids)
    per = metrics[metrics["baseline"] == "M1"]
    # a freshness study's rows differ by forecast and data age: said beside its model
    apart = [c for c in ("forecast", "data_age") if c in per and per[c].notna().any()]
    per = per[[*PER_EXPERIMENT[:2], *apart, *PER_EXPERIMENT[2:]]].set_index("experiment")
    per[apart] = per[apart].fillna("")
    text = summary_markdown(table, used) + _per_experiment_markdown(per)
    if skipped:
        text += "\nFolders not counted: " + "; ".join(f"{k} ({v})" for k, v in skipped.items())
        text += "\n"
    files = [write_table(table.set_index("figure"), root / "summary.csv"),
             _write_text(root / "summary.md", text)]
    plots.set_theme()
    files += _write_figure(plots.report_comparison(table), root / "summary")
    return {"markdown": text, "table": table, "used": used, "per_experiment": per,
            "files": files}


def _per_experiment_markdown(per: pd.DataFrame) -> str:
    """The key measures of each experiment against M1 as a Markdown table (what each
    folder's metrics.csv holds in full)."""
    if per.empty:
        return ""
    lines = ["", "## Each experiment against M1", "",
             "Key measures of each experiment's run against M1 over the same period (every "
             "measure: the folder's `metrics.csv`; definitions: docs/models.md, metrics). "
             "`-` where a measure does not apply.", "",
             "| experiment | " + " | ".join(per.columns) + " |",
             "|---" * (len(per.columns) + 1) + "|"]
    for name, row in per.iterrows():
        cells = [(f"{v:.2f}" if np.isfinite(v) else "-") if isinstance(v, float)
                 else (str(v) if str(v) not in ("", "nan", "None") else "-") for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

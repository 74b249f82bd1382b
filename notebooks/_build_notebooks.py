"""Write notebooks/experiment.ipynb, freshness.ipynb and summary.ipynb (run once after editing).

The notebooks are generated so that their cells stay thin and identical in
shape; edit here, run `.venv/bin/python notebooks/_build_notebooks.py`.
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    for i, cell in enumerate(nb.cells):  # fixed ids: a rebuild gives the same file
        cell["id"] = f"cell-{i:02d}"
    # the kernel `make setup` registers inside the venv (ansen.notebooks.KERNELSPEC)
    nb.metadata["kernelspec"] = {"name": "ansen", "display_name": "Python (ansen)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def params(source):
    cell = nbf.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

experiment = notebook([
    md("""# One pilot experiment

Runs one experiment of `data/experiments.toml` (or a model over a period of your choice) with
its baselines M1 and no battery over the same period, and shows the measures the report uses:
MV peak reduction per week, transformer load variance, feed-in, extreme peaks, household savings.
Run it with papermill, e.g. `papermill notebooks/experiment.ipynb out.ipynb -p experiment_id
E08_M5_fresh_spring2025` (tables, figures and `provenance.json` go to the folder
`E08_M5_fresh_spring2025/` in the working directory unless `-p output_dir` says otherwise), or
all experiments at once with `ansen reproduce`. Relative paths are read from the working
directory."""),
    params('''experiment_id: str = "E08_M5_fresh_spring2025"  # id in the schedule; empty: model, start, end below
schedule_path: str = ""  # experiments TOML; empty: data/experiments.toml
name: str = ""  # name of the run (a folder name) when experiment_id is empty
model: str = ""  # steering model when experiment_id is empty
start: str = ""  # local date when experiment_id is empty
end: str = ""  # local date, exclusive, when experiment_id is empty
params_json: str = "{}"  # model and simulator parameters (JSON) when experiment_id is empty
data_path: str = ""  # village NetCDF or export folder; empty: the shipped synthetic Ansen
solver: str = "highs"  # highs or glpk
output_dir: str = ""  # folder for tables, figures and provenance.json; empty: a folder named after the experiment in the working directory'''),
    code('''import json

import pandas as pd
from IPython.display import Image, display

import ansen.data
from ansen.data.schema import check_coverage
from ansen.experiments import (Experiment, get_experiment, output_folder, run_experiment,
                               write_experiment)

own = {k: v for k, v in {"name": name, "model": model, "start": start, "end": end,
                         "params_json": params_json.strip() not in ("", "{}")}.items() if v}
if experiment_id and own:  # the schedule's experiment would silently win
    raise ValueError(f"experiment_id {experiment_id!r} runs that experiment of the schedule, so "
                     f"{', '.join(own)} would be ignored; pass -p experiment_id '' to run your own")
if experiment_id:
    experiment = get_experiment(experiment_id, schedule_path or None)
else:
    experiment = Experiment(id=name or f"{model}_{start}_{end}", model=model, start=start, end=end,
                            params=json.loads(params_json))
village = ansen.data.load(data_path) if data_path else ansen.data.load_default()
try:  # the period must be in the data: said with the experiment it comes from
    check_coverage(village, experiment.start, experiment.end)
except ansen.data.DataError as exc:
    own_period = ("; for a period of your own give -p experiment_id '' with -p model, -p start "
                  "and -p end" if experiment_id else "")
    raise ansen.data.DataError(f"experiment {experiment.id} ({experiment.start} to "
                               f"{experiment.end}) is not in the data: {exc}{own_period}") from exc
out = output_folder(output_dir, experiment)  # a result already there stops counting from here
pd.set_option("display.max_colwidth", 80)
print(f"tables, figures and provenance.json of {experiment.id} go to: {out}/")
experiment'''),
    md("## Simulate the model and its baselines"),
    code('''result = run_experiment(village, experiment, solver=solver, progress=False)
files = write_experiment(result, out, experiment=experiment, data=data_path or None,
                         solver=solver)
print(experiment.report)'''),
    md("## Measures against M1 (the pilot's baseline) and against no battery\n\n"
       "Each column's definition: `ansen.metrics`. The savings are the households' bills; they "
       "do not value\nthe energy in the batteries. `stored_change_per_household_kwh` is what "
       "the run stored at its end\nless at its start, per battery household, `baseline_...` "
       "the same for the baseline: where the two\ndiffer, the saving is off by that "
       "difference times what a stored kWh is worth. `saving_with_stored_...` values it as "
       "the\nplanners value a kWh left at the end of their window (docs/models.md, \"What "
       "the bills do not count\")."),
    code('''columns = ["baseline", "mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
           "transformer_variance_reduction_pct", "transformer_import_peak_reduction_pct",
           "transformer_export_peak_reduction_pct", "lv_feed_in_kwh", "baseline_lv_feed_in_kwh",
           "transformer_extreme_steps", "baseline_transformer_extreme_steps",
           "saving_collective_pct", "saving_eur_per_household_month",
           "saving_min_eur_per_household_month", "saving_max_eur_per_household_month",
           "stored_change_per_household_kwh", "baseline_stored_change_per_household_kwh",
           "saving_with_stored_eur_per_household_month",
           "self_consumption_pct", "equivalent_full_cycles", "mv_deferral_years"]
result["metrics"].set_index("baseline", append=True)[columns[1:]].T.round(2)'''),
    md("## Cost per battery household and month (EUR, incl. fixed costs)\n\n"
       "Each run's cost divided by its length in average months (`ansen.experiments."
       "cost_per_month`; `household_costs.csv` holds the cost in each calendar month of the "
       "run, a part of a month where the run covers a part)."),
    code('''from ansen.experiments import cost_per_month

cost_per_month(result["costs"]).round(2)'''),
    md("## Settling the community cost among households\n\n"
       "Energy cost only, per battery household and average month (`ansen.settlement`): "
       "the fixed costs of the table above are left out, as they do not depend on the "
       "steering. The rules share the bills; like the bills, they do not count the energy "
       "left in the batteries at the run's end, so a run that ends with fuller batteries "
       "than its counterfactual (M1) shows a smaller saving to share (the metrics' "
       "`saving_with_stored_eur_per_household_month` counts it)."),
    code('''result["settlement"].pivot_table(index="household", columns="rule",
                                  values="cost_eur_per_month").round(2)'''),
    md("## Figures (PNG; an SVG of each beside it)"),
    code('''for f in files:
    if f.suffix == ".png":
        display(Image(filename=str(f)))'''),
])

freshness = notebook([
    md("""# The value of fresh grid data

The report's key finding: M5 cut MV peaks by 4.2 % on average with fresh grid data, by 1.4 % with
forecasts from week-old data. This study runs M5 and the two-layer M4+M5 over the *same weeks*
with the grid data at several ages (real time to 7 days) and two forecast kinds, next to the
perfect-forecast bound (`ansen.freshness`). The controller re-plans every hour from what it
knows. Every age runs over the same weeks, so the tables also compare the ages week by week,
with 95 % intervals over the weeks: a weekly peak is one step of the week, and a mean over a
dozen weeks moves by a percentage point with the weather of a few of them. `ansen reproduce`
runs it as the schedule's `F01_freshness` (the weeks of the pilot's M5 runs) and
`F02_freshness_year` (M5 in every week of the data); `ansen freshness` runs it with your
settings. With the default parameters below it is a small one-week version (the notebook
checked in CI)."""),
    params('''experiment_id: str = ""  # id of a freshness experiment in the schedule; empty: the settings below
schedule_path: str = ""  # experiments TOML; empty: data/experiments.toml
name: str = "freshness_week"  # name (a folder name) when experiment_id is empty
periods_json: str = '[["2025-04-07", "2025-04-14"]]'  # [[start, end], ...] local dates, when experiment_id is empty
models_json: str = '["M5"]'  # steering models, when experiment_id is empty
data_lags_json: str = '["15min", "1D", "7D"]'  # data ages, when experiment_id is empty
forecasts_json: str = '["persistence", "weather"]'  # forecast kinds, when experiment_id is empty
data_path: str = ""  # village NetCDF or export folder; empty: the shipped synthetic Ansen
solver: str = "highs"  # highs or glpk
output_dir: str = ""  # folder for tables, figure and provenance.json; empty: a folder named after the study'''),
    code('''import json
import sys
import warnings

from IPython.display import Image, Markdown, display

import ansen.data
from ansen import freshness
from ansen.experiments import Experiment, get_experiment, output_folder, run_freshness


def one_line(message, category, *args, **kwargs):
    """A warning as one line, as the command line says it (not the code's path and line)."""
    return f"{category.__name__}: {message}\\n"


warnings.formatwarning = one_line
if experiment_id:
    experiment = get_experiment(experiment_id, schedule_path or None)
else:
    periods = json.loads(periods_json)
    experiment = Experiment(id=name, model=json.loads(models_json)[0], start=periods[0][0],
                            end=periods[-1][1], kind="freshness",
                            params={"periods": periods, "models": json.loads(models_json),
                                    "data_lags": json.loads(data_lags_json),
                                    "forecasts": json.loads(forecasts_json)})
out = output_folder(output_dir, experiment)
print(f"tables, figure and provenance.json of {experiment.id} go to: {out}/")
experiment'''),
    md("## Simulate every data age and forecast kind over the same weeks"),
    code('''village = ansen.data.load(data_path) if data_path else ansen.data.load_default()
result = run_freshness(village, experiment, solver=solver, progress=False,
                       log=lambda line: print(line, file=sys.stderr, flush=True))
files = freshness.write(result, out, experiment_id=experiment.id, experiment=experiment,
                        data=data_path or None, solver=solver)
display(Markdown(freshness.markdown(result)))'''),
    md("""## MV peak reduction against the age of the grid data

Lines: forecast kinds, with the 95 % interval of each mean over weeks (none for a single week);
dashed: perfect forecasts; grey crosses: the report's two M5 figures (in other seasons than each
other)."""),
    code('''display(Image(filename=str(out / "freshness.png")))'''),
])

summary = notebook([
    md("""# Summary: the report's figures and their reproduction

Collects the `metrics.csv` of the experiments in the results folder that have a complete
`provenance.json` (written last by each run, with checksums of its tables) and writes
`summary.md`, `summary.csv` and `summary.png`/`.svg` there: for each figure the report gives, the
reproduced value, the difference and, where they differ, a one-line explanation; then the
experiments used, with their data and code checksums. Without `experiments`, every complete
result is used, and they must come from one data file, code and solver."""),
    params('''results_dir: str = ""  # folder with one subfolder per experiment; empty: the repository's results/
experiments: str = ""  # ids to summarise, separated by spaces; empty: every complete result in results_dir'''),
    code('''from IPython.display import Image, Markdown, display

from ansen.report import write_summary

summary = write_summary(results_dir or None, experiments or None)
display(Markdown(summary["markdown"]))
for f in summary["files"]:
    if f.suffix == ".png":
        display(Image(filename=str(f)))'''),
    md("## Every experiment against M1"),
    code('''summary["per_experiment"].round(2)'''),
])

sweep = notebook([
    md("""# A sweep: every model against M1 across a grid

Reads the store of `ansen sweep` (one row per run and baseline, with its provenance; README,
"Sweeps") and makes the cross-model table and figure: each model in each period against M1 over
the same period, for the MV peak, the transformer variance, the households' saving and the
extreme transformer peaks. `ansen reproduce --sweep` runs the season sweep
(`data/sweeps/season.toml`) and then this notebook on its store. With the default parameters it
reads the small example store `data/sweeps/example.parquet` (the notebook checked in CI)."""),
    params('''store: str = ""  # sweep store (Parquet) written by `ansen sweep`; empty: data/sweeps/example.parquet
baseline: str = "M1"  # compare with M1 (the pilot's baseline) or none (no battery)
title: str = "Sweep"  # start of the tables' and figure's titles
output_dir: str = "."  # folder for sweep.md, sweep.csv and sweep.png/.svg'''),
    code('''from IPython.display import Image, Markdown, display

from ansen import sweep

rows = sweep.read_store(store or None)
print(f"{rows['run_id'].nunique()} runs, {len(rows)} rows (each run against M1 and no battery)")
for record in rows.attrs["failed"].values():  # runs that failed: no rows, their reason kept
    print(f"failed, not in the tables: {record['label']}: {record['error']}")
sweep.provenance(rows)'''),
    md("## Every model in every period"),
    code('''table = sweep.cross_model_table(rows, baseline)
files = sweep.write_report(table, output_dir, baseline=baseline, title=title)
display(Markdown(sweep.markdown(table, baseline, title)))'''),
    md("## The same as heat maps (blue: better than the baseline)"),
    code('''display(Image(filename=str(next(f for f in files if f.suffix == ".png"))))'''),
])

penetration = notebook([
    md("""# Battery penetration: from ten home batteries to every home

Reads the store of a penetration sweep: by default the shipped study's
(`data/sweeps/penetration.toml`, run by `ansen reproduce --penetration`: 10, 20, 40, 70 and 140
batteries of 10 kWh / 5 kW on the shipped village, the village's own sites kept and the rest by
largest PV, under M0 (market steering, with net metering and under the 2027 tariff; under the
2027 tariff also with each home's meter held to its plan), M1, M2, M4, M4 with perfect
forecasts, M5 and M4+M5, and M0 under both tariffs and M4 with a live guard on each transformer
at its rating (`transformer_guard = 1.0`, docs/models.md), two weeks in each season, hourly
plans; and neighbourhood batteries with the same kWh and kW as 10 and 40 home batteries). With a `store` of your own, the cell below says
what yours holds; the report reads scenarios named `penetration_NNN` (levels) and
`neighbourhood_<layout>_NNN` and names any it leaves out. Every figure covers the whole
village: every transformer against its rating, the MV feeder, every connection's bill. Level 0
is the village without batteries.

The shipped sweep plans hourly (`plan_minutes = 60`), executed every 15 minutes, to keep 140
batteries fast (docs/models.md, Planner); the numbers at 10 batteries therefore differ a little
from the season sweep's. Two weeks per season are a sample of the season, not its mean."""),
    params('''store: str = ""  # store of the penetration sweep; empty: results/penetration/penetration.parquet
output_dir: str = "."  # folder for penetration.md/.csv, neighbourhood.csv and the figures'''),
    code('''from IPython.display import Image, Markdown, display

from ansen import penetration, sweep

rows = sweep.read_store(store or penetration.RESULTS_STORE)
print(f"{rows['run_id'].nunique()} runs, {len(rows)} rows (each run against M1 and no battery)")
for line in penetration.describe(rows):
    print("-", line)
sweep.provenance(rows)'''),
    md("""## The two questions: where market steering overloads, whether M4 holds

The battery counts at which some transformer goes over its rating, per variant and season, and
the largest transformer load (either direction) against the rating; then the same as a figure
for M1, M0 under both tariffs, M4 and M4 with a live guard (those the store has). Hours over
the rating are drawn linear up to 1 h and logarithmic above, so that M4's hour or two shows
beside M0's tens."""),
    code('''table = penetration.table(rows)
display(Markdown("\\n".join(penetration.over_rating_markdown(table))))
files = penetration.write_report(rows, output_dir,
                                 store=store or penetration.RESULTS_STORE)
display(Image(filename=str(next(f for f in files if f.name == "penetration_headline.png"))))'''),
    md("## What the table says (sentences computed from it)"),
    code('''for line in penetration.findings(table):
    print("-", line)'''),
    md("""## Transformers and MV feeder against the battery count, every variant

Dotted line: the transformer's rating (kW at power factor 1 over kVA). Dashed lines: variants of
a model (in the shipped study M0 under the 2027 tariff, no net metering, and M4 with perfect
forecasts: is an exceedance the price's fault or the forecast's?). Lines that lie on each other
are schedules that coincide: with household meters M2's community cost is the sum of the
households' costs, so M2 plans as M0 (variants whose every number is the same are drawn once,
their names joined by `=`), and M4 as M0 until its threshold binds."""),
    code('''display(Image(filename=str(next(f for f in files if f.name == "penetration_grid.png"))))'''),
    md("## Money and wear: the village's saving, the battery households' saving, cycles"),
    code('''display(Image(filename=str(next(f for f in files if f.name == "penetration_money.png"))))'''),
    md("""## A neighbourhood battery against the same kWh and kW in homes

Bars: mean of the store's seasons; lines: their range (none without neighbourhood scenarios)."""),
    code('''for f in files:
    if f.name.startswith("neighbourhood_") and f.suffix == ".png":
        display(Image(filename=str(f)))'''),
    md("## All numbers"),
    code('''# None: no neighbourhood scenarios in the store (any other problem is raised)
nb = penetration.neighbourhood_table(rows) if penetration.has_neighbourhood(rows) else None
display(Markdown(penetration.markdown(table, nb, rows=rows)))'''),
])

if __name__ == "__main__":
    nbf.write(experiment, HERE / "experiment.ipynb")
    nbf.write(freshness, HERE / "freshness.ipynb")
    nbf.write(summary, HERE / "summary.ipynb")
    nbf.write(sweep, HERE / "sweep.ipynb")
    nbf.write(penetration, HERE / "penetration.ipynb")

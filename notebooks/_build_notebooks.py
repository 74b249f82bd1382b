"""Write notebooks/experiment.ipynb and notebooks/summary.ipynb (run once after editing).

The notebooks are generated so that their cells stay thin and identical in
shape; edit here, run `.venv/bin/python notebooks/_build_notebooks.py`.
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
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
MV peak reduction per week, transformer load variance, feed-in, extreme peaks, household costs.
Run it with papermill, e.g. `papermill notebooks/experiment.ipynb out.ipynb -p experiment_id
E08_M5_fresh_spring2025`, or all experiments at once with `ansen reproduce`."""),
    params('''experiment_id: str = "E08_M5_fresh_spring2025"  # id in the schedule; empty: model, start, end below
schedule_path: str = ""  # experiments TOML; empty: data/experiments.toml
name: str = ""  # name of the run when experiment_id is empty
model: str = ""  # steering model when experiment_id is empty
start: str = ""  # local date when experiment_id is empty
end: str = ""  # local date, exclusive, when experiment_id is empty
params_json: str = "{}"  # model and simulator parameters (JSON) when experiment_id is empty
data_path: str = ""  # village NetCDF or export folder; empty: the shipped synthetic Ansen
solver: str = "highs"  # highs or glpk
output_dir: str = ""  # folder for tables and figures; empty: a temporary folder'''),
    code('''import json
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

import ansen.data
from ansen.experiments import Experiment, get_experiment, run_experiment, write_experiment

if experiment_id:
    experiment = get_experiment(experiment_id, schedule_path or None)
else:
    experiment = Experiment(id=name or f"{model}_{start}_{end}", model=model, start=start, end=end,
                            params=json.loads(params_json))
out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="ansen_"))
pd.set_option("display.max_colwidth", 80)
experiment'''),
    md("## Simulate the model and its baselines"),
    code('''village = ansen.data.load(data_path) if data_path else ansen.data.load_default()
result = run_experiment(village, experiment, solver=solver, progress=False)
files = write_experiment(result, out)
print(experiment.report)'''),
    md("## Measures against M1 (the pilot's baseline) and against no battery"),
    code('''columns = ["baseline", "mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
           "transformer_variance_reduction_pct", "transformer_import_peak_reduction_pct",
           "transformer_export_peak_reduction_pct", "lv_feed_in_kwh", "lv_feed_in_kwh_baseline",
           "transformer_extreme_steps", "transformer_extreme_steps_baseline",
           "saving_collective_pct", "saving_eur_per_household_month",
           "saving_min_eur_per_household_month", "saving_max_eur_per_household_month",
           "self_consumption_pct", "equivalent_cycles", "deferral_years_mv"]
result["metrics"].set_index("baseline", append=True)[columns[1:]].T.round(2)'''),
    md("## Cost per battery household and month (EUR, incl. fixed costs)"),
    code('''result["costs"].pivot_table(index="household", columns="run", values="cost_eur",
                             aggfunc="mean").round(2)'''),
    md("## Settling the community cost among households"),
    code('''result["settlement"].pivot_table(index="household", columns="rule",
                                  values="cost_eur_per_month").round(2)'''),
    md("## Figures"),
    code('''for f in files:
    if f.suffix == ".png":
        display(Image(filename=str(f)))'''),
])

summary = notebook([
    md("""# Summary: the report's figures and their reproduction

Collects the `metrics.csv` of every experiment in the results folder and writes
`summary.md` and `summary.csv` there: for each figure the report gives, the reproduced value,
the difference and, where they differ, a one-line explanation."""),
    params('''results_dir: str = "../results"  # folder with one subfolder per experiment'''),
    code('''from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from ansen.io import atomic_path, write_table
from ansen.report import collect_metrics, summary_markdown, summary_table

table = summary_table(results_dir)
write_table(table.set_index("figure"), Path(results_dir) / "summary.csv")
with atomic_path(Path(results_dir) / "summary.md") as tmp:
    tmp.write_text(summary_markdown(table))
display(Markdown(summary_markdown(table)))'''),
    md("## Every experiment against M1"),
    code('''metrics = collect_metrics(results_dir)
cols = ["experiment", "mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
        "transformer_variance_reduction_pct", "lv_feed_in_change_pct",
        "saving_eur_per_household_month", "transformer_extreme_left_pct"]
metrics[metrics["baseline"] == "M1"][cols].set_index("experiment").round(2)'''),
])

if __name__ == "__main__":
    nbf.write(experiment, HERE / "experiment.ipynb")
    nbf.write(summary, HERE / "summary.ipynb")

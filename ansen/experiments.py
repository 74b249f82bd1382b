"""The pilot's experiments: the schedule in data/experiments.toml and running one of them.

An experiment is a steering model over a period with parameters. Running it
simulates the model and its two baselines over the same period (``M1``, the
pilot's baseline, and ``none``), and writes to its folder:

- ``metrics.csv``: :func:`ansen.metrics.compare` of the model against M1 and
  against no battery (two rows);
- ``household_costs.csv``: cost per battery household and month [EUR], model
  and baselines;
- ``settlement.csv``: the community cost shared by each settlement rule;
- figures (PNG): MV and transformer load in the peak week, weekly MV peak
  reduction, load duration curves, state-of-charge heat map, cost per
  household.

All writes are atomic; numbers are written with 10 significant digits, so a
rerun from the same inputs gives identical files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

__all__ = ["DEFAULT_SCHEDULE", "Experiment", "load_schedule", "run_experiment", "season_sweep"]

DEFAULT_SCHEDULE = Path(__file__).resolve().parents[1] / "data" / "experiments.toml"
SIMULATOR_KEYS = {"solver", "forecast", "forecast_lag_days", "decision_hour", "horizon_hours",
                  "soc_initial", "soc_min", "fallback"}


@dataclass(frozen=True)
class Experiment:
    """One row of the schedule."""

    id: str
    model: str
    start: str
    end: str
    season: str = ""
    params: dict = field(default_factory=dict)
    report: str = ""


def load_schedule(path: str | Path | None = None) -> list[Experiment]:
    """Read and check the experiments of a schedule file (default data/experiments.toml).

    Raises
    ------
    ValueError
        Duplicate ids, unknown models, missing fields or an end before a start,
        naming the experiment.
    """
    from ansen.models import MODELS

    path = Path(path) if path else DEFAULT_SCHEDULE
    raw = tomllib.loads(path.read_text()).get("experiment", [])
    out, seen = [], set()
    for i, row in enumerate(raw):
        name = row.get("id", f"#{i + 1}")
        missing = [k for k in ("id", "model", "start", "end") if k not in row]
        if missing:
            raise ValueError(f"{path}: experiment {name} lacks {missing}")
        if name in seen:
            raise ValueError(f"{path}: duplicate experiment id {name}")
        seen.add(name)
        if row["model"] not in MODELS:
            raise ValueError(f"{path}: experiment {name}: unknown model {row['model']!r}; "
                             f"known: {', '.join(MODELS)}")
        if pd.Timestamp(row["end"]) <= pd.Timestamp(row["start"]):
            raise ValueError(f"{path}: experiment {name}: end {row['end']} is not after start "
                             f"{row['start']}")
        unknown = set(row) - {"id", "model", "start", "end", "season", "params", "report"}
        if unknown:
            raise ValueError(f"{path}: experiment {name}: unknown field(s) {sorted(unknown)}")
        out.append(Experiment(**{**row, "params": dict(row.get("params", {}))}))
    return out


def get_experiment(experiment_id: str, path: str | Path | None = None) -> Experiment:
    """One experiment of the schedule by id (ValueError listing the ids if unknown)."""
    schedule = load_schedule(path)
    for e in schedule:
        if e.id == experiment_id:
            return e
    raise ValueError(f"unknown experiment {experiment_id!r}; known: "
                     f"{', '.join(e.id for e in schedule)}")


def season_sweep(schedule: list[Experiment], models=None) -> list[Experiment]:
    """Every model in every season of the schedule (the counterfactual the pilot could not run).

    For each distinct (season, period) of the schedule, one experiment per
    model, with the parameters of that model's last run in the schedule (the
    settings the pilot ended with, e.g. M5 with fresh data), else its defaults.
    """
    from ansen.models import MODELS

    models = models or [m for m in MODELS if m not in ("none", "M1")]
    params = {}
    for e in schedule:
        params[e.model] = e.params
    periods = []
    for e in schedule:
        if (e.start, e.end) not in [(p.start, p.end) for p in periods]:
            periods.append(e)
    out = []
    for p in periods:
        for m in models:
            tag = m.replace("+", "")
            out.append(Experiment(id=f"S_{p.start}_{tag}", model=m, start=p.start, end=p.end,
                                  season=p.season, params=dict(params.get(m, {})),
                                  report=f"season sweep: {m} in the period of {p.id}"))
    return out


def run_experiment(village: xr.Dataset, exp: Experiment, *, solver: str = "highs",
                   tariff=None, progress=None) -> dict:
    """Simulate an experiment and its baselines; return runs and tables.

    Returns
    -------
    dict
        ``runs`` (model, M1, none), ``metrics`` (vs M1 and vs none),
        ``costs`` (household x month, long format) and ``settlement``.
    """
    import ansen
    from ansen.data.schema import battery_sites
    from ansen.metrics import compare
    from ansen.settlement import RULES, settle
    from ansen.tariffs import Tariff, household_costs

    tariff = tariff or Tariff()
    sim = {k: v for k, v in exp.params.items() if k in SIMULATOR_KEYS}
    sim.setdefault("solver", solver)
    model_params = {k: v for k, v in exp.params.items() if k not in SIMULATOR_KEYS}
    common = {"tariff": tariff, "progress": progress}
    runs = {"M1": ansen.simulate(village, "M1", exp.start, exp.end, **common),
            "none": ansen.simulate(village, "none", exp.start, exp.end, **common)}
    runs["model"] = (runs[exp.model] if exp.model in ("M1", "none") and not exp.params
                     else ansen.simulate(village, exp.model, exp.start, exp.end, **common,
                                         **sim, **model_params))
    metrics = pd.concat([compare(runs["model"], runs[b], tariff=tariff) for b in ("M1", "none")])
    metrics.insert(0, "experiment", exp.id)
    sites = village["household"].values[battery_sites(village)]
    costs = []
    for label in ("model", "M1", "none"):
        c = household_costs(runs[label], tariff)[sites]
        c = c.stack().rename("cost_eur").reset_index().rename(columns={"level_1": "household"})
        c.insert(0, "run", exp.model if label == "model" else label)
        costs.append(c)
    costs = pd.concat(costs, ignore_index=True)
    settlement = pd.concat(
        [settle(runs["model"], rule, tariff=tariff, counterfactual=runs["M1"]).assign(rule=rule)
         for rule in RULES])
    return {"runs": runs, "metrics": metrics, "costs": costs, "settlement": settlement}


def write_experiment(result: dict, folder: str | Path) -> list[Path]:
    """Write the tables and figures of :func:`run_experiment` into ``folder``."""
    import matplotlib.pyplot as plt

    from ansen import plots
    from ansen.io import atomic_path, write_table

    folder = Path(folder)
    written = [write_table(result["metrics"], folder / "metrics.csv"),
               write_table(result["costs"].set_index("run"), folder / "household_costs.csv"),
               write_table(result["settlement"], folder / "settlement.csv")]
    plots.set_theme()
    runs = result["runs"]
    figures = {
        "peak_week.png": lambda: plots.peak_week(runs["model"], runs["M1"]),
        "weekly_mv_peak_reduction.png": lambda: plots.weekly_reduction(runs["model"], runs["M1"]),
        "duration_curves.png": lambda: plots.run_duration_curves(runs["model"], runs["M1"]),
        "soc_heatmap.png": lambda: plots.soc_heatmap(runs["model"]),
        "household_costs.png": lambda: plots.household_cost_bars(result["costs"]),
    }
    for name, draw in figures.items():
        ax = draw()
        fig = ax[0].figure if hasattr(ax, "__len__") else ax.figure
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
        plt.close(fig)
        written.append(folder / name)
    return written

"""The pilot's experiments: the schedule in data/experiments.toml and running one of them.

An experiment is a steering model over a period with parameters. Running it
simulates the model and its two baselines over the same period (``M1``, the
pilot's baseline, and ``none``), and writes to its folder:

- ``metrics.csv``: :func:`ansen.metrics.compare` of the model against M1 and
  against no battery (two rows);
- ``household_costs.csv``: each battery household's cost in each calendar
  month of the run [EUR] (a part of a month where the run covers a part) and
  that month's share of the run (``run_months``, in average months), model
  and baselines; :func:`cost_per_month` makes them costs per month;
- ``settlement.csv``: the community cost shared by each settlement rule;
- figures (PNG and SVG): MV and transformer load in the peak week, weekly MV
  peak reduction, the top of the load duration curves, the transformers'
  mean daily profile with and without batteries, extreme peaks against the
  baseline, state-of-charge heat map, saving per household against M1;
- ``provenance.json`` last (:mod:`ansen.provenance`): what was run on which
  data with which code, and checksums of the files above.

All writes are atomic; numbers are written with 10 significant digits and
figures without dates, so a rerun from the same inputs gives identical files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

#: Kinds of experiment: ``run`` (a model and its baselines, notebooks/experiment.ipynb) and
#: ``freshness`` (data age x forecast over the same weeks, notebooks/freshness.ipynb,
#: :mod:`ansen.freshness`).
KINDS = ("run", "freshness")
#: The notebook that runs each kind of experiment.
NOTEBOOK_OF_KIND = {"run": "experiment.ipynb", "freshness": "freshness.ipynb"}
#: Study settings of a ``freshness`` experiment's params (the rest are model parameters).
FRESHNESS_KEYS = {"models", "data_lags", "forecasts", "periods", "seed"}

#: Keywords of :func:`ansen.simulate` an experiment may set (the rest are model parameters).
SIMULATOR_KEYS = {"solver", "forecast", "data_lag", "forecast_lag_days", "replan_minutes",
                  "decision_hour", "horizon_hours", "soc_initial", "soc_min", "fallback", "seed",
                  "directions", "plan_minutes", "replan_lookahead_hours", "plan_fleet",
                  "plan_method", "realtime", "transformer_guard"}

__all__ = ["DEFAULT_SCHEDULE", "Experiment", "check_period", "cost_per_month", "get_experiment",
           "load_schedule", "output_folder", "run_experiment", "run_freshness", "season_sweep",
           "write_experiment"]

DEFAULT_SCHEDULE = Path(__file__).resolve().parents[1] / "data" / "experiments.toml"


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
    kind: str = "run"


def check_period(start, end, where: str) -> tuple[str, str]:
    """``(start, end)`` as text if both are dates (YYYY-MM-DD, optionally a time) and the end
    is after the start; else ValueError naming ``where`` (a file and entry, an option)."""
    start, end = str(start), str(end)
    for key, value in (("start", start), ("end", end)):
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d([ T][\d:]+)?", value):
                raise ValueError(value)
            pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: {key} = {value!r} is not a date (YYYY-MM-DD)") from exc
    if pd.Timestamp(end) <= pd.Timestamp(start):
        raise ValueError(f"{where}: end {end} is not after start {start}")
    return start, end


def load_schedule(path: str | Path | None = None) -> list[Experiment]:
    """Read and check the experiments of a schedule file (default data/experiments.toml).

    Raises
    ------
    ValueError
        Duplicate or unsafe ids (an id names a folder: letters, digits and
        ``_ . + -`` only), unknown models, missing fields or an end before a
        start, naming the experiment.
    FileNotFoundError
        No schedule at ``path``.
    """
    from ansen.io import read_toml
    from ansen.models import MODELS
    from ansen.provenance import check_id

    path = Path(path) if path else DEFAULT_SCHEDULE
    doc = read_toml(path, "experiment schedule")
    if unknown := sorted(set(doc) - {"experiment"}):
        raise ValueError(f"{path}: unknown table(s) {unknown}; a schedule holds [[experiment]] "
                         "tables only")
    raw = doc.get("experiment", [])
    if not isinstance(raw, list):
        raise ValueError(f"{path}: write each experiment as an [[experiment]] table")
    out, seen = [], set()
    for i, row in enumerate(raw):
        name = row.get("id", f"#{i + 1}")
        missing = [k for k in ("id", "model", "start", "end") if k not in row]
        if missing:
            raise ValueError(f"{path}: experiment {name} lacks {missing}")
        check_id(name, f"{path}: experiment #{i + 1}")
        if name in seen:
            raise ValueError(f"{path}: duplicate experiment id {name}")
        seen.add(name)
        check_period(row["start"], row["end"], f"{path}: experiment {name}")
        if not isinstance(row.get("params", {}), dict):
            raise ValueError(f"{path}: experiment {name}: params must be a table, e.g. "
                             "params = { forecast_lag_days = 1 }")
        if row["model"] not in MODELS:
            raise ValueError(f"{path}: experiment {name}: unknown model {row['model']!r}; "
                             f"known: {', '.join(MODELS)}")
        unknown = set(row) - {"id", "model", "start", "end", "season", "params", "report",
                              "kind"}
        if unknown:
            raise ValueError(f"{path}: experiment {name}: unknown field(s) {sorted(unknown)}")
        if row.get("kind", "run") not in KINDS:
            raise ValueError(f"{path}: experiment {name}: kind must be one of {KINDS}, got "
                             f"{row['kind']!r}")
        if row.get("kind", "run") == "run":
            from ansen.simulator import check_arguments

            try:  # every parameter by name and range now, not in a notebook later
                check_arguments(row["model"], step=None, **row.get("params", {}))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: experiment {name}: {exc}") from None
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
    schedule = [e for e in schedule if e.kind == "run"]  # studies are not sweep periods
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
    check_kind(exp, "run")
    import ansen
    from ansen.data.schema import HOURS_PER_MONTH, battery_sites, local_time, step_hours
    from ansen.metrics import compare
    from ansen.scenarios import tariff_of
    from ansen.settlement import RULES, settle
    from ansen.tariffs import household_costs

    if not len(battery_sites(village)):
        raise ValueError(
            f"experiment {exp.id or exp.model}: the village "
            f"{village.attrs.get('name', '?')!r} has no battery sites (battery_kwh is 0 "
            "everywhere): an experiment steers batteries against M1 and no battery; give it "
            "some first (ansen data derive with a scenario of batteries, e.g. "
            "penetration_010, or battery_kwh and battery_kw in sites.csv)")
    tariff = tariff or tariff_of(village)  # a derived village's own, else net metering
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
    # each month's share of the run, in average months (as the metrics count them)
    local = local_time(runs["model"])
    run_months = (pd.Series(step_hours(runs["model"]), index=local.strftime("%Y-%m"))
                  .groupby(level=0).sum() / HOURS_PER_MONTH)
    costs = []
    # an experiment of M1 or none without parameters is its baseline's run: billed once
    labels = ("M1", "none") if runs["model"] is runs.get(exp.model) else ("model", "M1", "none")
    name = exp.model if exp.model not in ("M1", "none") else f"{exp.model} (experiment)"
    for label in labels:
        c = household_costs(runs[label], tariff)[sites]
        c = c.stack().rename("cost_eur").reset_index().rename(columns={"level_1": "household"})
        c.insert(0, "run", name if label == "model" else label)
        c["run_months"] = c["month"].map(run_months).to_numpy()
        costs.append(c)
    costs = pd.concat(costs, ignore_index=True)
    settlement = pd.concat(
        [settle(runs["model"], rule, tariff=tariff, counterfactual=runs["M1"]).assign(rule=rule)
         for rule in RULES])
    return {"runs": runs, "metrics": metrics, "costs": costs, "settlement": settlement}


def cost_per_month(costs: pd.DataFrame) -> pd.DataFrame:
    """Each household's cost per month of each run [EUR/month]: the run's cost divided by
    its length in average months (as :func:`ansen.metrics.cost_saving` counts them).

    Parameters
    ----------
    costs : pandas.DataFrame
        The ``costs`` of :func:`run_experiment` (``household_costs.csv``): columns run,
        month, household, cost_eur (the cost in that calendar month of the run, a part of
        the month where the run covers a part) and run_months (that month's share of the
        run in average months).

    Returns
    -------
    pandas.DataFrame
        Households (rows) by run (columns). The mean of the rows' ``cost_eur`` is not
        this: a run over three days of a month would show three days' cost, and one over
        most of April and a few days of May the mean of the two parts.
    """
    if "run_months" not in costs:
        raise ValueError("cost_per_month needs the costs' run_months column (each month's "
                         "share of the run), as ansen.experiments.run_experiment gives it")
    if (twice := costs.duplicated(["run", "month", "household"])).any():
        r = costs[twice].iloc[0]
        raise ValueError(f"cost_per_month: {int(twice.sum())} row(s) repeat a run, month and "
                         f"household (first {r['run']} {r['month']} {r['household']}): the costs "
                         "of one experiment, each run once")
    if (costs.groupby(["run", "month"])["run_months"].nunique() > 1).any():
        raise ValueError("cost_per_month: a run's month has two shares (run_months): the costs "
                         "of one experiment, each run once")
    total = costs.groupby(["run", "household"])["cost_eur"].sum().unstack("run")
    months = costs.drop_duplicates(["run", "month"]).groupby("run")["run_months"].sum()
    return total / months


def output_folder(output_dir: str | Path, experiment: Experiment) -> Path:
    """The folder an experiment writes to, made ready for a new run.

    ``output_dir`` empty: a folder named after the experiment in the working
    directory. The folder's provenance is withdrawn and the files it listed removed
    (:func:`ansen.provenance.withdraw`), so if the run fails its old tables neither
    count nor linger looking current (files it did not list, a user's own, stay). A
    folder that does not exist
    is not made here: the first file written makes it, so a run that fails before
    writing leaves nothing behind.
    """
    from ansen.provenance import check_id, withdraw

    # the id is checked also with an output_dir: it is recorded in the provenance and the
    # summary lists it, where an id like ../x would read as a path
    folder = Path(output_dir) if output_dir else Path(check_id(experiment.id))
    check_id(experiment.id, f"output_dir {folder}")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output_dir {folder}: a file, not a folder")
    _say_what_is_replaced(folder, experiment)
    if folder.is_dir():
        withdraw(folder)
    return folder


def _say_what_is_replaced(folder: Path, experiment: Experiment) -> None:
    """Warn when ``folder`` holds the results of another experiment (another id, model,
    period or parameters), which this run replaces."""
    import json
    import warnings

    from ansen.provenance import FILENAME

    try:
        old = json.loads((folder / FILENAME).read_text())["experiment"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    new = {"id": experiment.id, "model": experiment.model, "start": str(experiment.start),
           "end": str(experiment.end), "params": experiment.params}
    if not isinstance(old, dict) or all(old.get(k) == v for k, v in new.items()):
        return
    warnings.warn(f"output_dir {folder} holds the results of experiment {old.get('id')!r} "
                  f"({old.get('model')}, {old.get('start')} to {old.get('end')}); this run "
                  f"of {experiment.id!r} ({experiment.model}, {experiment.start} to "
                  f"{experiment.end}) replaces them", UserWarning, stacklevel=3)


def check_kind(exp: Experiment, kind: str) -> None:
    """Refuse an experiment of another kind than ``kind`` (ValueError naming its notebook)."""
    if exp.kind != kind:
        what = {"run": "a model run", "freshness": "a freshness study"}[kind]
        raise ValueError(f"experiment {exp.id} is of kind {exp.kind!r}, not {what}: run it "
                         f"with notebooks/{NOTEBOOK_OF_KIND[exp.kind]} (ansen reproduce "
                         f"--experiments {exp.id})")


def run_freshness(village: xr.Dataset, exp: Experiment, *, solver: str = "highs",
                  tariff=None, progress=None, log=None) -> dict:
    """Run a ``freshness`` experiment (:func:`ansen.freshness.run`) from its schedule row.

    ``params``: ``models``, ``data_lags``, ``forecasts``, ``periods`` (a list of
    [start, end]; default the experiment's own start and end), ``seed``; any
    other key is a model parameter. ``log``: as :func:`ansen.freshness.run`.
    """
    from ansen import freshness

    check_kind(exp, "freshness")
    p = dict(exp.params)
    periods = p.pop("periods", [[exp.start, exp.end]])
    study = {k: tuple(p.pop(k)) for k in ("models", "data_lags", "forecasts") if k in p}
    seed = int(p.pop("seed", 0))
    return freshness.run(village, periods, solver=solver, seed=seed, tariff=tariff,
                         progress=progress, log=log, **study, **p)


def write_experiment(result: dict, folder: str | Path, *, experiment: Experiment | None = None,
                     data=None, solver: str = "highs") -> list[Path]:
    """Write the tables and figures of :func:`run_experiment` into ``folder``.

    Tables are CSV (10 significant digits), figures PNG with an SVG beside
    each (both without dates, so a rerun writes identical files). With
    ``experiment``, ``provenance.json`` is written last (see
    :mod:`ansen.provenance`); without it, any old provenance is removed.

    Parameters
    ----------
    result : dict
        What :func:`run_experiment` returned.
    folder : path-like
        Result folder (created if needed).
    experiment : Experiment, optional
        The experiment that was run (for the provenance).
    data : path-like, optional
        Village file or export folder the run read (default: the shipped village).
    solver : str
        LP solver of the run.

    Returns
    -------
    list of pathlib.Path
        Files written, tables first, ``provenance.json`` last.
    """
    import matplotlib.pyplot as plt

    from ansen import plots
    from ansen.io import write_table
    from ansen.provenance import withdraw, write_provenance

    folder = Path(folder)
    withdraw(folder)  # the old result's files go, listed or not rewritten
    written = [write_table(result["metrics"], folder / "metrics.csv"),
               write_table(result["costs"].set_index("run"), folder / "household_costs.csv"),
               write_table(result["settlement"], folder / "settlement.csv")]
    plots.set_theme()
    runs = result["runs"]
    figures = {
        "peak_week": lambda: plots.peak_week(runs["model"], runs["M1"]),
        "weekly_mv_peak_reduction": lambda: plots.weekly_reduction(runs["model"], runs["M1"]),
        "duration_curves": lambda: plots.run_duration_curves(runs["model"], runs["M1"]),
        "transformer_profile": lambda: plots.transformer_profile(runs["model"], runs["M1"],
                                                                 runs["none"]),
        "extreme_peaks": lambda: plots.extreme_peaks(runs["model"], runs["M1"]),
        "soc_heatmap": lambda: plots.soc_heatmap(runs["model"]),
        "household_savings": lambda: plots.household_savings(result["costs"]),
    }
    for name, draw in figures.items():
        fig = np.ravel(draw())[0].figure
        written += plots.write_figure(fig, folder / name)
        plt.close(fig)
    if experiment is not None:
        written.append(write_provenance(folder, experiment, written, data=data, solver=solver))
    return written

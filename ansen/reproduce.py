"""``ansen reproduce``: every experiment through its notebook, in parallel, then the summary.

Each experiment of the schedule (or of the season sweep) is executed with
papermill from ``notebooks/experiment.ipynb`` into ``<output>/<id>/``, which
then holds the executed notebook, the tables and the figures. Experiments run
in parallel (one kernel per worker); a failing one is reported with its
notebook path and does not stop the others. Finally
``notebooks/summary.ipynb`` collects the tables into ``summary.md`` and
``summary.csv``.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ansen.experiments import Experiment, load_schedule, season_sweep

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

__all__ = ["reproduce"]


def _parameters(exp: Experiment, in_schedule: bool, schedule, data, solver, folder) -> dict:
    common = {"data_path": str(Path(data).resolve()) if data else "", "solver": solver,
              "output_dir": str(folder.resolve())}
    if in_schedule:
        return {"experiment_id": exp.id,
                "schedule_path": str(Path(schedule).resolve()) if schedule else "", **common}
    return {"experiment_id": "", "name": exp.id, "model": exp.model, "start": exp.start, "end": exp.end,
            "params_json": json.dumps(exp.params), **common}


def _execute(notebook: str, out: str, parameters: dict) -> float:
    import papermill as pm

    start = time.perf_counter()
    pm.execute_notebook(notebook, out, parameters=parameters, cwd=str(NOTEBOOKS),
                        progress_bar=False, kernel_name="python3", log_output=False)
    return time.perf_counter() - start


def reproduce(output: str | Path = "results", *, experiments=None, data=None,
              solver: str = "highs", sweep: bool = False, jobs: int | None = None,
              schedule=None, progress: bool = True) -> dict:
    """Run experiments through the notebook and write the summary.

    Parameters
    ----------
    output : path
        Results folder (one subfolder per experiment).
    experiments : list of str, optional
        Ids to run (default: all of the schedule, or of the sweep).
    data : path, optional
        Village (default: the shipped synthetic Ansen).
    solver : {"highs", "glpk"}
    sweep : bool
        Run every model in every season of the schedule instead of the schedule.
    jobs : int, optional
        Parallel workers (default: the number of cores).
    schedule : path, optional
        Experiments TOML (default data/experiments.toml).

    Returns
    -------
    dict
        ``done`` {id: seconds}, ``failed`` {id: (notebook path, message)},
        ``summary`` path of summary.md (None if the summary failed).
    """
    from tqdm.auto import tqdm

    output = Path(output)
    plan = load_schedule(schedule)
    in_schedule = not sweep
    if sweep:
        plan = season_sweep(plan)
    if experiments:
        unknown = sorted(set(experiments) - {e.id for e in plan})
        if unknown:
            raise ValueError(f"unknown experiment(s) {unknown}; known: "
                             f"{', '.join(e.id for e in plan)}")
        plan = [e for e in plan if e.id in experiments]
    jobs = jobs or os.cpu_count() or 1
    done, failed = {}, {}
    bar = tqdm(total=len(plan), desc="experiments", unit="nb", disable=not progress)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for exp in plan:
            folder = output / exp.id
            folder.mkdir(parents=True, exist_ok=True)
            nb = folder / "experiment.ipynb"
            params = _parameters(exp, in_schedule, schedule, data, solver, folder)
            futures[pool.submit(_execute, str(NOTEBOOKS / "experiment.ipynb"), str(nb),
                                params)] = (exp.id, nb)
        for fut in as_completed(futures):
            exp_id, nb = futures[fut]
            try:
                done[exp_id] = fut.result()
            except Exception as exc:  # a failing notebook must not stop the others
                failed[exp_id] = (str(nb), str(exc).strip().splitlines()[-1] if str(exc) else
                                  type(exc).__name__)
                bar.write(f"FAILED {exp_id}: see {nb}: {failed[exp_id][1]}")
            bar.update(1)
    bar.close()
    summary = None
    if done:
        try:
            _execute(str(NOTEBOOKS / "summary.ipynb"), str(output / "summary.ipynb"),
                     {"results_dir": str(output.resolve())})
            summary = output / "summary.md"
        except Exception as exc:  # report, do not hide
            failed["summary"] = (str(output / "summary.ipynb"), str(exc).strip().splitlines()[-1])
    return {"done": done, "failed": failed, "summary": summary}

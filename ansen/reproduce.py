"""``ansen reproduce``: every experiment through its notebook, in parallel, then the summary.

Each experiment of the schedule (or of the season sweep) is executed with
papermill from ``notebooks/experiment.ipynb`` into ``<output>/<id>/``, which
then holds the executed notebook, the tables, the figures and, written last,
``provenance.json`` (:mod:`ansen.provenance`). Experiments run in parallel, one
worker process per experiment with its own kernel; a failing one is reported
with its notebook path and does not stop the others.

Reruns: an experiment whose folder already holds a complete result of the same
definition, data, solver and code (same provenance key) is skipped unless
``force``; so after an interruption ``ansen reproduce`` again runs only the
rest. An experiment that runs first withdraws its folder's provenance and
removes the files that provenance listed, so a run that fails or is
interrupted leaves no tables that could be counted.

Interruption: Ctrl-C (SIGINT) or SIGTERM stops at once: nothing new is
started, running workers are ended together with their kernels, and
:class:`Interrupted` says what finished. Workers live in their own process
group (a Ctrl-C reaches only the parent, which ends them in order) and end
themselves when the parent dies, even by SIGKILL (Linux: ``PR_SET_PDEATHSIG``;
everywhere: a watchdog thread that sees the parent change). Kernels end when
their worker does (ipykernel watches its parent).

Summary: for the schedule, ``notebooks/summary.ipynb`` writes ``summary.md``,
``summary.csv`` and ``summary.png``/``.svg`` from exactly the experiments of
this run and those whose provenance matches it (listed in ``summary.md``).

The season sweep (``sweep=True``) is the sweep spec ``data/sweeps/season.toml``
run by :func:`ansen.sweep.run` on a dask LocalCluster into the store
``<output>/season.parquet`` (reruns skip its rows of the same task key), then
``notebooks/sweep.ipynb`` reads the store and writes ``sweep.csv``,
``sweep.md`` and ``sweep.png``/``.svg``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ansen.experiments import NOTEBOOK_OF_KIND, Experiment, load_schedule, season_sweep
from ansen.notebooks import NOTEBOOKS
from ansen.provenance import check_id, code_fingerprint, data_fingerprint, experiment_key

__all__ = ["Interrupted", "plan", "reproduce"]

#: Prefix of the line a worker prints with its outcome (JSON).
RESULT_TAG = "ANSEN-RESULT "
#: Seconds a worker gets to end after SIGTERM before it is killed.
STOP_WAIT = 3.0


class Interrupted(KeyboardInterrupt):
    """``reproduce`` was interrupted; ``result`` holds what finished (see :func:`reproduce`)."""

    def __init__(self, result: dict):
        super().__init__("interrupted")
        self.result = result




def _relative(path, folder: Path) -> str:
    return os.path.relpath(Path(path).resolve(), folder.resolve()) if path else ""


def _parameters(exp: Experiment, schedule, data, solver, folder) -> dict:
    """Notebook parameters, every path relative to the experiment folder (the kernel's cwd)."""
    return {"experiment_id": exp.id, "schedule_path": _relative(schedule, folder),
            "data_path": _relative(data, folder), "solver": solver, "output_dir": "."}


def plan(schedule=None, *, sweep: bool = False, experiments=None, models=None,
         periods=None) -> list[Experiment]:
    """The experiments a reproduction runs.

    Parameters
    ----------
    schedule : path, optional
        Experiments TOML (default data/experiments.toml).
    sweep : bool
        Every model in every period of the schedule (:func:`ansen.experiments.season_sweep`).
    experiments : list of str, optional
        Ids to run (of the schedule, or of the sweep).
    models : list of str, optional
        Sweep only: the models (default: all but ``none`` and ``M1``).
    periods : list of str, optional
        Sweep only: periods, each named by a schedule experiment id (its
        period) or a season (``summer``, ...).

    Raises
    ------
    ValueError
        Unknown ids, models or periods (the message lists the known ones);
        ``models``/``periods`` without ``sweep``.
    """
    schedule_list = load_schedule(schedule)
    if not sweep:
        if models or periods:
            raise ValueError("--models and --periods select a sweep; add --sweep (or choose "
                             "experiments of the schedule with --experiments)")
        out = schedule_list
    else:
        from ansen.models import MODELS

        if models:
            unknown = [m for m in models if m not in MODELS]
            if unknown:
                raise ValueError(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
        out = season_sweep(schedule_list, models=list(models) if models else None)
        if periods:
            chosen = set()
            seasons = {e.season for e in schedule_list}
            by_id = {e.id: (e.start, e.end) for e in schedule_list}
            for p in periods:
                if p in by_id:
                    chosen.add(by_id[p])
                elif p in seasons:
                    chosen |= {(e.start, e.end) for e in schedule_list if e.season == p}
                else:
                    raise ValueError(f"unknown period {p!r}: give an experiment id of the "
                                     f"schedule ({', '.join(by_id)}) or a season "
                                     f"({', '.join(sorted(seasons))})")
            out = [e for e in out if (e.start, e.end) in chosen]
    ids = [e.id for e in out]
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise ValueError(f"experiment id(s) {dup} occur more than once (sweep periods with the "
                         "same start date?); every experiment needs its own folder")
    if experiments:
        for e in experiments:
            check_id(e, "--experiments")
        known = [e.id for e in out]
        unknown = [e for e in experiments if e not in known]
        if unknown:
            raise ValueError(f"unknown experiment(s) {unknown}; known: {', '.join(known)}")
        out = [e for e in out if e.id in set(experiments)]
    return out


# --------------------------------------------------------------------------- the parent


class _Worker:
    """One experiment in a child process (its own process group), with its output relayed."""

    def __init__(self, exp_id: str, job: dict, log):
        self.exp_id = exp_id
        self.result: dict | None = None
        self.log = log
        env = dict(os.environ, ANSEN_PARENT_PID=str(os.getpid()))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ansen.reproduce", json.dumps(job)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._relay, daemon=True)
        self.reader.start()

    def _relay(self) -> None:
        for line in self.proc.stdout:
            if line.startswith(RESULT_TAG):
                self.result = json.loads(line[len(RESULT_TAG):])
            elif line.strip():
                self.log(f"[{self.exp_id}] {line.rstrip()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _terminate(workers) -> None:
    for w in workers:
        w.stop()
    deadline = time.monotonic() + STOP_WAIT
    for w in workers:
        try:
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.kill()
            w.proc.wait()


def _run_all(jobs: list[tuple[str, dict]], n: int, log, on_done) -> None:
    """Run the jobs, at most ``n`` at a time; on KeyboardInterrupt end every worker."""
    pending = list(jobs)
    running: list[_Worker] = []
    try:
        while pending or running:
            while pending and len(running) < n:
                exp_id, job = pending.pop(0)
                running.append(_Worker(exp_id, job, log))
            time.sleep(0.1)
            for w in [w for w in running if w.proc.poll() is not None]:
                w.reader.join(timeout=5)
                running.remove(w)
                on_done(w)
    except BaseException:
        # count what finished before the interruption, end the rest (a finished worker's
        # result line has been read by then; the pipe's end may wait for its kernel)
        for w in [w for w in running if w.proc.poll() is not None]:
            w.reader.join(timeout=1)
            running.remove(w)
            on_done(w)
        _terminate(running)
        raise


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def _by_problem(failures: dict[str, str], drop: str | None = None) -> dict[str, list[str]]:
    """Failures ``{what: message}`` as ``{message: [what, ...]}``, each problem once
    (``drop``: a pattern removed from the messages first, such as their subject's name)."""
    same: dict[str, list[str]] = {}
    for what, message in failures.items():
        same.setdefault(re.sub(drop, "", message) if drop else message, []).append(what)
    return same


def check_schedule_fits(experiments_plan, data, solver: str = "highs",
                        schedule=None) -> None:
    """Refuse, before any kernel starts, experiments whose period the village's data do not
    cover or whose settings its time step cannot give (a data age shorter than the step),
    naming each; the shipped schedule is written for the shipped village."""
    import ansen.data
    from ansen.data.schema import check_coverage
    from ansen.freshness import check_data_lags
    from ansen.simulator import check_arguments

    village = ansen.data.load(data)
    step = village.indexes["time"][1] - village.indexes["time"][0]
    misfits = {}
    for e in experiments_plan:
        try:
            check_coverage(village, e.start, e.end)
            if e.kind == "freshness":
                check_data_lags(e.params.get("data_lags", []), village)
            else:
                check_arguments(e.model, step=step, solver=solver, **e.params)
        except ValueError as exc:
            misfits[e.id] = str(exc)
    if misfits:
        fit = [e.id for e in experiments_plan if e.id not in misfits]
        raise ValueError(
            f"{len(misfits)} experiment(s) of the schedule do not fit {data}: "
            + "; ".join(f"{', '.join(ids)}: {m}" for m, ids in _by_problem(misfits).items())
            + (". The shipped schedule (data/experiments.toml) is written for the shipped "
               "village: choose" if schedule is None else f". Of {schedule}: choose")
            + " the experiments that fit ("
            + (f"--experiments {' '.join(fit)}" if fit else "none does")
            + ") or write a schedule for this village (--schedule my.toml, in the format of "
            "data/experiments.toml)")


def reproduce(output: str | Path = "results", *, experiments=None, data=None,
              solver: str = "highs", sweep: bool = False, penetration: bool = False,
              models=None, periods=None, jobs: int | None = None, schedule=None,
              force: bool = False, progress: bool = True, log=None) -> dict:
    """Run experiments through the notebook and write the summary.

    Parameters
    ----------
    output : path
        Results folder (one subfolder per experiment; for the sweep, the store
        ``season.parquet``, ``sweep.ipynb`` and its tables and figure).
    experiments : list of str, optional
        Ids of the schedule to run (default: all).
    data : path, optional
        Village (default: the shipped synthetic Ansen).
    solver : {"highs", "glpk"}
    sweep : bool
        Instead of the schedule, the season sweep: every model in every period
        of the schedule (``data/sweeps/season.toml``, :func:`ansen.sweep.run`
        on a dask LocalCluster), then ``notebooks/sweep.ipynb``.
    penetration : bool
        Instead of the schedule, the penetration sweep
        (``data/sweeps/penetration.toml``: 10 to 140 batteries, every model,
        four seasons, neighbourhood batteries) into ``penetration.parquet``,
        then ``notebooks/penetration.ipynb`` (:mod:`ansen.penetration`).
    models, periods : list of str, optional
        Sweep only: models, and periods named by a schedule experiment id or a
        season (see :meth:`ansen.sweep.Grid.select`).
    jobs : int, optional
        Parallel notebooks, or workers of the sweep's LocalCluster (default:
        the number of cores).
    schedule : path, optional
        Experiments TOML (default data/experiments.toml).
    force : bool
        Rerun experiments whose results are already complete and current.
    progress : bool
        Print a line per finished experiment.
    log : callable, optional
        Where lines go (default: print to stderr).

    Returns
    -------
    dict
        ``done`` {id: seconds}, ``skipped`` [ids already current],
        ``failed`` {id: (notebook path, message)}, ``summary`` path of
        summary.md or sweep.md (None if not written), ``included`` [ids in the
        summary]. For the sweep, ids are run labels (:meth:`ansen.sweep.Task.label`)
        and a failed run names the store.

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, after every worker has ended; ``.result`` as
        above plus ``cancelled`` [ids not finished].
    """
    def default_log(msg):
        print(msg, file=sys.stderr, flush=True)

    log = log or default_log
    output = Path(output)
    if sweep and penetration:
        raise ValueError("choose --sweep or --penetration, not both")
    if sweep or penetration:
        return _reproduce_sweep(output, "penetration" if penetration else "season",
                                experiments=experiments, data=data, solver=solver,
                                models=models, periods=periods, jobs=jobs, schedule=schedule,
                                force=force, progress=progress, log=log)
    experiments_plan = plan(schedule, experiments=experiments, models=models, periods=periods)
    if data is not None:  # the schedule's periods and settings on this village, before any run
        check_schedule_fits(experiments_plan, data, solver, schedule)
    data_sha = data_fingerprint(data)
    code_sha = code_fingerprint()
    keys = {e.id: experiment_key(e, data_sha, solver, code_sha) for e in experiments_plan}
    from ansen.provenance import is_current

    notebook_of = {e.id: NOTEBOOK_OF_KIND[e.kind] for e in experiments_plan}

    def current(exp_id: str) -> bool:
        return is_current(output / exp_id, keys[exp_id]) and (
            output / exp_id / notebook_of[exp_id]).is_file()

    skipped = [] if force else [e.id for e in experiments_plan if current(e.id)]
    todo = [e for e in experiments_plan if e.id not in skipped]
    if skipped and progress:
        log(f"{len(skipped)} experiment(s) already done with the same data, code and settings "
            f"(--force reruns them): {', '.join(skipped)}")
    output.mkdir(parents=True, exist_ok=True)
    root = output.resolve()
    jobs_list = []
    for exp in todo:
        folder = output / exp.id
        if folder.resolve().parent != root:  # ids are checked; this guards the guarantee
            raise ValueError(f"experiment {exp.id!r} would write outside {output}")
        folder.mkdir(parents=True, exist_ok=True)
        jobs_list.append((exp.id, {
            "notebook": str(NOTEBOOKS / notebook_of[exp.id]),
            "output": str(folder / notebook_of[exp.id]), "cwd": str(folder),
            "parameters": _parameters(exp, schedule, data, solver, folder)}))

    done, failed = {}, {}
    total = len(todo)

    def on_done(w: _Worker) -> None:
        nb = str(output / w.exp_id / notebook_of[w.exp_id])
        r = w.result or {}
        if w.proc.returncode == 0 and r.get("ok"):
            done[w.exp_id] = r.get("seconds", float("nan"))
            if progress:
                log(f"done {w.exp_id} ({done[w.exp_id]:.0f} s) "
                    f"[{len(done) + len(failed)}/{total}]")
        else:
            failed[w.exp_id] = (nb, r.get("message") or f"worker ended with code "
                                f"{w.proc.returncode}")
            log(f"FAILED {w.exp_id}: see {nb}: {failed[w.exp_id][1]}")

    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        _run_all(jobs_list, jobs or os.cpu_count() or 1, log, on_done)
    except KeyboardInterrupt as exc:
        finished = set(done) | set(failed)
        result = {"done": done, "skipped": skipped, "failed": failed, "summary": None,
                  "included": [], "cancelled": [e.id for e in todo if e.id not in finished]}
        raise Interrupted(result) from exc
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    included = [e.id for e in experiments_plan if e.id in done or e.id in skipped]
    summary = None
    # the summary also counts other schedule experiments whose results match this run
    for e in load_schedule(schedule):
        if e.id not in included and e.id not in failed and (output / e.id).is_dir():
            key = experiment_key(e, data_sha, solver, code_sha)
            if is_current(output / e.id, key):
                included.append(e.id)
    order = [e.id for e in load_schedule(schedule)]
    included.sort(key=order.index)
    if included:
        try:
            summary = _summarise(output, included)
        except Exception as exc:  # report, do not hide
            failed["summary"] = (str(output / "summary.ipynb"), _last_line(exc))
            log(f"FAILED summary: {failed['summary'][1]}")
    return {"done": done, "skipped": skipped, "failed": failed, "summary": summary,
            "included": included}


#: The store of the season sweep in the output folder of ``ansen reproduce --sweep``.
SWEEP_STORE = "season.parquet"
#: Per shipped sweep of ``ansen reproduce``: its store, notebook, the notebook's parameters
#: and the Markdown it writes.
SWEEPS = {
    "season": (SWEEP_STORE, "sweep.ipynb",
               {"store": SWEEP_STORE, "output_dir": ".", "title": "Season sweep"}, "sweep.md"),
    "penetration": ("penetration.parquet", "penetration.ipynb",
                    {"store": "penetration.parquet", "output_dir": "."}, "penetration.md"),
}


def _reproduce_sweep(output: Path, name: str, *, experiments, data, solver, models, periods,
                     jobs, schedule, force, progress, log) -> dict:
    """A shipped sweep (:data:`SWEEPS`) through :mod:`ansen.sweep`, then its notebook on its
    store."""
    from ansen import sweep as sw

    if experiments:
        raise ValueError("--experiments chooses experiments of the schedule; choose the runs "
                         "of the sweep with --models and --periods")
    if models:
        from ansen.models import MODELS

        if unknown := [m for m in models if m not in MODELS]:
            raise ValueError(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    store_name, notebook, nb_params, markdown = SWEEPS[name]
    grid = sw.load_spec(sw.SPECS / f"{name}.toml", villages=[data] if data else None,
                        models=models, solver=solver, schedule=schedule).select(periods=periods)
    loaded: dict = {}  # each village read once for both checks
    if data and (failures := {**sw.check_scenarios(grid, loaded),
                              **sw.check_periods(grid, loaded)}):
        # one message per problem: the levels' scenarios share them, each naming itself
        same = _by_problem(failures, drop=r"^scenario \S+: ")
        raise ValueError(  # the spec's scenarios and periods on this village
            f"the {name} sweep's scenarios or periods do not fit {data}: "
            + "; ".join(f"{m} ({w[0]})" if len(w) == 1
                        else f"{m} (the same for {len(w)}: {', '.join(w)})"
                        for m, w in same.items())
            + f". They are written for the shipped village (data/sweeps/{name}.toml); write a "
            "spec for this village and run it with `ansen sweep`, then "
            f"`papermill notebooks/{notebook} out.ipynb -p store "
            "<your store>` for the report")
    output.mkdir(parents=True, exist_ok=True)
    store = output / store_name
    try:
        out = sw.run(grid, store, workers=jobs, force=force, progress=progress, log=log)
    except Interrupted as exc:
        r = exc.result
        raise Interrupted({"done": r["done"], "skipped": r["skipped"],
                           "failed": {k: (str(store), v) for k, v in r["failed"].items()},
                           "summary": None, "included": [],
                           "cancelled": r["cancelled"]}) from exc
    failed = {k: (str(store), v) for k, v in out["failed"].items()}
    included = [t.label() for t in grid.tasks if t.label() not in out["failed"]]
    summary = None
    if included:
        from ansen.notebooks import execute

        try:
            execute(NOTEBOOKS / notebook, output / notebook, nb_params, cwd=output)
            summary = output / markdown
        except Exception as exc:  # report, do not hide
            failed["summary"] = (str(output / notebook), _last_line(exc))
            log(f"FAILED summary: {failed['summary'][1]}")
    return {"done": out["done"], "skipped": out["skipped"], "failed": failed,
            "summary": summary, "included": included}


def _summarise(output: Path, included: list[str]) -> Path:
    from ansen.notebooks import execute

    execute(NOTEBOOKS / "summary.ipynb", output / "summary.ipynb",
            {"results_dir": ".", "experiments": " ".join(included)}, cwd=output)
    return output / "summary.md"


def _last_line(exc: BaseException) -> str:
    evalue = getattr(exc, "evalue", None)
    if evalue is not None:
        return f"{getattr(exc, 'ename', 'Error')}: {evalue}".strip().splitlines()[-1]
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


# --------------------------------------------------------------------------- the worker


def _watch_parent(parent: int, on_exit) -> None:
    """End this worker when the parent process dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before prctl took effect
        on_exit()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                on_exit()

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _worker_main(job: dict) -> int:
    """Execute one experiment notebook; print the outcome as a RESULT_TAG line."""
    from ansen.notebooks import execute, kernel_manager, kill_kernel

    km = kernel_manager()

    def abort(*_):
        kill_kernel(km)
        os._exit(143)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, abort)
    parent = int(os.environ.get("ANSEN_PARENT_PID", os.getppid()))
    _watch_parent(parent, abort)

    from ansen.provenance import withdraw

    # From now on the folder's old results do not count: the files the previous run listed
    # in its provenance are removed (a file this version no longer writes does not linger).
    # The executed notebook is written under a hidden name and moved into place when the
    # run ends, so an interrupted run never leaves a notebook that looks finished.
    folder = Path(job["cwd"])
    withdraw(folder)
    final = Path(job["output"])
    final.unlink(missing_ok=True)
    partial = final.with_name(f".{final.stem}.partial.ipynb")  # papermill wants .ipynb
    start = time.perf_counter()
    result = {"ok": True, "message": ""}
    try:
        execute(job["notebook"], partial, job["parameters"], cwd=job["cwd"], km=km)
    except Exception as exc:  # the notebook holds the traceback
        result = {"ok": False, "message": _last_line(exc)}
    if partial.exists():
        os.replace(partial, final)
    result["seconds"] = time.perf_counter() - start
    print(RESULT_TAG + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(_worker_main(json.loads(sys.argv[1])))

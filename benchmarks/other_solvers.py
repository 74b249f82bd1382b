"""The coupled models' day-ahead LPs at 140 sites, solved by LP solvers the project does not use.

Issue 11 asks for 200 ms per simulated day at 140 battery sites; the per-site LP of M4 takes
about 3 s per day-ahead window in HiGHS (benchmarks/RESULTS.md). This script asks whether
another open-source solver is the way: it solves each new window's LP of one run, recorded by
``coupled_lp.record`` (the default controller, HiGHS), from scratch with

- ``highs``: HiGHS's defaults (presolve, dual simplex), the reference;
- ``clp``: COIN-OR CLP's dual simplex and its ``initialSolve`` (CLP chooses), via cylp;
- ``glop``: Google OR-Tools' GLOP simplex, via ``pywraplp``;
- ``clarabel``: the Clarabel interior-point solver (direct sparse factorisation; no crossover,
  so its optimum is a point inside the optimal face, not the vertex a simplex returns).

Only the solve is timed, not building the solver's model (GLOP: ``Solve()`` also copies the
model into GLOP, so its time holds that copy). The run's first LP is left out (as in
``coupled_lp.py``: it starts from nothing, not from a previous window). Each objective is printed beside
the controller's, so that a reader sees each way reached the same optimum (interior point: to
its tolerance). Two steps, because the solvers are not the project's dependencies::

    .venv/bin/python benchmarks/other_solvers.py record lps.npz     # M4, 2-5 June 2025
    python -m venv /tmp/solvers && /tmp/solvers/bin/pip install numpy scipy highspy cylp \\
        ortools clarabel
    /tmp/solvers/bin/python benchmarks/other_solvers.py solve lps.npz

(``record --model M6 --start 2025-01-13 --end 2025-01-16`` for another run.) Figures:
benchmarks/RESULTS.md, "Other LP solvers".
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp


def record(path: str, model: str, start: str, end: str, sites: int) -> None:
    """Run the model with the default controller and save every new window's LP."""
    from coupled_lp import record as keep

    _, solves, _ = keep(model, start, end, sites)
    new = [s for i, s in enumerate(solves) if i > 0 and s["ws"] != solves[i - 1]["ws"]]
    arrays = {}
    for i, s in enumerate(new):
        for key, value in s["lp"].items():
            arrays[f"{i}_{key}"] = np.asarray(value)
        arrays[f"{i}_seconds"] = np.asarray(s["seconds"])
        arrays[f"{i}_objective"] = np.asarray(s["objective"])
        arrays[f"{i}_time"] = np.asarray(str(s["time"]))
    np.savez_compressed(path, count=len(new), model=model, **arrays)
    print(f"{model}, {sites} sites, {start} to {end}: {len(new)} day-ahead LPs in {path}")


def _lps(path: str):
    d = np.load(path)
    for i in range(int(d["count"])):
        lp = {k[len(f"{i}_"):]: d[k] for k in d.files if k.startswith(f"{i}_")}
        lp["n"], lp["m"] = int(lp["n"]), int(lp["m"])
        a = sp.csc_matrix((lp["value"], lp["index"], lp["start"]),
                          shape=(int(lp["m"]), int(lp["n"])))
        yield str(lp["time"]), float(lp["seconds"]), float(lp["objective"]), a, lp


def _highs(a, lp):
    """HiGHS from scratch, as ``coupled_lp.py``'s ``scratch`` way (its helpers)."""
    from coupled_lp import highs, timed

    seconds, _, objective = timed(highs(lp))
    return seconds, objective


def _clp(a, lp, how: str):
    from cylp.cy import CyClpSimplex
    from cylp.cy.CyCoinPackedMatrix import CyCoinPackedMatrix

    big = 1e30  # CLP's infinity
    coo = a.tocoo()
    m = CyClpSimplex()
    m.loadProblem(CyCoinPackedMatrix(True, coo.row.astype(np.int32), coo.col.astype(np.int32),
                                     coo.data.astype(float)),
                  np.clip(lp["col_lower"], -big, big), np.clip(lp["col_upper"], -big, big),
                  lp["cost"], np.clip(lp["row_lower"], -big, big),
                  np.clip(lp["row_upper"], -big, big))
    if (m.nCols, m.nRows) != (a.shape[1], a.shape[0]):  # sized from the indices present
        raise RuntimeError(f"CLP holds {m.nCols} x {m.nRows}, the LP {a.shape[1]} x {a.shape[0]}")
    m.logLevel = 0
    t = time.perf_counter()
    status = m.dual() if how == "dual" else m.initialSolve()
    seconds = time.perf_counter() - t
    if status != "optimal":
        raise RuntimeError(f"CLP {how}: {status}")
    return seconds, m.objectiveValue


def _glop(a, lp):
    from ortools.linear_solver import pywraplp

    s = pywraplp.Solver.CreateSolver("GLOP")
    inf = s.infinity()

    def bound(x):
        return float(x) if np.isfinite(x) else (inf if x > 0 else -inf)

    x = [s.NumVar(bound(lo), bound(hi), "") for lo, hi in zip(lp["col_lower"], lp["col_upper"],
                                                                strict=True)]
    r = a.tocsr()
    for i in range(a.shape[0]):
        row = s.RowConstraint(bound(lp["row_lower"][i]), bound(lp["row_upper"][i]), "")
        for k in range(r.indptr[i], r.indptr[i + 1]):
            row.SetCoefficient(x[r.indices[k]], float(r.data[k]))
    objective = s.Objective()
    for j, c in enumerate(lp["cost"]):
        objective.SetCoefficient(x[j], float(c))
    objective.SetMinimization()
    t = time.perf_counter()
    status = s.Solve()
    seconds = time.perf_counter() - t
    if status != pywraplp.Solver.OPTIMAL:
        raise RuntimeError(f"GLOP: status {status}")
    return seconds, objective.Value()


def _clarabel(a, lp):
    """min c'x with A x + s = b, s in the zero cone (equality rows, fixed columns) or the
    non-negative one. Timed: the solve, as Clarabel reports it (not the set-up)."""
    import clarabel

    lo, hi = lp["row_lower"], lp["row_upper"]
    clo, chi = lp["col_lower"], lp["col_upper"]
    eye = sp.identity(a.shape[1], format="csr")
    r = a.tocsr()
    eq = np.isfinite(lo) & (lo == hi)
    fixed = np.isfinite(clo) & (clo == chi)
    up, down = np.isfinite(hi) & ~eq, np.isfinite(lo) & ~eq
    cup, cdown = np.isfinite(chi) & ~fixed, np.isfinite(clo) & ~fixed
    parts = [(r[eq], hi[eq]), (eye[fixed], chi[fixed]),
             (r[up], hi[up]), (-r[down], -lo[down]), (eye[cup], chi[cup]),
             (-eye[cdown], -clo[cdown])]
    big = sp.vstack([m for m, _ in parts]).tocsc()
    b = np.concatenate([v for _, v in parts])
    cones = [clarabel.ZeroConeT(int(eq.sum() + fixed.sum())),
             clarabel.NonnegativeConeT(int(sum(len(v) for _, v in parts[2:])))]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    n = a.shape[1]
    solution = clarabel.DefaultSolver(sp.csc_matrix((n, n)), lp["cost"], big, b, cones,
                                      settings).solve()
    if str(solution.status) != "Solved":
        raise RuntimeError(f"Clarabel: {solution.status}")
    return solution.solve_time, solution.obj_val


WAYS = {"highs": _highs, "clp dual": lambda a, lp: _clp(a, lp, "dual"),
        "clp initialSolve": lambda a, lp: _clp(a, lp, "initial"), "glop": _glop,
        "clarabel": _clarabel}


def solve(path: str) -> None:
    print(f"{'window (UTC)':20} {'way':17} {'s':>7}   objective (controller's: HiGHS, warm)")
    for when, seconds, objective, a, lp in _lps(path):
        print(f"{when:20} {'controller':17} {seconds:7.3f}   {objective:.6f}   "
              f"({a.shape[1]} columns, {a.shape[0]} rows, {a.nnz} non-zeros)", flush=True)
        for name, way in WAYS.items():
            try:
                s, value = way(a, lp)
            except ImportError as exc:
                print(f"{when:20} {name:17} {'-':>7}   not installed ({exc.name})")
                continue
            except RuntimeError as exc:
                print(f"{when:20} {name:17} {'-':>7}   failed: {exc}")
                continue
            print(f"{when:20} {name:17} {s:7.3f}   {value:.6f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    r = sub.add_parser("record", help="run the model and save its day-ahead LPs (project venv)")
    r.add_argument("path")
    r.add_argument("--model", default="M4")
    r.add_argument("--start", default="2025-06-02")
    r.add_argument("--end", default="2025-06-05")
    r.add_argument("--sites", type=int, default=140)
    s = sub.add_parser("solve", help="solve the saved LPs with each solver installed")
    s.add_argument("path")
    a = p.parse_args()
    if a.step == "record":
        record(a.path, a.model, a.start, a.end, a.sites)
    else:
        solve(a.path)


if __name__ == "__main__":
    main()

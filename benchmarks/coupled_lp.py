"""Why M4 stays slow at 140 sites: each new window's LP of one run, solved other ways.

Runs one model (default M4, household meters) at 140 battery sites with the default
controller, keeps every LP the controller solves (the solver's matrix, costs, bounds and
final basis), and solves each LP of a *new* window (a day-ahead decision; the intraday
re-solves of a window start from its own optimum and take a few hundred milliseconds) again:

- ``controller``: what the run did (warm start from the previous window's final basis; the
  persistent LP keeps its basis, and step t of the new window then starts from the status
  of step t of the previous one: the same hour a day earlier);
- ``scratch``: a fresh solver with HiGHS's defaults (presolve, dual simplex);
- ``shifted``, ``shifted primal``: the previous basis moved by the steps between the two
  windows' starts, so that each step still in the previous window starts from the status
  it had there (steps beyond it keep the controller's start), dual and primal simplex;
- ``per part``: the LP split into its independent blocks (with household meters and no
  MV term, one per transformer), each solved from scratch, times summed;
- ``ipx``: HiGHS's interior point without crossover.

and counts the transformer steps at the optimum that are above the congestion threshold
and exactly at it (M4, M6, M4+M5). Every way must reach the controller's objective to 1e-6
relative (checked). Usage::

    .venv/bin/python benchmarks/coupled_lp.py                      # M4, 2-5 June 2025
    .venv/bin/python benchmarks/coupled_lp.py --model M6 --start 2025-01-13 --end 2025-01-16

Figures and what they mean: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp


def record(model: str, start: str, end: str, sites: int):
    """Simulate and keep every LP solve: a list of dicts, and the column and row keys."""
    import pyomo.environ as pyo

    import ansen
    import ansen.data
    from ansen.controller import planner
    from ansen.models import base, lp
    from ansen.scenarios import BatterySites, Scenario, derive

    village = derive(ansen.data.load_default(), Scenario(
        name=f"sites_{sites}", batteries=BatterySites(
            count=sites, rule="largest_pv", eligible="all", existing="keep")))
    solves, keys, window = [], {}, {"ws": None, "time": None}
    solve, load, inputs = lp.HighsBackend.solve, base.LPRunner._load, planner.Planner.inputs

    def keep_solve(self, columns, p=None):
        t = time.perf_counter()
        out = solve(self, columns, p)
        seconds = time.perf_counter() - t
        h = self._h
        m = h.getLp()
        basis = h.getBasis()
        solves.append({
            "ws": window["ws"], "time": window["time"], "seconds": seconds,
            "iterations": h.getInfo().simplex_iteration_count,
            "objective": h.getInfo().objective_function_value,  # without the model's constant
            "lp": {"n": m.num_col_, "m": m.num_row_, "cost": np.array(m.col_cost_),
                   "col_lower": np.array(m.col_lower_), "col_upper": np.array(m.col_upper_),
                   "row_lower": np.array(m.row_lower_), "row_upper": np.array(m.row_upper_),
                   "start": np.array(m.a_matrix_.start_), "index": np.array(m.a_matrix_.index_),
                   "value": np.array(m.a_matrix_.value_)},
            "col_status": np.array([int(s) for s in basis.col_status]),
            "row_status": np.array([int(s) for s in basis.row_status])})
        return out

    def keep_load(self):
        load(self)
        by_id = {id(v): v for v in self.model.component_data_objects(pyo.Var)}
        cols = [None] * self.lp.shape[1]
        for i, j in self.lp.columns.items():
            v = by_id[i]
            cols[j] = (v.parent_component().name, v.index())
        keys["cols"] = cols
        keys["rows"] = [(c.parent_component().name, c.index()) for c in
                        self.model.component_data_objects(pyo.Constraint, active=True)]

    def keep_inputs(self, ws, we, now, soc_ws):
        window["ws"] = ws
        window["time"] = self.forecasts.known.times[ws]  # UTC
        return inputs(self, ws, we, now, soc_ws)

    lp.HighsBackend.solve, base.LPRunner._load = keep_solve, keep_load  # this process only
    planner.Planner.inputs = keep_inputs
    try:
        run = ansen.simulate(village, model, start, end, plan_method="lp", progress=False)
    finally:
        lp.HighsBackend.solve, base.LPRunner._load = solve, load
        planner.Planner.inputs = inputs
    return run, solves, keys


def highs(data: dict, **options):
    """A fresh ``highspy.Highs`` holding the recorded LP."""
    import highspy

    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = data["n"], data["m"]
    m.col_cost_, m.col_lower_, m.col_upper_ = data["cost"], data["col_lower"], data["col_upper"]
    m.row_lower_, m.row_upper_ = data["row_lower"], data["row_upper"]
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.num_col_, m.a_matrix_.num_row_ = data["n"], data["m"]
    m.a_matrix_.start_, m.a_matrix_.index_ = data["start"], data["index"]
    m.a_matrix_.value_ = data["value"]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for k, v in options.items():
        h.setOptionValue(k, v)
    h.passModel(m)
    return h


def timed(h) -> tuple[float, int, float]:
    t = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t
    info = h.getInfo()
    if h.getModelStatus() != type(h.getModelStatus()).kOptimal:
        raise RuntimeError(f"not optimal: {h.modelStatusToString(h.getModelStatus())}")
    return seconds, info.simplex_iteration_count + info.ipm_iteration_count, \
        info.objective_function_value


def set_basis(h, col_status: np.ndarray, row_status: np.ndarray) -> None:
    import highspy

    b = highspy.HighsBasis()
    b.col_status = [highspy.HighsBasisStatus(int(s)) for s in col_status]
    b.row_status = [highspy.HighsBasisStatus(int(s)) for s in row_status]
    b.valid = True
    if h.setBasis(b) != highspy.HighsStatus.kOk:
        raise RuntimeError("HiGHS refused the shifted basis")


def shifted(status: np.ndarray, keys: list, shift: int, n_steps: int) -> np.ndarray:
    """``status`` of the previous window moved ``shift`` steps earlier (keys: (name, index)
    with the step last in the index; entries without a step, or whose step moved beyond the
    window, keep their own status)."""
    where = {k: i for i, k in enumerate(keys)}
    out = status.copy()
    for i, (name, index) in enumerate(keys):
        index = index if isinstance(index, tuple) else (index,)
        if index == (None,) or not isinstance(index[-1], (int, np.integer)):
            continue
        if index[-1] + shift < n_steps:
            key = (name, index[:-1] + (index[-1] + shift,))
            if len(key[1]) == 1:
                key = (name, key[1][0])
            out[i] = status[where[key]]
    return out


def parts(data: dict) -> tuple[float, int, float, int]:
    """The LP's independent blocks solved one by one from scratch: seconds, iterations,
    objective, blocks."""
    from scipy.sparse.csgraph import connected_components

    A = sp.csc_matrix((data["value"], data["index"], data["start"]), shape=(data["m"], data["n"]))
    n_blocks, label = connected_components(sp.bmat([[None, A], [A.T, None]]), directed=False)
    row_label, col_label = label[:data["m"]], label[data["m"]:]
    seconds = iterations = objective = 0.0
    for block in range(n_blocks):
        J, R = np.flatnonzero(col_label == block), np.flatnonzero(row_label == block)
        sub = A[R][:, J].tocsc()
        part = {"n": len(J), "m": len(R), "cost": data["cost"][J],
                "col_lower": data["col_lower"][J], "col_upper": data["col_upper"][J],
                "row_lower": data["row_lower"][R], "row_upper": data["row_upper"][R],
                "start": sub.indptr.astype(np.int32), "index": sub.indices.astype(np.int32),
                "value": sub.data}
        if len(J) == 0:
            continue
        if len(R) == 0:  # a free column alone: its bound at the cheaper end
            x = np.where(part["cost"] >= 0, part["col_lower"], part["col_upper"])
            objective += float(part["cost"] @ x)
            continue
        s, it, obj = timed(highs(part))
        seconds, iterations, objective = seconds + s, iterations + it, objective + obj
    return seconds, int(iterations), objective, n_blocks


def at_threshold(h, keys: dict) -> tuple[int, int, int]:
    """Transformer steps (k, t) of the optimum above the threshold, exactly at it, all."""
    cols, rows = keys["cols"], keys["rows"]
    x = np.asarray(h.getSolution().col_value)
    row_value = np.asarray(h.getSolution().row_value)
    lower = np.asarray(h.getLp().row_lower_)
    excess = {cols[j][1]: x[j] for j in range(len(cols)) if cols[j][0] == "transformer_excess"}
    tight = {rows[r][1] for r in range(len(rows))
             if rows[r][0] in ("excess_import", "excess_export")
             and abs(row_value[r] - lower[r]) <= 1e-7 * max(1.0, abs(lower[r]))}
    above = sum(1 for k in excess if excess[k] > 1e-7)
    at = sum(1 for k in tight if excess[k] <= 1e-7)
    return above, at, len(excess)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="M4")
    p.add_argument("--start", default="2025-06-02")
    p.add_argument("--end", default="2025-06-05")
    p.add_argument("--sites", type=int, default=140)
    a = p.parse_args()
    t = time.perf_counter()
    run, solves, keys = record(a.model, a.start, a.end, a.sites)
    print(f"{a.model}, {a.sites} battery sites, {a.start} to {a.end}: {len(solves)} LP solves "
          f"recorded in {time.perf_counter() - t:.1f} s; LP {solves[0]['lp']['n']} columns, "
          f"{solves[0]['lp']['m']} rows")
    n_steps = 1 + max(k[1][-1] for k in keys["cols"] if k[0] == "charge")
    print(f"{'window (UTC)':17} {'way':15} {'s':>7} {'iterations':>10}   objective (LP, "
          "without the model's constant)")
    for i in range(1, len(solves)):
        s, prev = solves[i], solves[i - 1]
        shift = s["ws"] - prev["ws"]
        if shift == 0:
            continue  # a re-solve of the same window
        charge = [j for j, k in enumerate(keys["cols"]) if k[0] == "charge"]
        free = {keys["cols"][j][1][-1] for j in charge if s["lp"]["col_upper"][j] > 0}
        when = s["time"].strftime("%Y-%m-%d %H:%M")
        print(f"{when:17} a window of {len(free)} free steps of {n_steps} (the rest padding)")
        lines = [("controller", s["seconds"], s["iterations"], s["objective"])]
        h = highs(s["lp"])
        lines.append(("scratch", *timed(h)))
        above, at, pairs = at_threshold(h, keys) if any(
            k[0] == "transformer_excess" for k in keys["cols"]) else (0, 0, 0)
        cs = shifted(prev["col_status"], keys["cols"], shift, n_steps)
        rs = shifted(prev["row_status"], keys["rows"], shift, n_steps)
        for name, options in (("shifted", {}), ("shifted primal", {"simplex_strategy": 4})):
            h = highs(s["lp"], **options)
            set_basis(h, cs, rs)
            lines.append((name, *timed(h)))
        seconds, iterations, objective, blocks = parts(s["lp"])
        lines.append((f"per part ({blocks})", seconds, iterations, objective))
        lines.append(("ipx", *timed(highs(s["lp"], solver="ipx", run_crossover="off"))))
        for name, seconds, iterations, objective in lines:
            if abs(objective - s["objective"]) > 1e-6 * max(1.0, abs(s["objective"])):
                raise RuntimeError(f"{when} {name}: objective {objective} against the "
                                   f"controller's {s['objective']}")
            print(f"{when:17} {name:15} {seconds:7.3f} {iterations:10d}   {objective:.6f}")
        if pairs:
            print(f"{when:17} transformer steps at the optimum: {above} above the threshold, "
                  f"{at} exactly at it, of {pairs}")


if __name__ == "__main__":
    main()

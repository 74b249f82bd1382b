"""Benchmark: milliseconds per simulated day and peak memory, per model and solver.

Each case runs in a fresh Python process (so its peak resident memory is its
own) on the shipped village with its 10 battery sites:

    .venv/bin/python benchmarks/bench.py                 # one month, all models, both solvers
    .venv/bin/python benchmarks/bench.py --period full   # the whole data period
    .venv/bin/python benchmarks/bench.py --models M2 M5 --solvers highs

A model written ``M0@2027`` runs with the tariff after net metering ends
(import and export prices differ, so M0 keeps one meter per household).

Columns: ``ms/day`` is the whole run divided by the simulated days (loading
the data and importing the solver stack excluded: ``import s``, paid once
per Python process); ``build s`` the one-off model build and first solve (the
persistent solver's set-up); ``steady ms/day`` the rest per day, which is
what a long run costs; ``solve ms/day`` the solver calls alone.

Targets (issue 3): HiGHS at most 60 ms per simulated day for each LP model,
GLPK at most 400 ms, a whole-year run of one model well under a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PERIODS = {"month": ("2025-06-01", "2025-07-01"), "full": (None, None)}
LP_MODELS = ["M0", "M0@2027", "M2", "M2@2027", "M3", "M4", "M5", "M6", "M4+M5"]
RULES = ["none", "M1"]

CHILD = """
import json, resource, sys, time
import ansen, ansen.data
from ansen.tariffs import Tariff
model, solver, start, end = sys.argv[1:5]
start = None if start == "None" else start
end = None if end == "None" else end
model, _, variant = model.partition("@")
tariff = Tariff.after_net_metering() if variant == "2027" else Tariff()
v = ansen.data.load_default()
t = time.perf_counter()
import highspy, pyomo.environ, scipy.sparse  # the solver stack, loaded once per process
from ansen.models import lp
if solver == "glpk":
    lp.libglpk()
imports = time.perf_counter() - t
t = time.perf_counter()
r = ansen.simulate(v, model, start, end, solver=solver, tariff=tariff, progress=False)
wall = time.perf_counter() - t
days = r.sizes["time"] / 96
print(json.dumps({"model": sys.argv[1], "solver": r.attrs["solver"], "days": days,
                  "seconds": wall, "ms_per_day": 1000 * wall / days,
                  "solve_ms_per_day": 1000 * r.attrs["solve_seconds"] / days,
                  "build_s": r.attrs["build_seconds"], "import_s": imports,
                  "steady_ms_per_day": 1000 * (wall - r.attrs["build_seconds"]) / days,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_case(model: str, solver: str, start, end) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, model, solver, str(start), str(end)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        return {"model": model, "solver": solver, "error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--period", choices=sorted(PERIODS), default="month")
    p.add_argument("--models", nargs="+", default=RULES + LP_MODELS)
    p.add_argument("--solvers", nargs="+", default=["highs", "glpk"])
    args = p.parse_args(argv)
    start, end = PERIODS[args.period]
    print(f"period: {args.period} ({start or 'start of data'} to {end or 'end of data'}), "
          "shipped village, 10 battery sites")
    print(f"{'model':8} {'solver':12} {'days':>6} {'s':>8} {'ms/day':>8} {'build s':>8} "
          f"{'steady ms/day':>14} {'solve ms/day':>13} {'peak MB':>8} {'import s':>9}")
    failed = 0
    for model in args.models:
        for solver in args.solvers if model not in RULES else ["highs"]:
            r = run_case(model, solver, start, end)
            if "error" in r:
                failed += 1
                print(f"{model:8} {solver:12} ERROR {r['error']}")
                continue
            print(f"{r['model']:8} {r['solver']:12} {r['days']:6.0f} {r['seconds']:8.1f} "
                  f"{r['ms_per_day']:8.1f} {r['build_s']:8.2f} {r['steady_ms_per_day']:14.1f} "
                  f"{r['solve_ms_per_day']:13.1f} {r['peak_mb']:8.0f} {r['import_s']:9.2f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How far battery-class plans are from per-site plans, certified: the bounds of every plan.

With ``plan_fleet="classes"`` each plan of a model with household meters (M4, M5, M6, M4+M5)
carries a lower and an upper bound of the per-site LP's optimum for the same decision
(:mod:`ansen.controller.certificate`): the class plan is within ``upper - lower`` of the
per-site optimum in the per-site LP's own objective. This runs the class plans on the shipped
village with a battery in every home (140 sites, as ``penetration_140`` of data/scenarios.toml)
over one week per season with the controller's defaults, and prints per model and week the
plans bounded, the mean gap of a plan (EUR over the plan's window of up to 35 hours, and per
battery in cents), the largest gap of one plan, the gaps as a share of what the batteries are
worth to the objective (the per-site objective with the batteries idle from each decision on,
minus the lower bound, summed over the plans), and the time per simulated day (of which the
bounds). With ``--check`` it also solves
the first plan of each run per site (the only plan whose state of charge both runs share) and
checks ``lower <= per-site optimum <= upper``::

    .venv/bin/python benchmarks/class_bound.py            # about 2 minutes
    .venv/bin/python benchmarks/class_bound.py --check    # + one per-site day per run, ~6 min
    .venv/bin/python benchmarks/class_bound.py --data my_export --sites 60 \
        --start 2025-04-07 --end 2025-04-14

Figures: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import ansen
import ansen.data
from ansen.controller import planner as planner_module
from ansen.scenarios import BatterySites, Scenario, derive

WEEKS = [("winter", "2025-01-13", "2025-01-20"), ("spring", "2025-04-07", "2025-04-14"),
         ("summer", "2025-06-02", "2025-06-09"), ("autumn", "2024-10-14", "2024-10-21")]


def first_plan_objective(village, model: str, start: str) -> float:
    """The per-site objective of a run's first plan [EUR] (one day, per-site plans): the LP's
    optimum, or above it where the plan held directions (negative prices); the check
    ``lower <= it`` holds either way, ``it <= upper`` is then the stricter test."""
    made = []
    init = planner_module.Planner.__init__

    def keep(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    planner_module.Planner.__init__ = keep  # this process only
    try:
        end = str((pd.Timestamp(start) + pd.Timedelta(days=1)).date())
        ansen.simulate(village, model, start, end, plan_method="lp", progress=False)
    finally:
        planner_module.Planner.__init__ = init
    return made[0].objectives[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["M4", "M5", "M6", "M4+M5"])
    p.add_argument("--sites", type=int, default=140, help="battery sites (default 140)")
    p.add_argument("--check", action="store_true",
                   help="solve each run's first plan per site and check it lies in the bounds")
    p.add_argument("--data", default=None,
                   help="another village (NetCDF file or export folder; default: the shipped one)")
    p.add_argument("--start", default=None, help="first day, local ISO date (with --end: one "
                   "period instead of the four shipped weeks)")
    p.add_argument("--end", default=None, help="day after the last, local ISO date")
    args = p.parse_args()
    from ansen.data.schema import check_bounds

    check_bounds(args.start, args.end)
    if (args.start is None) != (args.end is None):
        p.error("give --start and --end together")
    if args.data is None and args.start is None:
        weeks = WEEKS
    elif args.start is None:
        p.error("--data needs --start and --end (the shipped weeks may not be in its data)")
    else:
        weeks = [("period", args.start, args.end)]
    base = ansen.data.load(args.data) if args.data else ansen.data.load_default()
    village = derive(base, Scenario(
        name=f"sites_{args.sites}", batteries=BatterySites(
            count=args.sites, rule="largest_pv", eligible="all", existing="keep")))
    print(f"{args.data or 'shipped village'}, {args.sites} battery sites, class plans "
          "(plan_fleet='classes'); EUR: the per-site LP's objective, summed over the run's "
          "plans")
    print(f"{'week':31} {'model':6} {'plans':>5} {'mean gap EUR':>12} {'per battery ct':>14} "
          f"{'max gap EUR':>11} {'% of worth':>10} {'ms/day':>7} {'bounds':>7}"
          + ("   first plan: lower <= per-site <= upper" if args.check else ""))
    for season, start, end in weeks:
        for model in args.models:
            first = []
            init = planner_module.Planner.__init__

            def keep(self, *a, first=first, init=init, **k):
                init(self, *a, **k)
                first.append(self)

            planner_module.Planner.__init__ = keep
            t = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run = ansen.simulate(village, model, start, end, plan_fleet="classes",
                                         progress=False)
            finally:
                planner_module.Planner.__init__ = init
            days = (pd.Timestamp(end) - pd.Timestamp(start)).days
            ms = 1000 * (time.perf_counter() - t) / days
            a = run.attrs
            mean = a["class_plan_gap_mean_eur"]
            line = (f"{season + ' ' + start + ' to ' + end:31} {model:6} "
                    f"{a['class_plans_bounded']:5d} {mean:12.2f} "
                    f"{100 * mean / args.sites:14.2f} "
                    f"{a['class_plan_gap_max_eur']:11.2f} "
                    f"{a['class_plan_gap_share_pct']:10.1f} "
                    f"{ms:7.0f} "
                    f"{1000 * a['class_bound_seconds'] / days:7.0f}")
            if args.check:
                lower, upper, _ = first[0].class_bounds[0]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    best = first_plan_objective(village, model, start)
                ok = lower <= best + 1e-6 and best <= upper + 1e-6
                line += f"   {lower:.3f} <= {best:.3f} <= {upper:.3f} {'ok' if ok else 'FAILS'}"
            print(line, flush=True)


if __name__ == "__main__":
    main()

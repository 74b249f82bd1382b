"""What the re-plan look-ahead costs in results: ``replan_lookahead_hours=12`` against ``None``.

The controller re-plans every hour. With ``replan_lookahead_hours=12`` (the default of
``ansen.simulate``) a re-plan solves only when an input of the next 12 hours changed since the
last solve; a change further ahead waits for a later re-plan or the next day-ahead decision.
With ``None`` every re-plan whose inputs changed anywhere in the window solves. This prints,
for every LP model against M1 on the shipped village over the three four-week periods of
``benchmarks/plan_step.py``, the MV peak reduction [%], the transformer variance reduction [%],
the saving [EUR per household and month], the plans solved (``attrs["solves"]``; the other
re-plans kept the last plan) and the wall time per simulated day with both settings (about 2
minutes)::

    .venv/bin/python benchmarks/lookahead.py
    .venv/bin/python benchmarks/lookahead.py --models M5 --data-lags 15min 1D 2D 7D

With ``--data-lags`` each model runs once per age of the grid data (``data_lag``).

With ``--freshness``: the question for the study of fresh data, whether re-plans that solve
on every change give fresh data more weight. M5 with persistence forecasts over the weeks of
``F02_freshness_year`` (69 since its start moved to 5 August 2024; RESULTS.md's figures are of
the 71 weeks from 15 July) with real-time, 1-day-old and week-old grid data (and the perfect
bound), with both settings (:func:`ansen.freshness.run`; about 8 minutes)::

    .venv/bin/python benchmarks/lookahead.py --freshness
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from plan_step import MEASURES, PERIODS  # the same periods and measures (benchmarks/)

import ansen
import ansen.data
from ansen.metrics import compare

MODELS = ["M0", "M2", "M3", "M4", "M5", "M6", "M4+M5"]


def freshness_study() -> None:
    from ansen import freshness
    from ansen.experiments import get_experiment

    village = ansen.data.load_default()
    periods = get_experiment("F02_freshness_year").params["periods"]
    print(f"M5, persistence forecasts, {periods}: mean weekly MV peak cut [%] (95 % interval)")
    for ahead in (12.0, None):
        t = time.perf_counter()
        out = freshness.run(village, periods, models=["M5"], forecasts=["persistence"],
                            data_lags=["15min", "1D", "7D"], progress=False,
                            replan_lookahead_hours=ahead)
        rows = [f"{r.data_age} {r.mv_peak_reduction_mean_pct:.2f} "
                f"({r.mv_peak_reduction_ci_low_pct:.2f}-{r.mv_peak_reduction_ci_high_pct:.2f})"
                for r in out["table"].itertuples()]
        p = out["paired"].set_index(["fresher", "older"]).loc[("15min", "7D")]
        print(f"replan_lookahead_hours={ahead}: " + "; ".join(rows)
              + f"; real time minus 7 days {p.difference_mean_pp:+.2f} points "
              f"({p.difference_ci_low_pp:+.2f} to {p.difference_ci_high_pp:+.2f}), better in "
              f"{p.fresher_better}, same in {p.same}, worse in {p.older_better} of {p.weeks} "
              f"weeks; {time.perf_counter() - t:.0f} s", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--freshness", action="store_true",
                   help="M5's freshness study over F02's weeks with both settings")
    p.add_argument("--models", nargs="+", default=MODELS, help="models (default: every LP model)")
    p.add_argument("--data-lags", nargs="+", default=[None], metavar="AGE",
                   help="ages of the grid data (default: the simulator's, real time)")
    args = p.parse_args()
    if args.freshness:
        freshness_study()
        return
    village = ansen.data.load_default()
    settings = (12.0, None)
    print(f"{'period':24} {'model':6} {'data age':8} "
          + " ".join(f"{m:>26}" for m in MEASURES.values())
          + f" {'plans solved':>12} {'ms per day':>12}")
    print(f"{'':41}" + " ".join(f"{'12 h':>8} {'all':>8} {'diff':>8}" for _ in MEASURES)
          + f" {'12 h':>6}{'all':>6} {'12 h':>6}{'all':>6}")
    for start, end in PERIODS:
        base = ansen.simulate(village, "M1", start, end, progress=False)
        for model in args.models:
            for lag in args.data_lags:
                rows, solves, ms = [], [], []
                for ahead in settings:
                    t = time.perf_counter()
                    run = ansen.simulate(village, model, start, end, progress=False,
                                         replan_lookahead_hours=ahead,
                                         **({"data_lag": lag} if lag else {}))
                    times = run.indexes["time"]
                    days = (times[-1] - times[0] + (times[1] - times[0])) / pd.Timedelta("1D")
                    ms.append(1000.0 * (time.perf_counter() - t) / days)
                    rows.append(compare(run, base).iloc[0])
                    solves.append(int(run.attrs["solves"]))
                cells = " ".join(f"{rows[0][c]:8.2f} {rows[1][c]:8.2f} "
                                 f"{rows[1][c] - rows[0][c]:+8.2f}" for c in MEASURES)
                print(f"{start} to {end} {model:6} {lag or 'default':8} {cells} "
                      f"{solves[0]:6d}{solves[1]:6d} {ms[0]:6.0f}{ms[1]:6.0f}", flush=True)


if __name__ == "__main__":
    main()

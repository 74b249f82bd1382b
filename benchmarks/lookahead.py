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
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import ansen
import ansen.data
from ansen.metrics import compare

PERIODS = [("2025-04-07", "2025-05-05"), ("2025-06-02", "2025-06-30"), ("2025-09-01", "2025-09-29")]
MODELS = ["M0", "M2", "M3", "M4", "M5", "M6", "M4+M5"]
MEASURES = {"mv_peak_reduction_mean_pct": "MV peak cut %",
            "transformer_variance_reduction_pct": "variance cut %",
            "saving_eur_per_household_month": "saving EUR/month"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=MODELS, help="models (default: every LP model)")
    p.add_argument("--data-lags", nargs="+", default=[None], metavar="AGE",
                   help="ages of the grid data (default: the simulator's, real time)")
    args = p.parse_args()
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

"""What hourly plan steps cost in results: 15-minute against hourly plans on the shipped village.

The penetration sweep plans on an hourly grid (``plan_minutes=60``) so that 140 batteries stay
fast; the experiments plan every 15 minutes. This prints, for M0, M4 and M5 against M1 over
three four-week periods, the MV peak reduction [%], the transformer variance reduction [%] and
the saving [EUR per household and month] with both plan steps, and the differences::

    .venv/bin/python benchmarks/plan_step.py

With ``--penetration``: the same question where the penetration study asks it, a battery in
every connection (``penetration_140``) over the study's four two-week periods, for M0 and M4
(per-site plans): the largest transformer import and export over the rating [kW/kVA] and the
hours over it (``ansen.metrics.grid_load``), with both plan steps (about 4 minutes)::

    .venv/bin/python benchmarks/plan_step.py --penetration
"""

from __future__ import annotations

import ansen
import ansen.data
from ansen.metrics import compare

PERIODS = [("2025-04-07", "2025-05-05"), ("2025-06-02", "2025-06-30"), ("2025-09-01", "2025-09-29")]
MEASURES = {"mv_peak_reduction_mean_pct": "MV peak cut %",
            "transformer_variance_reduction_pct": "variance cut %",
            "saving_eur_per_household_month": "saving EUR/month"}


def penetration() -> None:
    from ansen import sweep
    from ansen.metrics import grid_load
    from ansen.scenarios import derive

    village = derive(ansen.data.load_default(), "penetration_140")
    spec = sweep.load_spec(sweep.SPECS / "penetration.toml")
    periods = list(dict.fromkeys((t.period.season, t.period.start, t.period.end)
                                 for t in spec.tasks))
    cols = {"grid_transformer_import_peak_pu": "import/rating",
            "grid_transformer_export_peak_pu": "export/rating",
            "grid_transformer_over_rating_h": "hours over"}
    print("140 battery sites (penetration_140), per-site plans")
    print(f"{'season':7} {'model':5} " + " ".join(f"{c:>26}" for c in cols.values()))
    print(f"{'':13} " + " ".join(f"{'15 min':>8} {'60 min':>8} {'diff':>8}" for _ in cols))
    for season, start, end in periods:
        for model in ("M0", "M4"):
            g = [grid_load(ansen.simulate(village, model, start, end, plan_minutes=plan,
                                          progress=False)) for plan in (None, 60)]
            print(f"{season:7} {model:5} " + " ".join(
                f"{g[0][c]:8.2f} {g[1][c]:8.2f} {g[1][c] - g[0][c]:+8.2f}" for c in cols),
                flush=True)


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--penetration", action="store_true",
                   help="140 batteries over the penetration study's periods (M0, M4)")
    if p.parse_args().penetration:
        penetration()
        return
    village = ansen.data.load_default()
    print(f"{'period':23} {'model':5} " + " ".join(f"{m:>28}" for m in MEASURES.values()))
    print(f"{'':29} " + " ".join(f"{'15 min':>8} {'60 min':>8} {'diff':>10}" for _ in MEASURES))
    for start, end in PERIODS:
        base = ansen.simulate(village, "M1", start, end, progress=False)
        for model in ("M0", "M4", "M5"):
            rows = [compare(ansen.simulate(village, model, start, end, plan_minutes=plan,
                                           progress=False), base).iloc[0]
                    for plan in (None, 60)]
            cells = " ".join(f"{rows[0][c]:8.2f} {rows[1][c]:8.2f} {rows[1][c] - rows[0][c]:+10.2f}"
                             for c in MEASURES)
            print(f"{start} to {end} {model:5} {cells}")


if __name__ == "__main__":
    main()

"""What planning battery classes costs against planning every site: grid effect, household cost, time.

``plan_fleet="classes"`` (:mod:`ansen.controller.planner`) plans one battery per class of
sites (same transformer, battery per kWh and marginal prices) and splits the plan in proportion
to power; ``plan_fleet="sites"`` plans one LP battery per site (both with ``plan_method="lp"``). This runs both on the shipped village with
every household given a battery (140 sites: the village's own kept, the others by largest PV,
as the penetration level ``penetration_140`` of data/scenarios.toml) over two weeks, a winter
and a summer one, with the controller's defaults (persistence forecasts, real-time grid data,
hourly re-plans, 15-minute plans), and prints per model and week the measures of
:func:`ansen.metrics.compare` against M1 with both plans, their difference and the wall time
per simulated day::

    .venv/bin/python benchmarks/classes.py          # M0 M0@2027 M2 M3 M4 M5 M4+M5, ~25 min
    .venv/bin/python benchmarks/classes.py --models M3 M4 --sites 40

``M0@2027`` runs M0 with the tariff after net metering (``Tariff.after_net_metering()``), where
each household's own meter matters most: export earns far less than import costs.

The per-site runs dominate the time (up to 80 s per model and week at 140 sites).
"""

from __future__ import annotations

import argparse
import time

import ansen
import ansen.data
from ansen.metrics import compare
from ansen.scenarios import BatterySites, Scenario, derive
from ansen.tariffs import Tariff

WEEKS = [("2025-01-13", "2025-01-20"), ("2025-06-02", "2025-06-09")]
MEASURES = {
    "mv_peak_reduction_mean_pct": ("MV peak cut", "%"),
    "transformer_variance_reduction_pct": ("tr. variance cut", "%"),
    "grid_transformer_import_peak_pu": ("tr. import peak", "pu"),
    "grid_transformer_export_peak_pu": ("tr. export peak", "pu"),
    "grid_transformer_over_rating_h": ("tr. hours over", "h"),
    "saving_eur_per_household_month": ("saving", "EUR/hh/mo"),
    "equivalent_full_cycles": ("cycles", "per battery"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+",
                   default=["M0", "M0@2027", "M2", "M3", "M4", "M5", "M4+M5"],
                   help="models, M0@2027 for the tariff after net metering")
    p.add_argument("--sites", type=int, default=140, help="battery sites (default 140)")
    args = p.parse_args()
    village = ansen.data.load_default()
    village = derive(village, Scenario(name=f"sites_{args.sites}", batteries=BatterySites(
        count=args.sites, rule="largest_pv", eligible="all", existing="keep")))
    print(f"shipped village, {args.sites} battery sites; per-site plan | class plan | "
          "difference; ms/day: wall time per simulated day (in-process, after loading)")
    for start, end in WEEKS:
        bases = {}
        for name in args.models:
            model, _, variant = name.partition("@")
            tariff = Tariff.after_net_metering() if variant == "2027" else Tariff()
            if variant not in bases:
                bases[variant] = ansen.simulate(village, "M1", start, end, tariff=tariff,
                                                progress=False)
            base = bases[variant]
            rows, ms, lp = [], [], []
            for fleet in ("sites", "classes"):
                t = time.perf_counter()
                # the LP in both (plan_method="auto" would plan M0 and M2 by dynamic
                # programming and M3 on classes even with plan_fleet="sites")
                run = ansen.simulate(village, model, start, end, plan_fleet=fleet, tariff=tariff,
                                     plan_method="lp", progress=False)
                days = run.sizes["time"] * (run.indexes["time"][1] - run.indexes["time"][0]) \
                    .total_seconds() / 86400
                ms.append(1000 * (time.perf_counter() - t) / days)
                lp.append(run.attrs["lp_batteries"])
                rows.append(compare(run, base, tariff=tariff).iloc[0])
            print(f"\n{start} to {end}  {name}: {lp[0]} LP batteries {ms[0]:.0f} ms/day | "
                  f"{lp[1]} class batteries {ms[1]:.0f} ms/day", flush=True)
            for col, (label, unit) in MEASURES.items():
                a, b = float(rows[0][col]), float(rows[1][col])
                print(f"  {label + ' [' + unit + ']':32} {a:10.3f} {b:10.3f} {b - a:+10.3f}",
                      flush=True)


if __name__ == "__main__":
    main()

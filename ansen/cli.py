"""Command line: ``ansen data summary``, ``ansen data synthesize``, ``ansen overview``, ...

Run ``ansen --help`` for the list. Bad data exit with status 2 and the
:class:`ansen.data.DataError` message, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import ansen
from ansen.data.schema import DataError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _village(path: str | None):
    import ansen.data as d

    return d.load(path) if path else d.load_default()


def cmd_summary(args) -> int:
    from ansen.data.summary import details, peak_timing, summary

    ds = _village(args.path)
    t = ds.indexes["time"]
    print(f"village: {ds.attrs.get('name', '?')} ({ds.attrs.get('source', '?')}), "
          f"{ds.sizes['household']} households, {ds.sizes['transformer']} transformers, "
          f"{t[0]}Z to {t[-1]}Z, {ds.sizes['time']} steps")
    print(f"battery sites: {int((ds['battery_kwh'] > 0).sum())}, "
          f"{float(ds['battery_kwh'].sum()):.0f} kWh, {float(ds['battery_kw'].sum()):.0f} kW\n")
    with pd.option_context("display.width", 200, "display.max_colwidth", 90,
                           "display.float_format", "{:,.2f}".format):
        s = summary(ds)
        print("Annual figures (without batteries) and plausible Dutch ranges:")
        print(s[["value", "low", "high", "ok"]].to_string())
        print("\nSources of the ranges:")
        for k, row in s.iterrows():
            print(f"  {k}: {row['source']}")
        print("\nGrid levels (without batteries):")
        print(details(ds).to_string())
        print("\nWeekly peaks and prices:")
        print(peak_timing(ds).to_string())
    return 0 if s["ok"].all() else 1


def cmd_synthesize(args) -> int:
    import ansen.data as d

    ds = d.synthesize(seed=args.seed)
    out = d.save(ds, args.output)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, seed {args.seed})")
    return 0


def cmd_validate(args) -> int:
    import ansen.data as d

    ds = d.load(args.path, start=args.start, end=args.end)
    print(f"{args.path}: valid ({ds.sizes['time']} steps, {ds.sizes['household']} households)")
    return 0


def cmd_doctor(args) -> int:
    from ansen.solvers import available_solvers, glpk_library

    print(f"ansen {ansen.__version__}, Python {sys.version.split()[0]} at {sys.executable}")
    solvers = available_solvers()
    for name in ("highs", "glpk"):
        print(f"  {name}: {solvers.get(name, 'MISSING')}")
    if "glpk" in solvers:
        print(f"  libglpk: {glpk_library()}")
    missing = {"highs", "glpk"} - set(solvers)
    if missing:
        print(f"missing solvers: {sorted(missing)}", file=sys.stderr)
        return 1
    return 0


def cmd_overview(args) -> int:
    import papermill as pm

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    nb = out / "data_overview.ipynb"
    params = {"data_path": str(Path(args.data).resolve()) if args.data else "",
              "output_dir": str(out.resolve())}
    pm.execute_notebook(str(NOTEBOOKS / "data_overview.ipynb"), str(nb), parameters=params,
                        progress_bar=True, cwd=str(NOTEBOOKS))
    print(f"executed {nb}; figures in {out}")
    return 0


def cmd_compare(args) -> int:
    import ansen
    from ansen.metrics import compare
    from ansen.tariffs import Tariff

    village = _village(args.path)
    tariff = Tariff() if args.net_metering else Tariff.after_net_metering()
    kw = {"start": args.start, "end": args.end, "solver": args.solver,
          "forecast": args.forecast, "tariff": tariff}
    base = ansen.simulate(village, args.baseline, **kw)
    rows = []
    for model in args.models:
        run = base if model == args.baseline else ansen.simulate(village, model, **kw)
        rows.append(compare(run, base, tariff=tariff))
    table = pd.concat(rows)
    if args.output:
        from ansen.io import write_table

        write_table(table, args.output)
    cols = ["mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
            "transformer_variance_reduction_pct", "transformer_export_peak_reduction_pct",
            "transformer_import_peak_reduction_pct", "lv_feed_in_kwh", "transformer_extreme_steps",
            "mv_extreme_steps", "saving_collective_pct", "saving_eur_per_household_month",
            "saving_min_eur_per_household_month", "saving_max_eur_per_household_month",
            "self_consumption_pct", "equivalent_cycles", "deferral_years_mv"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(f"all models vs {args.baseline}, {table['start'].iloc[0]} to {table['end'].iloc[0]}, "
              f"solver {args.solver}, forecast {args.forecast}, "
              f"net metering {'on' if args.net_metering else 'off'}")
        print(table[cols].T.round(2).to_string())
    return 0


def cmd_reproduce(args) -> int:
    import time

    from ansen.reproduce import reproduce

    start = time.perf_counter()
    out = reproduce(args.output, experiments=args.experiments, data=args.data,
                    solver=args.solver, sweep=args.sweep, jobs=args.jobs,
                    schedule=args.schedule)
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(out['done'])} experiment(s) done in {minutes:.1f} min; results in {args.output}")
    if out["summary"]:
        print(f"summary: {out['summary']}")
    for exp_id, (nb, msg) in out["failed"].items():
        print(f"FAILED {exp_id}: {nb}: {msg}", file=sys.stderr)
    return 1 if out["failed"] else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ansen", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"ansen {ansen.__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="village data").add_subparsers(dest="data_cmd",
                                                                      required=True)
    s = data.add_parser("summary", help="annual figures of a village and their Dutch ranges")
    s.add_argument("--path", help="NetCDF file or export folder (default: shipped village)")
    s.set_defaults(func=cmd_summary)
    s = data.add_parser("synthesize", help="rebuild the synthetic village")
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--output", default="data/ansen_synthetic.nc")
    s.set_defaults(func=cmd_synthesize)
    s = data.add_parser("validate", help="check a NetCDF file or export folder")
    s.add_argument("path")
    s.add_argument("--start", help="period the data must cover (local time)")
    s.add_argument("--end")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("compare", help="run models over a period and compare them with a baseline")
    s.add_argument("--models", nargs="+",
                   default=["none", "M0", "M1", "M2", "M3", "M4", "M5", "M6", "M4+M5"])
    s.add_argument("--baseline", default="M1")
    s.add_argument("--start", help="local date (default: start of data)")
    s.add_argument("--end", help="local date, exclusive (default: end of data)")
    s.add_argument("--solver", default="highs", choices=["highs", "glpk"])
    s.add_argument("--forecast", default="persistence",
                   choices=["perfect", "persistence", "profile"])
    s.add_argument("--no-net-metering", dest="net_metering", action="store_false",
                   help="tariff after 2027: feed-in at the day-ahead price")
    s.add_argument("--path", help="village (default: shipped village)")
    s.add_argument("--output", help="write the full table as CSV")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("reproduce", help="run every pilot experiment's notebook, then the summary")
    s.add_argument("--experiments", nargs="+", help="ids to run (default: all)")
    s.add_argument("--data", help="village (default: shipped village)")
    s.add_argument("--solver", default="highs", choices=["highs", "glpk"])
    s.add_argument("--output", default="results")
    s.add_argument("--sweep", action="store_true",
                   help="every model in every season of the schedule")
    s.add_argument("--jobs", type=int, help="parallel notebooks (default: cores)")
    s.add_argument("--schedule", help="experiments TOML (default data/experiments.toml)")
    s.set_defaults(func=cmd_reproduce)

    s = sub.add_parser("doctor", help="check the installation (solvers)")
    s.set_defaults(func=cmd_doctor)
    s = sub.add_parser("overview", help="execute the data overview notebook")
    s.add_argument("--data", help="village path (default: shipped village)")
    s.add_argument("--output", default="results/data_overview")
    s.set_defaults(func=cmd_overview)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"ansen: invalid data: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"ansen: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

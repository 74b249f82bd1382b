"""The ``ansen`` command: village data, model comparison, the pilot's reproduction.

Failures print one line, ``ansen: <message>``, and exit with status 2 for bad
input (data, parameters, files) or 1 otherwise; ``--debug`` shows the
traceback instead. Ctrl-C exits with status 130.

Only the standard library is imported here, so that ``ansen --help`` is quick;
each command imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ansen

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: Steering model ids (kept equal to ``ansen.models.MODELS`` by a test; listed
#: here so that the help does not import Pyomo).
MODEL_IDS = ("none", "M0", "M1", "M2", "M3", "M4", "M5", "M6", "M4+M5")
#: Forecasts (``ansen.forecast.FORECASTS``) and LP solvers (``ansen.models.lp.BACKENDS``).
FORECAST_KINDS = ("perfect", "persistence", "profile", "weather")
SOLVERS = ("highs", "glpk")
#: Data ages, models and forecasts of the freshness study (``ansen.freshness.DATA_LAGS``,
#: ``MODELS``, ``FORECASTS``) and its default period.
FRESHNESS_LAGS = ("15min", "1h", "1D", "2D", "7D")
FRESHNESS_MODELS = ("M5", "M4+M5")
FRESHNESS_FORECASTS = ("persistence", "weather")
FRESHNESS_PERIOD = "2025-04-07:2025-05-05"

DESCRIPTION = f"""\
Open reproduction package of the Ansen home-battery pilot (NO-GIZMOS, 2024-2025).

steering models: {", ".join(MODEL_IDS)}
  none no battery; M0 individual day-ahead arbitrage; M1 self-consumption (the
  pilot's baseline); M2 community cost; M3 flatten the transformer; M4 community
  cost + transformer congestion price; M5 community cost + MV peak prices; M6 M4
  + code red/green behaviour; M4+M5 both layers (docs/models.md)
forecasts: {", ".join(FORECAST_KINDS)}
solvers: {", ".join(SOLVERS)}
"""

EPILOG = """\
examples:
  ansen data summary
  ansen data validate --data my_export_folder
  ansen data derive penetration_040 tariff_2027 --output p40_2027.nc
  ansen compare --start 2025-06-01 --end 2025-07-01 --models M1 M4 M5
  ansen reproduce --output results
  ansen reproduce --sweep --models M4 M5 --periods E05_M5_weekold_autumn2024 summer
  ansen sweep season --output season.parquet --periods summer
  ansen sweep my_grid.toml --scheduler tcp://scheduler-host:8786
  ansen freshness --models M5 --periods 2025-04-07:2025-05-05 --output fresh

`ansen <command> --help` describes each command."""


class _Help(argparse.RawDescriptionHelpFormatter):
    """Keep the line breaks of descriptions; add each option's default unless its help gives it.

    Flags (true/false) and options without a default (None) show no default.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default in (None, argparse.SUPPRESS)
                or isinstance(action.default, bool)):
            return text
        return text + " (default: %(default)s)"


def _wrap(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.fill(par, 79) for par in text.split("\n"))


_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show the full traceback of a failure instead of one line")


def _parser(sub, name: str, help: str, description: str | None = None):
    parser = sub.add_parser(name, help=help, description=_wrap(description or help),
                            formatter_class=_Help, parents=[_COMMON])
    parser.set_defaults(_command_parser=parser)  # the innermost command's wins
    return parser


#: Options one command names otherwise (``sweep --workers``, ``reproduce --jobs``).
_SAME_MEANING = {"--workers": ("--jobs",), "--jobs": ("--workers",),
                 "--village": ("--data",), "--model": ("--models",),
                 "--period": ("--periods",), "--out": ("--output",)}


def _unrecognized(parser: argparse.ArgumentParser, extra: list[str]) -> str:
    """The error for arguments ``extra`` that ``parser`` does not know, with near misses."""
    import difflib

    options = [o for a in parser._actions for o in a.option_strings]
    hints = []
    for arg in extra:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            same = [o for o in _SAME_MEANING.get(name, ()) if o in options]
            close = same or difflib.get_close_matches(name, options, n=1, cutoff=0.7)
            if close:
                hints.append(f"{close[0]} for {name}")
    return (f"unrecognized arguments: {' '.join(extra)}"
            + (f" (did you mean {'; '.join(hints)}?)" if hints else "")
            + f"; '{parser.prog} -h' lists its options")


def _village(path: str | None):
    import ansen.data as d

    return d.load(path) if path else d.load_default()


def cmd_summary(args) -> int:
    import pandas as pd

    from ansen.data.schema import when
    from ansen.data.summary import details, peak_timing, price_pv_correlation, summary

    ds = _village(args.data)
    t = ds.indexes["time"]
    tz = ds.attrs.get("timezone", "Europe/Amsterdam")
    name, source = str(ds.attrs.get("name", "?")), str(ds.attrs.get("source", "?"))
    said = name if name.endswith(f"({source})") else f"{name} ({source})"  # not "(x) (x)"
    print(f"village: {said}, "
          f"{ds.sizes['household']} households, {ds.sizes['transformer']} transformers, "
          f"{when(t[0], tz)} to {when(t[-1] + (t[1] - t[0]), tz)} (the end of the last step, "
          f"as periods and their errors count it), {ds.sizes['time']} steps of "
          f"{(t[1] - t[0]) / pd.Timedelta(minutes=1):g} min")
    print(f"battery sites: {int((ds['battery_kwh'] > 0).sum())}, "
          f"{float(ds['battery_kwh'].sum()):.6g} kWh, {float(ds['battery_kw'].sum()):.6g} kW\n")
    with pd.option_context("display.width", 200, "display.max_colwidth", 90,
                           "display.float_format", "{:,.2f}".format):
        s = summary(ds)
        print("Annual figures (without batteries) and plausible Dutch ranges:")
        shown = s[["value", "low", "high", "ok"]].copy()
        shown["ok"] = [("n/a" if ok is None else str(ok)) for ok in s["ok"]]
        print(shown.to_string())
        if (s["ok"].isna()).any():
            print("n/a: not judged (a year's figure from less than a year of data, a price "
                  "figure of a village without prices, a winter peak from data without winter, "
                  "or a calibration target of the synthetic village on another village)")
        print("\nSources of the ranges:")
        for k, row in s.iterrows():
            print(f"  {k}: {row['source']}")
        print("\nGrid levels (without batteries):")
        print(details(ds).to_string())
        print("\nWeekly peaks and prices:")
        print(peak_timing(ds).to_string())
        print("\nDay-ahead price and the village's PV (hourly; data/README.md, Prices):")
        print(price_pv_correlation(ds).to_string())
    if out := [k for k, ok in s["ok"].items() if ok is False]:  # a check: exit 1, naming them
        print(f"ansen: {len(out)} figure(s) outside their plausible Dutch range: "
              f"{', '.join(out)} (the table above; exit 1)", file=sys.stderr)
        return 1
    return 0


def cmd_synthesize(args) -> int:
    import ansen.data as d

    _check_output_file(args.output, "--output", ".nc")
    spec = None
    if args.spec is not None:
        from ansen.data.synthetic import read_village_spec

        spec = read_village_spec(args.spec)
    try:
        ds = d.synthesize(seed=args.seed, spec=spec)
    except ValueError as exc:  # what the spec asks cannot be built: say which file asked it
        raise ValueError(f"{args.spec}: {exc}" if args.spec else str(exc)) from exc
    was = _replacing(args.output)
    out = d.save(ds, args.output)
    sites = int((ds["battery_kwh"].values > 0).sum())
    print(f"wrote {out}{was} ({out.stat().st_size / 1e6:.1f} MB, seed {args.seed}"
          + (f", spec {args.spec}: {ds.sizes['household']} connections, {sites} battery "
             "site(s), the village hall's included" if spec else "") + ")")
    return 0


def cmd_validate(args) -> int:
    import numpy as np

    import ansen.data as d
    from ansen.data.schema import check_bounds

    check_bounds(args.start, args.end)
    ds = d.load(args.data, start=args.start, end=args.end, resample=args.resample or None)
    period = (f"; covers {args.start or 'its start'} to {args.end or 'its end'}"
              if args.start or args.end else "")
    print(f"{args.data}: valid ({ds.sizes['time']} steps in the file, "
          f"{ds.sizes['household']} households{period})")
    if not all(np.isfinite(float(ds.attrs.get(k, np.nan))) for k in ("latitude", "longitude")):
        print("not checked: the PV's timing against the sun (the village gives no latitude "
              "and longitude)")
    if ds.attrs.get("resampled"):
        from pathlib import Path

        read_now = Path(args.data).is_dir()  # a NetCDF file carries the notes of its export
        print(f"converted{'' if read_now else ' when it was read from its export'}: "
              f"{ds.attrs['resampled']}")
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
    import os

    from ansen.notebooks import execute

    args.output = _own_output(args, "results/data_overview")
    if args.data:  # refuse bad data here (loading validates), in one line, before a kernel starts
        _village(args.data)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    nb = out / "data_overview.ipynb"
    data = os.path.relpath(Path(args.data).resolve(), out.resolve()) if args.data else ""
    execute(NOTEBOOKS / "data_overview.ipynb", nb, {"data_path": data, "output_dir": "."},
            cwd=out, progress=True)
    print(f"executed {nb}; figures and summary.csv in {out}")
    return 0


def cmd_freshness(args) -> int:
    import json
    import os

    from ansen import freshness
    from ansen.experiments import check_period
    from ansen.notebooks import execute

    explicit = args.data_lags is not None
    lags = args.data_lags if explicit else list(FRESHNESS_LAGS)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out} is a file: give a folder for the study's tables "
                         "and figure")
    experiment = None
    if args.experiment:  # a freshness study of the schedule, nothing else, before a kernel
        from ansen.experiments import check_kind, get_experiment

        experiment = get_experiment(args.experiment)
        check_kind(experiment, "freshness")
        given = [option for option, value in (
            ("--periods", args.periods), ("--models", args.models),
            ("--data-lags", args.data_lags), ("--forecasts", args.forecasts))
            if value is not None]
        if given:
            raise ValueError(f"--experiment {args.experiment} sets the study's periods, models, "
                             f"data ages and forecasts; drop {', '.join(given)} or drop "
                             "--experiment")
    models = list(args.models or FRESHNESS_MODELS)
    forecasts = list(args.forecasts or FRESHNESS_FORECASTS)
    if experiment is None:  # duplicates, unknown kinds and ages, M1
        freshness.check_variants(models, forecasts, lags)
    periods = []  # the periods given (an experiment's are checked on the data below)
    for p in [] if experiment is not None else args.periods or [FRESHNESS_PERIOD]:
        start, sep, end = p.partition(":")
        if not sep or not start or not end:
            raise ValueError(f"--periods {p!r}: write each period as START:END (local dates, "
                             f"end exclusive), e.g. {FRESHNESS_PERIOD}")
        periods.append(list(check_period(start, end, f"--periods {p!r}")))
    if experiment is None:
        freshness.check_periods(periods)  # overlaps, before a kernel starts
    if args.data or not args.experiment:  # the data (loading validates) and the periods,
        from ansen.data.schema import validate  # before a kernel starts

        village = _village(args.data)
        if not explicit:  # the default ages that the data's step allows, said
            import pandas as pd

            from ansen.data.schema import duration_text

            step = village.indexes["time"][1] - village.indexes["time"][0]
            if short := [lag for lag in lags if pd.Timedelta(lag) < step]:
                lags = [lag for lag in lags if lag not in short]
                print(f"data ages {short} left out: shorter than the data's step "
                      f"({duration_text(step)}), the freshest a controller can know", file=sys.stderr)
        freshness.check_data_lags(lags, village)
        checked = periods
        if experiment is not None:  # the study's own periods and ages on this data
            freshness.check_data_lags(experiment.params.get("data_lags", lags), village)
            checked = [list(p) for p in experiment.params.get("periods", [])]
        for start, end in checked:
            try:
                validate(village, start=start, end=end)
            except ValueError as exc:
                if experiment is None:
                    raise
                raise ValueError(f"{args.experiment}'s period {start} to {end} on "
                                 f"{args.data}: {exc}") from exc
    out.mkdir(parents=True, exist_ok=True)
    nb = out / "freshness.ipynb"
    data = os.path.relpath(Path(args.data).resolve(), out.resolve()) if args.data else ""
    if args.experiment:
        params = {"experiment_id": args.experiment}
    else:
        params = {"experiment_id": "", "name": out.resolve().name,
                  "periods_json": json.dumps(periods), "models_json": json.dumps(models),
                  "data_lags_json": json.dumps(lags), "forecasts_json": json.dumps(forecasts)}
    execute(NOTEBOOKS / "freshness.ipynb", nb, {**params, "data_path": data, "solver": args.solver,
                                                 "output_dir": "."}, cwd=out, progress=True,
            stderr=sys.stderr)  # each run's line as it starts (a study takes minutes)
    print(f"executed {nb}; freshness.md, freshness.csv, weekly.csv, paired.csv and "
          f"freshness.png in {out}")
    return 0


def _value(text: str):
    """A -p value: a number, None, true/false, or a text."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _replacing(path) -> str:
    """" (replacing the file that was there)" if ``path`` exists, else "": said, not asked."""
    return " (replacing the file that was there)" if path and Path(path).is_file() else ""


def _check_output_file(path, option: str, suffix: str = ".csv") -> None:
    """Refuse an output file that cannot be written, or whose name says another format
    than the ``suffix`` written, before any work (ValueError)."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{option} {out}: is a folder; give a file name "
                         f"(e.g. {out / ('x' + suffix)})")
    if out.suffix.lower() != suffix:
        kind = {".csv": "CSV", ".nc": "NetCDF"}.get(suffix, suffix)
        raise ValueError(f"{option} {out}: this command writes {kind}; give a "
                         f"name ending in {suffix} (e.g. {out.with_suffix(suffix)})")
    parent = next((q for q in [out.parent, *out.parent.parents] if q.exists()), Path("."))
    if not parent.is_dir():
        raise ValueError(f"{option} {out}: {parent} is a file, not a folder")


def cmd_compare(args) -> int:
    import pandas as pd

    import ansen
    from ansen.data.schema import DataError, check_bounds, validate
    from ansen.metrics import compare
    from ansen.models import get_model
    from ansen.tariffs import Tariff

    params = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"-p {item!r}: write model parameters as name=value, e.g. -p "
                             "shadow_eur_per_kwh=0.5")
        params[name.strip()] = _value(value)
    if twice := sorted({m for m in args.models if args.models.count(m) > 1}):
        raise ValueError(f"--models: {twice} given more than once; each model is run once")
    models = list(dict.fromkeys([args.baseline, *args.models]))
    # each model takes the parameters it knows; one no model knows is an error
    per_model = {m: {k: v for k, v in params.items() if k in get_model(m).defaults}
                 for m in models}
    unused = sorted(set(params) - {k for p in per_model.values() for k in p})
    if unused:
        import inspect

        own = {"plan_fleet": "--plan-fleet", "plan_minutes": "--plan-minutes",
               "forecast": "--forecast", "data_lag": "--data-lag", "solver": "--solver",
               "replan_minutes": "--replan-minutes", "tariff": "--tariff",
               "realtime": "--realtime", "transformer_guard": "--transformer-guard",
               "prices_published": "--prices-published"}
        of_simulate = [n for n in unused if n in inspect.signature(ansen.simulate).parameters]
        hint = "".join(
            f"; {n} is an argument of ansen.simulate, not a model parameter: "
            + (f"use {own[n]}" if n in own else "set it in a sweep spec's [[parameters]] "
               "(ansen sweep) or in Python") for n in of_simulate)
        import difflib

        known = sorted({k for m in models for k in get_model(m).defaults})
        for n in unused:
            if n not in of_simulate and (near := difflib.get_close_matches(n, known, n=1,
                                                                           cutoff=0.75)):
                hint += f"; did you mean {near[0]!r} for {n!r}?"
        raise ValueError(f"-p {unused}: no parameter of {', '.join(models)}{hint}; see "
                         "docs/models.md for each model's parameters")
    if args.replan_minutes < 0:
        raise ValueError(f"--replan-minutes must be >= 0, got {args.replan_minutes}")
    from ansen.simulator import check_arguments

    # --tariff FILE, or --no-net-metering: the 2027 rules; else a derived village's own (its
    # recipe), else net metering (replaced below once the village is read)
    if args.tariff is not None and args.net_metering is not None:
        raise ValueError("give --tariff FILE or --no-net-metering, not both (a tariff file "
                         "says net_metering itself)")
    if args.tariff is not None:
        from ansen.tariffs import read_tariff

        tariff = read_tariff(args.tariff)
    else:
        tariff = Tariff() if args.net_metering is not False else Tariff.after_net_metering()
    sim = {"solver": args.solver, "tariff": tariff, "forecast": args.forecast,
           "data_lag": args.data_lag,
           "replan_minutes": None if args.replan_minutes == 0 else args.replan_minutes,
           "plan_fleet": args.plan_fleet, "plan_minutes": args.plan_minutes,
           "realtime": args.realtime, "transformer_guard": args.transformer_guard}
    if args.prices_published is not None:
        sim["prices_published"] = args.prices_published
    for m in models:  # names, types and ranges now, before the data are read
        check_arguments(m, step=None, **sim, **per_model[m])
    check_bounds(args.start, args.end)
    if args.output:  # where the table goes, before the runs
        _check_output_file(args.output, "--output")
    village = _village(args.data)
    try:
        validate(village, start=args.start, end=args.end)  # the period within the data
    except DataError as exc:  # name the village whose data the period is not in
        raise DataError(f"{args.data or 'the shipped village'}: {exc}") from exc
    if "recipe" in village.attrs:  # a derived village states its tariff
        from ansen.scenarios import stated_tariff, tariff_of
        from ansen.tariffs import regime_differences, regime_settings

        stated = stated_tariff(village)
        given = args.net_metering is not None or args.tariff is not None
        # the regime the recipe states (metering, feed-in), not its figures: a tariff file
        # gives the taxes of years the package has none for
        differ = regime_differences(stated, tariff) if given and stated is not None else []
        if differ:
            option = (f"--tariff {args.tariff}" if args.tariff is not None else
                      "--no-net-metering" if args.net_metering is False else "--net-metering")
            fix = (f"set {regime_settings(stated, differ)} in the file"
                   if args.tariff is not None else "leave the option out")
            raise ValueError(
                f"{option} asks for '{tariff.label}', but the village's recipe states "
                f"'{stated.label}'; {fix} to run it under its own")
        if not given:
            tariff = sim["tariff"] = tariff_of(village)
    from ansen.data.schema import _as_utc, local_time

    # a year without taxes: said before any run (the period as simulate reads it)
    times = village.indexes["time"]
    i0 = 0 if args.start is None else int(times.searchsorted(_as_utc(args.start, village)))
    i1 = len(times) if args.end is None else int(times.searchsorted(_as_utc(args.end, village)))
    try:
        tariff.check_years(set(local_time(village)[i0:i1].year))
    except ValueError as exc:  # name the file whose taxes lack the year
        raise ValueError(f"{args.tariff}: {exc}" if args.tariff else str(exc)) from exc
    step = village.indexes["time"][1] - village.indexes["time"][0]
    for m in models:  # and against the data's step, before any run
        check_arguments(m, step=step, **sim, **per_model[m])
    kw = {"start": args.start, "end": args.end, "progress": False, **sim}
    # the baseline without the guard, as ansen sweep has it, so that the guard's effect shows;
    # a baseline also among --models is then run both ways, but "none", whose batteries stay
    # idle, has no guard to leave out: it runs once
    guarded = args.transformer_guard is not None
    own = args.baseline not in args.models or (guarded and args.baseline != "none")
    todo = ([None] if own else []) + list(args.models)
    runs = {}
    for i, m in enumerate(todo, 1):  # None: the baseline
        name = m or args.baseline
        print(f"simulating {name}" + (" (the baseline, without the guard)" if m is None and
                                      guarded else "") + f" ({i}/{len(todo)})",
              file=sys.stderr, flush=True)
        runs[m] = ansen.simulate(village, name, **(kw if m else {**kw, "transformer_guard": None}),
                                 **per_model[name])
    base = runs.pop(None) if None in runs else runs[args.baseline]
    table = pd.concat([compare(runs[m], base, tariff=tariff) for m in args.models])
    # how each plan was made, and for battery classes their certificate (docs/models.md)
    table["plan_method"] = [runs[m].attrs.get("plan_method", "none") for m in args.models]
    for col in ("class_plans_bounded", "class_plans_not_bounded", "class_plan_gap_mean_eur",
                "class_plan_gap_max_eur", "class_plan_gap_share_pct"):
        table[col] = [float(runs[m].attrs.get(col, float("nan"))) for m in args.models]
    # the guard each run had ("none" without one, and for "none", whose batteries stay idle)
    table["transformer_guard"] = [runs[m].attrs.get("transformer_guard", "none")
                                  for m in args.models]
    table["baseline_transformer_guard"] = base.attrs.get("transformer_guard", "none")
    if args.transformer_guard is not None:  # what the guard did (battery steps, kWh)
        for col in ("guard_steps", "guard_kwh"):
            table[col] = [float(runs[m].attrs.get(col, 0.0)) for m in args.models]
    if args.output:
        import json

        from ansen.io import write_table
        from ansen.provenance import code_fingerprint, data_fingerprint

        # what the table came from, in every row: the village, its data, the code, the runs
        source = args.data or "shipped synthetic village"
        provenance = {
            "village": village.attrs.get("name", "?"), "data": str(source),
            "data_sha256": data_fingerprint(args.data), "code_sha256": code_fingerprint(),
            "version": ansen.__version__, "solver": args.solver, "forecast": args.forecast,
            "data_lag": args.data_lag or "real time", "tariff": tariff.label,
            # every term: two tariff files of one label (other taxes) are told apart
            "tariff_terms": json.dumps(tariff.__dict__, sort_keys=True, default=str),
            "replan_minutes": args.replan_minutes, "plan_fleet": args.plan_fleet,
            "plan_minutes": args.plan_minutes or "the data's step",
            "realtime": args.realtime,
            "params": json.dumps(params, sort_keys=True)}
        was = _replacing(args.output)
        written = write_table(table.assign(**provenance), args.output)
        print(f"wrote {written}{was}", file=sys.stderr)
    cols = ["mv_peak_reduction_mean_pct", "mv_peak_reduction_best_week_pct",
            "transformer_variance_reduction_pct", "transformer_export_peak_reduction_pct",
            "transformer_import_peak_reduction_pct", "lv_feed_in_kwh", "transformer_extreme_steps",
            "mv_extreme_steps", "saving_collective_pct", "saving_eur_per_household_month",
            "saving_min_eur_per_household_month", "saving_max_eur_per_household_month",
            "extra_wear_eur_per_household_month", "stored_change_per_household_kwh",
            "baseline_stored_change_per_household_kwh",
            "saving_with_stored_eur_per_household_month", "self_consumption_pct",
            "equivalent_full_cycles", "mv_deferral_years",
            # every transformer against its rating (the reductions above: the transformers
            # with batteries, each against its rating)
            "grid_transformer_import_peak_pu", "baseline_grid_transformer_import_peak_pu",
            "grid_transformer_export_peak_pu", "baseline_grid_transformer_export_peak_pu",
            "grid_transformer_over_rating_h", "baseline_grid_transformer_over_rating_h"]
    if args.transformer_guard is not None:  # what the guard did
        cols += ["guard_steps", "guard_kwh"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(f"all models vs {args.baseline}"
              + (" (without the guard)" if args.transformer_guard is not None else "")
              + f", {table['start'].iloc[0]} to {table['end'].iloc[0]}, "
              f"solver {args.solver}, forecast {args.forecast}, "
              f"data age {args.data_lag or 'real time'}, "
              + (f"re-plans every {args.replan_minutes} min, " if args.replan_minutes
                 else "day-ahead plans only, ")
              + (f"{args.plan_minutes}-min plans, " if args.plan_minutes else "")
              + ("plans on battery classes (--plan-fleet classes), "
                 if args.plan_fleet == "classes" else "")
              + f"tariff: {tariff.label}"
              + (", meters held to their plans (--realtime meter)" if args.realtime == "meter"
                 else "")
              + (f", transformer guard at {args.transformer_guard:g} x rating "
                 "(--transformer-guard)" if args.transformer_guard is not None else "")
              + (f", parameters {params}" if params else ""))
        print(table[cols].T.round(2).to_string())
    if neighbourhood := _neighbourhood_ids(village):
        print(f"per household: the battery sites include {len(neighbourhood)} neighbourhood "
              f"batter{'y' if len(neighbourhood) == 1 else 'ies'} ({', '.join(neighbourhood)}), "
              "each billed on a connection of its own and counted as a household in "
              "saving_*_per_household_month; the village as a whole: compare -o FILE and its "
              "village_energy_cost_eur_per_month (docs/scenarios.md)")
    if table["mv_peak_reduction_mean_pct"].isna().any():
        from ansen.metrics import MIN_WEEK_DAYS

        print(f"NaN in mv_peak_reduction_*: no week (Monday to Sunday) of the period holds "
              f"{MIN_WEEK_DAYS} days or more (docs/models.md, metrics)")
    for m in args.models:
        a = runs[m].attrs
        if "class_plans_bounded" in a:
            print(f"{m}: {a['class_plans_bounded']} plans on battery classes, each at most "
                  f"EUR {a['class_plan_gap_mean_eur']:.2f} on average (the largest "
                  f"{a['class_plan_gap_max_eur']:.2f}) above the per-site optimum of its "
                  f"decision, {a['class_plan_gap_share_pct']:.1f} % of what the batteries are "
                  "worth to these plans"
                  + (f"; {a['class_plans_not_bounded']} plans not bounded (sites out of "
                     "proportion)" if a["class_plans_not_bounded"] else "")
                  + " (docs/models.md)")
    return 0


def _own_output(args, default: str) -> str:
    """``--output``, or its default for the shipped village; another village's results must
    not land in the folder of the shipped village's committed results."""
    if args.output:
        return args.output
    if args.data:
        raise ValueError(f"--data {args.data}: give --output FOLDER for its results; the "
                         f"default, {default}, holds the shipped village's results, which "
                         "another village's would replace")
    return default


def cmd_reproduce(args) -> int:
    import time

    from ansen.reproduce import Interrupted, reproduce

    args.output = _own_output(args, "results")
    start = time.perf_counter()
    try:
        out = reproduce(args.output, experiments=args.experiments, data=args.data,
                        solver=args.solver, sweep=args.sweep,
                        penetration=args.penetration, models=args.models,
                        periods=args.periods, jobs=args.jobs, schedule=args.schedule,
                        force=args.force)
    except Interrupted as exc:
        r = exc.result
        finished = sorted(r["done"])
        print(f"ansen: interrupted; finished: {', '.join(finished) or 'none'}"
              f"{'; failed: ' + ', '.join(sorted(r['failed'])) if r['failed'] else ''}; "
              f"not finished: {', '.join(r['cancelled']) or 'none'}. Run the same command "
              f"again{' without --force' if args.force else ''} to complete only the rest.",
              file=sys.stderr)
        return 130
    minutes = (time.perf_counter() - start) / 60
    what = "sweep run(s)" if (args.sweep or args.penetration) else "experiment(s)"
    print(f"{len(out['done'])} {what} run in {minutes:.1f} min, "
          f"{len(out['skipped'])} already done, {len(out['failed'])} failed; "
          f"results in {args.output}")
    if out["summary"]:
        print(f"summary: {out['summary']} ({len(out['included'])} {what})")
    for exp_id, (nb, msg) in out["failed"].items():
        print(f"ansen: FAILED {exp_id}: {msg} (see {nb})", file=sys.stderr)
    return 1 if out["failed"] else 0


def cmd_scenarios(args) -> int:
    from ansen.scenarios import load_scenarios

    for name, s in load_scenarios(args.scenarios).items():
        print(f"{name}: {s.description}")
    return 0


def _neighbourhood_ids(village) -> list[str]:
    """The neighbourhood batteries of a village (ids, in order): those its recipe added, and
    battery connections named as ansen.scenarios names them (a derived village's export,
    whose recipe is not in the export)."""
    from ansen.scenarios import NEIGHBOURHOOD_PREFIX, recipe_chain

    ids = [i for r in recipe_chain(village)
           for part in r.get("applied", {}).get("neighbourhood", []) for i in part["ids"]]
    named = village["household"].values[village["battery_kwh"].values > 0].astype(str)
    return list(dict.fromkeys([*ids, *(i for i in named
                                       if i.startswith(NEIGHBOURHOOD_PREFIX))]))


def cmd_derive(args) -> int:
    import ansen.data as d
    from ansen.provenance import data_fingerprint
    from ansen.scenarios import derive, load_scenarios, recipe_chain

    known = load_scenarios()  # the shipped ones, and a file's own beside them
    if args.scenarios:
        own = load_scenarios(args.scenarios)
        if clash := sorted(set(own) & set(known)):
            raise ValueError(f"{args.scenarios}: scenario name(s) {clash} are shipped ones "
                             "(data/scenarios.toml); give yours other names")
        known.update(own)
    if unknown := [n for n in args.scenario if n not in known]:
        raise ValueError(f"unknown scenario(s) {unknown}; known: {', '.join(known)}")
    if twice := sorted({n for n in args.scenario if args.scenario.count(n) > 1}):
        raise ValueError(f"scenario(s) {twice} given more than once; a scenario applied twice "
                         "is recorded twice in the recipe: give each once")
    _check_output_file(args.output, "--output", ".nc")
    ds = _village(args.data)
    earlier = [r["scenario"].get("name", "?") for r in recipe_chain(ds)]
    if again := sorted(set(args.scenario) & set(earlier)):
        raise ValueError(f"{args.data}: scenario(s) {again} already in this village's recipe "
                         f"({' -> '.join(earlier)}); a scenario applied twice is recorded twice "
                         "in the recipe: derive from the village before it, or give a scenario "
                         "of another name (--scenarios FILE) for a second step")
    # which data the base is, in the recipe's base (ansen.scenarios.derive moves it there)
    ds.attrs["data_sha256"] = data_fingerprint(args.data)
    for name in args.scenario:
        try:
            ds = derive(ds, known[name])
        except ValueError as exc:  # found against the village: which village, which file
            source = args.scenarios if args.scenarios and name in own else \
                "shipped, data/scenarios.toml"
            said = str(exc).removeprefix(f"scenario {name}: ")
            raise type(exc)(f"{args.data or 'the shipped village'}: scenario {name} "
                            f"({source}): {said}") from exc
    was = _replacing(args.output)
    out = d.save(ds, args.output)
    sites = int((ds["battery_kwh"] > 0).sum())
    print(f"wrote {out}{was}: {ds.attrs['name']} ({ds.sizes['household']} connections, {sites} "
          f"battery site{'' if sites == 1 else 's'}, {float(ds['battery_kwh'].sum()):.6g} kWh, "
          f"{float(ds['battery_kw'].sum()):.6g} kW)")
    chain = recipe_chain(ds)  # a village derived before: its earlier scenarios first
    names = [r["scenario"].get("name", "?") for r in chain]
    print(f"recipe (attrs['recipe']): {' -> '.join([chain[0]['base']['name'], *names])}")
    return 0


def cmd_sweep(args) -> int:
    import time

    from ansen import sweep
    from ansen.reproduce import Interrupted

    spec = Path(args.spec)
    if not spec.exists() and not spec.suffix and (sweep.SPECS / f"{spec}.toml").is_file():
        spec = sweep.SPECS / f"{spec}.toml"  # a shipped spec by name
    grid = sweep.load_spec(spec, villages=args.data, models=args.models, solver=args.solver,
                           schedule=args.schedule)
    narrowed = [flag for flag, value in (("--periods", args.periods), ("--models", args.models),
                                         ("--data", args.data), ("--solver", args.solver),
                                         ("--schedule", args.schedule))
                if value]
    if args.prune and narrowed:
        raise ValueError(f"--prune keeps only the spec's runs in the store; with "
                         f"{', '.join(narrowed)} it would remove rows of the spec's own runs "
                         "that this command leaves out: give one or the other")
    grid = grid.select(periods=args.periods)
    store = Path(args.output or f"{grid.name}.parquet")
    if args.dry_run:
        todo = sweep.pending(grid, store, force=args.force)
        print(f"{grid.name}: {len(grid)} run(s) and {len(sweep.baseline_groups(grid.tasks))} "
              f"pair(s) of baselines (M1, none); {len(grid) - len(todo)} run(s) already in "
              f"{store}; to run:")
        for t in todo:
            print(f"  {t.label()}")
        loaded: dict = {}  # each village read once for both checks
        batteries: dict = {}
        failures = sweep.check_scenarios(grid, loaded, batteries)
        if batteries:
            print("battery sites of each derived village:")
        for where, b in batteries.items():
            print(f"  {where}: {b['battery_sites']} site(s), {b['battery_kwh_total']:g} kWh, "
                  f"{b['battery_kw_total']:g} kW in all")
        for where, msg in failures.items():
            print(f"ansen: scenario {where} does not derive: {msg}", file=sys.stderr)
        uncovered = sweep.check_periods(grid, loaded)
        for where, msg in uncovered.items():
            print(f"ansen: {where} is not in the data: {msg}", file=sys.stderr)
        untaxed = sweep.check_tariffs(grid)
        for where, msg in untaxed.items():
            print(f"ansen: {where}: {msg}", file=sys.stderr)
        failures = {**failures, **uncovered, **untaxed}
        if args.prune and store.is_file():
            rows = sweep.read_store(store)
            outside = rows[~rows["run_id"].isin({t.run_id for t in grid.tasks})]
            print(f"--prune would remove {outside['run_id'].nunique()} run(s) outside "
                  f"{grid.name}:")
            for _, r in outside.drop_duplicates("run_id").iterrows():
                print(f"  {r['model']} {r['period']} {r['scenario']} {r['village']}")
        return 2 if failures else 0
    import os

    where = ("this process" if args.scheduler == "synchronous" else args.scheduler
             or f"a LocalCluster of {args.workers or os.cpu_count()} worker(s)")
    start = time.perf_counter()
    try:
        out = sweep.run(grid, store, scheduler=args.scheduler, workers=args.workers,
                        force=args.force, prune=args.prune)
    except Interrupted as exc:
        r = exc.result
        written = (f"{len(r['done'])} run(s) finished and written to {store}" if r["done"]
                   else "no run finished")
        failed = f", {len(r['failed'])} failed" if r["failed"] else ""
        print(f"ansen: interrupted; {written}{failed}, "
              f"{len(r['cancelled'])} not finished. Run the same command again"
              f"{' without --force' if args.force else ''} to complete only the rest.",
              file=sys.stderr)
        return 130
    minutes = (time.perf_counter() - start) / 60
    total = len(out["done"]) + len(out["skipped"]) + len(out["failed"])
    print(f"{total} run(s) of {grid.name}: {len(out['done'])} done in {minutes:.1f} min on "
          f"{where}, {len(out['skipped'])} already in the store, {len(out['failed'])} failed; "
          + (f"store: {store}" if store.exists() else f"no store written ({store}: no run "
             "finished)"))
    for label, msg in out["failed"].items():
        print(f"ansen: FAILED {label}: {msg}", file=sys.stderr)
    if out["failed"] and store.exists():
        print(f"ansen: the failures are recorded in {store} (ansen.sweep.read_store(path)"
              ".attrs['failed']) until a sweep runs them again", file=sys.stderr)
    return 1 if out["failed"] else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ansen", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=_Help)
    p.add_argument("--version", action="version", version=f"ansen {ansen.__version__}")
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of a failure instead of one line")
    sub = p.add_subparsers(dest="command", required=True, metavar="command",
                           help="one of the commands below")

    data = _parser(sub, "data", "village data: summary, validate, synthesize, scenarios, "
                   "derive")
    data_sub = data.add_subparsers(dest="data_cmd", required=True, metavar="data_command",
                                   help="one of the data commands below")
    s = _parser(data_sub, "summary", "annual figures of a village and the Dutch ranges they "
                "should fall in, with the source of each range")
    s.add_argument("--data", help="village: NetCDF file or export folder (default: the shipped "
                   "synthetic village)")
    s.set_defaults(func=cmd_summary)
    s = _parser(data_sub, "synthesize", "rebuild the synthetic village bit for bit "
                "(needs the synth extra)")
    s.add_argument("--seed", type=int, default=2024, help="random seed of the generator")
    s.add_argument("--spec", help="a village of one's own: a TOML file with a [village] table "
                   "of ansen.data.synthetic.VillageSpec's fields (n_homes, t1_homes, "
                   "transformer_kva, n_battery_homes, start_local, ...; read_village_spec); "
                   "the rest as the shipped village")
    s.add_argument("--output", required=True,
                   help="NetCDF file to write (data/ansen_synthetic.nc rebuilds the shipped "
                        "village, in the repository)")
    s.set_defaults(func=cmd_synthesize)
    s = _parser(data_sub, "validate", "check a NetCDF file or export folder; exit status 2 "
                "and the first broken rule if it is invalid")
    s.add_argument("--data", required=True, help="village: NetCDF file or export folder")
    s.add_argument("--start", help="start of a period the data must cover (local date, or date "
                   "and time such as 2025-04-07T05:00)")
    s.add_argument("--end", help="end of that period (local date or time, exclusive)")
    s.add_argument("--resample", action="store_true",
                   help="export folders: convert tables whose time step differs from load.csv "
                        "(like resample = true in village.toml)")
    s.set_defaults(func=cmd_validate)
    s = _parser(data_sub, "scenarios", "list the named scenarios (data/scenarios.toml)")
    s.add_argument("--scenarios", help="scenario TOML file (default: data/scenarios.toml)")
    s.set_defaults(func=cmd_scenarios)
    s = _parser(data_sub, "derive", "derive a village by named scenarios (applied in the "
                "order given, each recorded in the village's recipe) and write it to NetCDF")
    s.add_argument("scenario", nargs="+", help="scenario name(s), see `ansen data scenarios`")
    s.add_argument("--output", required=True, help="NetCDF file to write")
    s.add_argument("--data", help="base village: NetCDF file or export folder (default: the "
                   "shipped synthetic village)")
    s.add_argument("--scenarios", help="a scenario TOML file of your own, its scenarios "
                   "named beside the shipped ones of data/scenarios.toml (so they chain)")
    s.set_defaults(func=cmd_derive)

    s = _parser(sub, "compare", "run models over a period and compare them with a baseline")
    s.add_argument("--models", nargs="+", choices=MODEL_IDS, metavar="MODEL",
                   default=list(MODEL_IDS),
                   help=f"steering models to run, of {', '.join(MODEL_IDS)} (default: all)")
    s.add_argument("--baseline", default="M1", choices=MODEL_IDS, metavar="MODEL",
                   help="model the others are compared with")
    s.add_argument("--start", help="local date, or date and time such as 2025-04-07T05:00 "
                   "(default: start of the data)")
    s.add_argument("--end", help="local date or time, exclusive (default: end of the data)")
    s.add_argument("--solver", default="highs", choices=SOLVERS, help="LP solver")
    s.add_argument("--forecast", default="persistence", choices=FORECAST_KINDS,
                   help="forecast the planners use")
    s.add_argument("--data-lag", metavar="AGE",
                   help="age of the grid data at a decision, e.g. 1h, 1D, 7D (default: real "
                        "time, the data's step)")
    s.add_argument("--replan-minutes", type=int, default=60, metavar="MIN",
                   help="re-plan every so many minutes; 0: the day-ahead plan only")
    s.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="a model parameter, repeatable, e.g. -p shadow_eur_per_kwh=0.5 "
                        "(given to every model that has it; see docs/models.md)")
    s.add_argument("--plan-fleet", default="sites", choices=["sites", "classes"],
                   help="one LP battery per site (default) or per class of sites: fast for "
                        "large fleets, an approximation with a certificate (docs/models.md)")
    s.add_argument("--plan-minutes", type=int, default=None, metavar="MIN",
                   help="plan in steps of so many minutes, e.g. 60 (default: the data's step)")
    s.add_argument("--realtime", default="setpoint", choices=["setpoint", "meter"],
                   help="apply the plans' set points as they are (default), or hold each "
                        "household's meter to what its plan expected: surplus the forecast "
                        "missed is stored, load it missed is not imported (docs/models.md)")
    s.add_argument("--transformer-guard", type=float, default=None, metavar="SHARE",
                   help="a real-time guard: where the plans would load a transformer beyond "
                        "SHARE x its rating (e.g. 1.0), its batteries move towards the limit "
                        "as far as they can; assumes a live transformer measurement "
                        "(docs/models.md; default: no guard). The baseline runs without it, "
                        "as in ansen sweep")
    s.add_argument("--no-net-metering", dest="net_metering", action="store_false",
                   default=None,
                   help="tariff after 2027: feed-in at the day-ahead price (default: the "
                        "tariff a derived village's recipe states, else net metering)")
    s.add_argument("--prices-published", metavar="'HH:MM ZONE'",
                   help="when the next day's day-ahead prices are known, local time and IANA "
                        "zone, e.g. '13:00 Australia/Sydney' (default: '12:45 "
                        "Europe/Amsterdam', the Dutch market's; ansen.simulate's "
                        "prices_published)")
    s.add_argument("--tariff", metavar="FILE",
                   help="a tariff of one's own: a TOML file with a [tariff] table of "
                        "ansen.tariffs.Tariff's fields (base = \"net_metering\" or \"2027\", "
                        "energy_tax = { 2027 = 0.0916 }, ...; ansen.tariffs.read_tariff), for "
                        "years or countries the shipped Dutch figures do not cover")
    s.add_argument("--data", help="village: NetCDF file or export folder (default: the shipped "
                   "synthetic village)")
    s.add_argument("--output", help="also write the full table as CSV to this file")
    s.set_defaults(func=cmd_compare)

    s = _parser(sub, "reproduce", "run every pilot experiment's notebook, then the summary",
                "Run the experiments of the schedule (or of the season sweep) through "
                "notebooks/experiment.ipynb in parallel, one folder per experiment in --output "
                "with the executed notebook, tables, figures and provenance.json; then the "
                "summary (summary.md/.csv/.png) or, for the sweep, sweep.md/.csv/.png.\n"
                "Experiments whose folder already holds a complete result of the same "
                "definition, data, code and solver are skipped (--force reruns them); so after "
                "Ctrl-C the same command completes only the rest.")
    s.add_argument("--experiments", nargs="+", metavar="ID",
                   help="ids to run (default: every experiment of the schedule or sweep)")
    s.add_argument("--data", help="village file or export folder (default: the shipped "
                   "synthetic village)")
    s.add_argument("--solver", default="highs", choices=SOLVERS, help="LP solver")
    s.add_argument("--output", default=None,
                   help="results folder (default: results); with --data it must be given: "
                        "results holds the shipped village's committed results")
    s.add_argument("--sweep", action="store_true",
                   help="every model in every period of the schedule (the counterfactual), "
                        "with its own table and figure (sweep.md)")
    s.add_argument("--penetration", action="store_true",
                   help="the penetration sweep (data/sweeps/penetration.toml: 10 to 140 "
                        "batteries x models x four seasons, neighbourhood batteries) into "
                        "penetration.parquet, then its tables and figures (penetration.md)")
    s.add_argument("--models", nargs="+", choices=MODEL_IDS, metavar="MODEL",
                   help="with --sweep or --penetration: the models (default: the spec's)")
    s.add_argument("--periods", nargs="+", metavar="PERIOD",
                   help="with --sweep or --penetration: periods, each an experiment id of the "
                        "schedule (its period) or a season: winter, spring, summer, autumn "
                        "(default: all)")
    s.add_argument("--jobs", type=int, help="parallel notebooks (default: the number of cores)")
    s.add_argument("--schedule", help="experiments TOML (default: data/experiments.toml)")
    s.add_argument("--force", action="store_true",
                   help="rerun experiments whose results are already complete and current")
    s.set_defaults(func=cmd_reproduce)

    s = _parser(sub, "sweep", "run a grid of village x scenario x model x period x parameters "
                "on dask.distributed into one Parquet store",
                "Run every point of a sweep spec (TOML; e.g. data/sweeps/season.toml: every "
                "model in every period of the schedule) as tasks on a dask.distributed cluster: "
                "a LocalCluster on this machine (one single-threaded worker per core) or, with "
                "--scheduler, a running cluster. Each run is compared with M1 and with no "
                "battery (computed once per village, scenario and period); the rows, with the "
                "run's provenance, go to one Parquet file. Runs already in it with the same "
                "definition, data and code are skipped (--force reruns them), so after Ctrl-C "
                "the same command completes only the rest. notebooks/sweep.ipynb reads the "
                "store.")
    s.add_argument("spec", help="sweep spec (TOML), or the name of a shipped one in "
                   "data/sweeps: season, penetration, example")
    s.add_argument("--output", help="the store, a Parquet file (default: NAME.parquet in the "
                   "working directory, NAME from the spec)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="scheduler of a running dask cluster, e.g. tcp://host:8786 (its workers "
                        "need this version of ansen); 'synchronous': one run after another in "
                        "this process (default: a LocalCluster on this machine)")
    s.add_argument("--workers", type=int, help="workers of the LocalCluster (default: the number "
                   "of cores)")
    s.add_argument("--models", nargs="+", choices=MODEL_IDS, metavar="MODEL",
                   help="replace the spec's models")
    s.add_argument("--periods", nargs="+", metavar="PERIOD",
                   help="only these periods of the spec: each a period's name in the spec, an "
                        "experiment id of the schedule, a season (winter, spring, summer, "
                        "autumn) or START:END")
    s.add_argument("--data", nargs="+", metavar="PATH",
                   help="replace the spec's villages: village files or export folders, or "
                        "'default'")
    s.add_argument("--solver", choices=SOLVERS, help="replace the spec's LP solver")
    s.add_argument("--schedule", help="experiments TOML for periods = \"schedule\" (default: "
                   "the spec's, or data/experiments.toml)")
    s.add_argument("--force", action="store_true",
                   help="rerun runs whose rows are already in the store")
    s.add_argument("--prune", action="store_true",
                   help="remove the store's rows of runs that are not in the spec (e.g. of a "
                        "parameter set since edited); by default they stay")
    s.add_argument("--dry-run", action="store_true",
                   help="list the runs to do, derive every scenario's village to check it "
                        "fits (exit 2 if one does not) and show its battery sites (what a "
                        "share became), and exit without running")
    s.set_defaults(func=cmd_sweep)

    s = _parser(sub, "freshness", "MV peak reduction against the age of the grid data, same "
                "weeks (notebooks/freshness.ipynb)",
                "Run M5 (and other models) over the same weeks with the grid data at several "
                "ages and with several forecast kinds, next to the perfect-forecast bound; writes "
                "freshness.md/.csv (means with 95 % intervals), weekly.csv (every week), "
                "paired.csv (the ages compared week by week), a figure and provenance.json into "
                "--output. "
                "The schedule's F01_freshness is the study of `ansen reproduce`.")
    s.add_argument("--models", nargs="+", default=None, choices=MODEL_IDS,
                   metavar="MODEL", help=f"steering models (default: {' '.join(FRESHNESS_MODELS)})")
    s.add_argument("--data-lags", nargs="+", default=None, metavar="AGE",
                   help=f"ages of the grid data: any of {', '.join(FRESHNESS_LAGS)} (default: "
                   "all that are not shorter than the data's step)")
    s.add_argument("--forecasts", nargs="+", default=None, choices=FORECAST_KINDS,
                   metavar="KIND",
                   help=f"forecast kinds (default: {' '.join(FRESHNESS_FORECASTS)})")
    s.add_argument("--periods", nargs="+", default=None,
                   metavar="START:END", help="periods, local dates, end exclusive (default: "
                   f"{FRESHNESS_PERIOD})")
    s.add_argument("--experiment", help="instead: a freshness experiment of the schedule "
                   "(e.g. F01_freshness)")
    s.add_argument("--data", help="village file or export folder (default: the shipped "
                   "synthetic village)")
    s.add_argument("--solver", default="highs", choices=SOLVERS, help="LP solver")
    s.add_argument("--output", default="freshness", help="folder for the results")
    s.set_defaults(func=cmd_freshness)

    s = _parser(sub, "doctor", "check the installation (solvers)")
    s.set_defaults(func=cmd_doctor)
    s = _parser(sub, "overview", "execute the data overview notebook (figures and tables of a "
                "village without batteries)")
    s.add_argument("--data", help="village file or export folder (default: the shipped "
                   "synthetic village)")
    s.add_argument("--output", default=None,
                   help="folder for the executed notebook, figures and summary.csv (default: "
                        "results/data_overview; with --data it must be given)")
    s.set_defaults(func=cmd_overview)
    return p


#: Exceptions that mean bad input (data, parameters, files): exit status 2.
def _is_bad_input(exc: BaseException) -> bool:
    return isinstance(exc, (ValueError, FileNotFoundError, NotADirectoryError,
                            IsADirectoryError, PermissionError))


def _message(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip() or name
    if name == "DataError":
        if any(k in text for k in ("time: data start at", "time: data end at",
                                    "time: empty period")):
            return f"period not in the data: {text.replace('time: ', '', 1)}"
        return f"invalid data: {text}"
    if name == "PapermillExecutionError":
        return f"notebook failed: {getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
    return text.splitlines()[0] if len(text.splitlines()) == 1 else " ".join(text.split())


#: Warnings about the data that the checks of a run's window repeat with their own figures
#: (the whole village is checked when it is read): the command line prints the first only.
_SAME_FINDING = ("pv_kw: the village's PV days are centred",)


class _WarningsOnce:
    """A ``warnings.showwarning`` for the command line: one line per warning, without the
    source line; a warning that differs only in the model it names (``simulate M4: ...``
    after ``simulate M0: ...``) is printed once and its other models listed at the end."""

    def __init__(self):
        self.models: dict[str, list[str]] = {}  # warning without its model -> models

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        import re

        text = str(message)
        found = re.match(r"simulate (\S+): ", text)
        key = text[found.end():] if found else text
        # one finding about the data, measured again on a run's window: printed once for
        # each place (another village elsewhere is another finding)
        same = next((p for p in _SAME_FINDING if key.startswith(p)), None)
        if same is not None:
            place = re.search(r"at latitude [^,]+, longitude [^,)]+", key)
            key = same + (place.group(0) if place else "")
        models = self.models.setdefault(key, [])
        if not models:
            print(f"ansen: warning: {text}", file=file or sys.stderr)
        model = found.group(1) if found else ""
        if model not in models:
            models.append(model)

    def summary(self) -> None:
        """Name the other models each printed warning also concerned."""
        for key, models in self.models.items():
            if len(models) > 1:
                print(f"ansen: warning: also for {', '.join(models[1:])}: {key[:80]}"
                      f"{'...' if len(key) > 80 else ''}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command they were given to, not by the top level
        command = getattr(args, "_command_parser", parser)
        command.error(_unrecognized(command, extra))
    shown = warnings.showwarning
    warnings.showwarning = once = _WarningsOnce()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("ansen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`ansen sweep --dry-run | head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"ansen: {_message(exc)}", file=sys.stderr)
        return 2 if _is_bad_input(exc) else 1
    finally:
        warnings.showwarning = shown
        once.summary()


if __name__ == "__main__":
    raise SystemExit(main())

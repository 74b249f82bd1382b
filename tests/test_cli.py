"""The command line as a user meets it."""

import re

import pytest

from ansen.cli import main
from ansen.data import DEFAULT_PATH, save
from ansen.solvers import available_solvers, glpsol_path


def test_data_summary_prints_ranges(capsys):
    assert main(["data", "summary"]) == 0
    out = capsys.readouterr().out
    for figure in ("household use", "PV yield", "transformer export peak", "MV weekly",
                   "price mean", "negative price hours"):
        assert figure in out
    # the end as a period's error names it: the end of the last step, not its start
    import re

    end = re.search(r" to (\S+ \S+ local \([^)]+\)) \(the end of the last step", out).group(1)
    assert main(["compare", "--models", "M0", "--start", "2025-06-01", "--end",
                 "2099-01-01"]) == 2
    assert f"data end at {end}, before" in capsys.readouterr().err


def test_validate_reports_bad_data_without_traceback(village, tmp_path, capsys):
    path = save(village, tmp_path / "ok.nc")
    assert main(["data", "validate", "--data", str(path)]) == 0
    bad = village.copy(deep=True)
    bad["load_kw"] = bad["load_kw"] * 1000
    bad.to_netcdf(tmp_path / "w.nc", engine="h5netcdf")
    assert main(["data", "validate", "--data", str(tmp_path / "w.nc")]) == 2
    assert "W instead of kW" in capsys.readouterr().err


def test_both_solvers_installed():
    found = available_solvers()
    assert {"highs", "glpk"} <= set(found)
    assert glpsol_path().is_file()


def test_glpsol_resolved_without_activated_venv(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("ANSEN_GLPSOL", raising=False)
    assert glpsol_path().is_file()


# --------------------------------------------------------------------------- help


def test_help_is_quick_and_imports_no_solver_stack():
    import subprocess
    import sys

    code = ("import sys; from ansen.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('pyomo', 'scipy', 'xarray', 'pandas', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_model_forecast_and_solver_lists_match_the_library():
    from ansen.cli import FORECAST_KINDS, MODEL_IDS, SOLVERS
    from ansen.forecast import FORECASTS
    from ansen.models import MODELS
    from ansen.models.lp import BACKENDS

    assert MODEL_IDS == tuple(MODELS)
    assert FORECAST_KINDS == tuple(FORECASTS)
    assert SOLVERS == tuple(BACKENDS)


def test_freshness_defaults_match_the_library():
    from ansen import freshness
    from ansen.cli import FRESHNESS_FORECASTS, FRESHNESS_LAGS, FRESHNESS_MODELS

    assert FRESHNESS_LAGS == freshness.DATA_LAGS
    assert FRESHNESS_MODELS == freshness.MODELS
    assert FRESHNESS_FORECASTS == freshness.FORECASTS


def _parsers():
    import argparse

    from ansen.cli import build_parser

    todo = [("ansen", build_parser())]
    while todo:
        name, p = todo.pop()
        yield name, p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                todo += [(f"{name} {k}", v) for k, v in a.choices.items()]


def test_every_option_has_help_and_no_rest_markup(capsys):
    from ansen.cli import MODEL_IDS

    for name, p in _parsers():
        for a in p._actions:
            assert a.help, f"{name}: {a.option_strings or a.dest} has no help text"
        text = p.format_help()
        for markup in ("``", ":func:", ":class:", ":mod:", ".. "):
            assert markup not in text, f"{name}: {markup!r} in help"
    top = dict(_parsers())["ansen"].format_help()
    for word in (*MODEL_IDS, "persistence", "profile", "perfect", "highs", "glpk"):
        assert word in top
    reproduce = dict(_parsers())["ansen reproduce"].format_help()
    assert "(default: results)" in reproduce and "--periods" in reproduce


# --------------------------------------------------------------------------- exit codes


def _copy_export(tmp_path, edit=None):
    import shutil

    from tests.conftest import EXAMPLE_EXPORT

    d = tmp_path / "export"
    shutil.copytree(EXAMPLE_EXPORT, d)
    if edit:
        edit(d)
    return str(d)


def _typo(d):
    (d / "village.toml").write_text((d / "village.toml").read_text().replace("timezone",
                                                                               "time_zone"))


def _unsafe_schedule(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[[experiment]]\nid = "../up"\nmodel = "M2"\nstart = "2025-03-29"\n'
                 'end = "2025-03-30"\n')
    return str(f)


CASES = {
    "validate-good": (lambda t: ["data", "validate", "--data", _copy_export(t)], 0, ""),
    "validate-bad-toml": (lambda t: ["data", "validate", "--data", _copy_export(t, _typo)], 2,
                          "/export: village.toml: unknown key 'time_zone'"),
    "validate-missing": (lambda t: ["data", "validate", "--data", str(t / "nothing")], 2,
                         "ansen: no village at"),
    "reproduce-unknown-id": (lambda t: ["reproduce", "--experiments", "E99", "--output",
                                        str(t / "r")], 2, "ansen: unknown experiment(s) ['E99']"),
    "reproduce-unsafe-id": (lambda t: ["reproduce", "--experiments", "../x", "--output",
                                       str(t / "r")], 2, "unsafe experiment id '../x'"),
    "reproduce-unsafe-schedule": (lambda t: ["reproduce", "--schedule", _unsafe_schedule(t),
                                             "--output", str(t / "r")], 2,
                                  "unsafe experiment id '../up'"),
    "reproduce-missing-schedule": (lambda t: ["reproduce", "--schedule", str(t / "no.toml")], 2,
                                   "ansen: no experiment schedule at"),
    "reproduce-models-without-sweep": (lambda t: ["reproduce", "--models", "M4"], 2,
                                       "add --sweep"),
    "reproduce-unknown-period": (lambda t: ["reproduce", "--sweep", "--periods", "monsoon"], 2,
                                 "ansen: unknown period 'monsoon'"),
    "reproduce-missing-data": (lambda t: ["reproduce", "--data", str(t / "none"), "--output",
                                          str(t / "r")], 2, "ansen: no village at"),
    "reproduce-data-without-output": (
        lambda t: ["reproduce", "--data", str(t / "mine")], 2,
        "/mine: give --output FOLDER for its results; the default, results, holds the "
        "shipped village's results"),
    "overview-data-without-output": (
        lambda t: ["overview", "--data", str(t / "mine")], 2,
        "the default, results/data_overview, holds the shipped village's results"),
    "overview-bad-data": (lambda t: ["overview", "--data", _copy_export(t, _typo), "--output",
                                     str(t / "r")], 2, "village.toml: unknown key 'time_zone'"),
    "freshness-bad-date": (lambda t: ["freshness", "--periods", "2025-13-01:2025-14-01",
                                      "--output", str(t / "r")], 2, "start = '2025-13-01' is not a date"),
    "freshness-reversed": (lambda t: ["freshness", "--periods", "2025-05-05:2025-04-07",
                                      "--output", str(t / "r")], 2, "end 2025-04-07 is not after start"),
    "freshness-outside-data": (lambda t: ["freshness", "--periods", "2030-01-01:2030-01-08",
                                          "--output", str(t / "r")], 2, "period not in the data: data end at"),
    "compare-output-under-a-file": (
        lambda t: (t / "f").write_text("x") and ["compare", "--output", str(t / "f" / "x.csv")], 2,
        "is a file, not a folder"),
    "compare-output-of-another-format": (
        lambda t: ["compare", "--output", str(t / "x.parquet")], 2,
        "x.parquet: this command writes CSV; give a name ending in .csv"),
    "derive-output-of-another-format": (
        lambda t: ["data", "derive", "tariff_2027", "--output", str(t / "x.csv")], 2,
        "x.csv: this command writes NetCDF; give a name ending in .nc"),
    "freshness-of-a-run-experiment": (
        lambda t: ["freshness", "--experiment", "E03_M3_autumn2024", "--output", str(t / "r")], 2,
        "experiment E03_M3_autumn2024 is of kind 'run', not a freshness study"),
    # refused before a kernel starts (outside check 12: the overlap failed inside the notebook,
    # exit 1, after the folder's earlier result had been withdrawn)
    "freshness-overlapping-periods": (
        lambda t: ["freshness", "--periods", "2025-03-03:2025-03-24", "2025-03-17:2025-04-07",
                   "--output", str(t / "r")], 2,
        "freshness periods 2025-03-03 to 2025-03-24 and 2025-03-17 to 2025-04-07 overlap"),
    "freshness-output-is-a-file": (
        lambda t: (t / "f.txt").write_text("x") and ["freshness", "--output", str(t / "f.txt")],
        2, "is a file: give a folder"),
    "freshness-of-the-baseline": (
        lambda t: ["freshness", "--models", "M1", "M5", "--output", str(t / "r")], 2,
        "models ['M1']: the freshness study measures each model against M1"),
    "freshness-experiment-and-periods": (
        lambda t: ["freshness", "--experiment", "F01_freshness", "--periods",
                   "2025-04-07:2025-04-14", "--output", str(t / "r")], 2,
        "--experiment F01_freshness sets the study's periods, models, data ages and forecasts; "
        "drop --periods"),
    "freshness-experiment-and-models": (  # even the default models, given, are refused
        lambda t: ["freshness", "--experiment", "F01_freshness", "--models", "M5", "M4+M5",
                   "--forecasts", "weather", "--output", str(t / "r")], 2,
        "drop --models, --forecasts or drop --experiment"),
    "freshness-perfect-forecast": (
        lambda t: ["freshness", "--forecasts", "persistence", "perfect", "--output",
                   str(t / "r")], 2, "'perfect' always runs, as the bound of every model"),
    "freshness-model-twice": (
        lambda t: ["freshness", "--models", "M5", "M5", "--output", str(t / "r")], 2,
        "freshness models: ['M5'] given more than once"),
    "freshness-periods-share-a-week": (
        lambda t: ["freshness", "--periods", "2025-04-07:2025-04-17", "2025-04-17:2025-04-28",
                   "--output", str(t / "r")], 2,
        "days or more of the week of 2025-04-14"),
    "doctor": (lambda t: ["doctor"], 0, ""),
}


@pytest.mark.parametrize(("argv", "code", "message"), CASES.values(), ids=CASES.keys())
def test_exit_codes_and_one_line_errors(tmp_path, capsys, argv, code, message):
    assert main(argv(tmp_path)) == code
    err = capsys.readouterr().err
    if code:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("ansen: ") and message in err
    assert not (tmp_path.parent / "up").exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["compare", "--models", "M9"], ["reproduce", "--solver", "cplex"],
                                  ["nonsense"], []])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


@pytest.mark.parametrize("argv, usage, hint", [
    (["compare", "--modle", "M4"], "ansen compare: error", "did you mean --models for --modle"),
    (["data", "summary", "--villlage", "x"], "ansen data summary: error", "--villlage"),
    (["sweep", "example", "--schedular=tcp://h:1"], "ansen sweep: error",
     "did you mean --scheduler for --schedular"),
    (["reproduce", "--workers", "2"], "ansen reproduce: error", "did you mean --jobs for --workers")])
def test_a_misspelt_option_is_named_by_its_command(argv, usage, hint, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and usage in err and hint in err, err
    assert "usage: ansen " in err and "command ..." not in err  # the command's own usage


def test_synthesize_writes_only_where_it_is_told(tmp_path, capsys, monkeypatch):
    """Without --output it wrote data/ansen_synthetic.nc under the working directory: run
    from the repository with another seed, over the shipped village."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["data", "synthesize", "--seed", "3"])
    assert exc.value.code == 2
    assert "the following arguments are required: --output" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_validate_says_when_the_pv_timing_is_not_checked(tmp_path, capsys):
    from tests.conftest import tiny

    path = save(tiny(days=2), tmp_path / "v.nc")  # no latitude and longitude
    assert main(["data", "validate", "--data", str(path)]) == 0
    assert "not checked: the PV's timing against the sun" in capsys.readouterr().out
    assert main(["data", "validate", "--data", str(DEFAULT_PATH)]) == 0
    assert "not checked" not in capsys.readouterr().out


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["data", "validate", "--data", str(tmp_path / "nothing"), "--debug"])
    with pytest.raises(FileNotFoundError):
        main(["--debug", "data", "validate", "--data", str(tmp_path / "nothing")])


def test_validate_with_resampling(tmp_path, capsys):
    import pandas as pd

    def hourly_pv(d):
        df = pd.read_csv(d / "pv.csv")
        df.iloc[::4].to_csv(d / "pv.csv", index=False)

    path = _copy_export(tmp_path, hourly_pv)
    assert main(["data", "validate", "--data", path]) == 2
    assert "pv.csv: time step 1 h differs from load.csv's 15 min" in capsys.readouterr().err
    assert main(["data", "validate", "--data", path, "--resample"]) == 0
    assert "converted: pv.csv: 1 h values held over 15 min steps" in capsys.readouterr().out

def test_compare_validates_before_it_simulates(capsys):
    """Bad parameters, dates and periods end in one line before any model runs."""
    cases = [
        (["compare", "-p", "shadow=1"], "no parameter of"),
        (["compare", "--models", "M4", "-p", "shadow_eur_per_kw=0.5"],
         "no parameter of M1, M4; did you mean 'shadow_eur_per_kwh' for 'shadow_eur_per_kw'?"),
        (["compare", "--models", "M4", "-p", "shadow_eur_per_kwh=-1"],
         "M4: shadow_eur_per_kwh must be a number"),
        (["compare", "-p", "nonsense"], "write model parameters as name=value"),
        (["compare", "--start", "2025-13-01"], "is not a date"),
        (["compare", "--start", "5/4/2025", "--end", "7/4/2025"],  # read as 4 May-4 July
         "--start '5/4/2025' is not an ISO date"),
        (["compare", "--start", "2030-01-01", "--end", "2030-01-08"],
         "period not in the data: the shipped village: data end at"),
        (["compare", "--data-lag", "7"], "data_lag '7' has no unit"),
        (["compare", "-p", "plan_fleet=classes"],
         "plan_fleet is an argument of ansen.simulate, not a model parameter: use "
         "--plan-fleet"),
        (["compare", "--data-lag", "soon"], "data_lag must be a duration"),
        (["compare", "--data-lag", "5min"], "shorter than the data's step (15min)"),
        (["compare", "--replan-minutes", "7"],  # checked before the village is read
         "replan_minutes must be a multiple of 5 min (the finest step a village may have"),
        (["compare", "--plan-minutes", "7"], "multiple of 5 min (the finest step a village"),
        (["compare", "--plan-minutes", "10"], "multiple of the data's step (15 min)"),
        (["compare", "--start", "2025-06-05", "--end", "2025-06-03"],
         "--end 2025-06-03 is not after --start 2025-06-05"),
        (["compare", "--models", "M4", "M0", "M4"],  # it ran M4 twice
         "--models: ['M4'] given more than once; each model is run once"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "simulating" not in err, (argv, err)


def test_compare_runs_variants_with_parameters(tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["compare", "--models", "M4", "--start", "2025-06-02", "--end", "2025-06-03",
                 "--data-lag", "1D", "-p", "shadow_eur_per_kwh=0.5", "--output", str(out)]) == 0
    text = capsys.readouterr()
    assert "simulating M1 (1/2)" in text.err and "simulating M4 (2/2)" in text.err
    assert "data age 1D" in text.out and "'shadow_eur_per_kwh': 0.5" in text.out
    table = __import__("pandas").read_csv(out, index_col="run")
    # every transformer against its rating, printed also without a guard
    printed = {line.split()[0]: float(line.split()[1]) for line in text.out.splitlines()
               if line.startswith(("grid_transformer_", "baseline_grid_transformer_"))}
    assert printed["grid_transformer_import_peak_pu"] == pytest.approx(
        table["grid_transformer_import_peak_pu"].iloc[0], abs=0.005)
    assert set(printed) == {f"{b}grid_transformer_{m}" for b in ("", "baseline_")
                            for m in ("import_peak_pu", "export_peak_pu", "over_rating_h")}
    assert list(table.index) == ["M4 (1D, shadow_eur_per_kwh=0.5)"]
    # every row carries what it came from
    row = table.iloc[0]
    assert row["data"] == "shipped synthetic village" and len(row["data_sha256"]) == 64
    assert len(row["code_sha256"]) == 64 and row["tariff"] and row["data_lag"] == "1D"
    assert row["plan_fleet"] == "sites" and row["plan_method"] == "lp"


def test_compare_runs_a_transformer_guard(tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["compare", "--models", "M0", "--start", "2025-06-02", "--end", "2025-06-03",
                 "--transformer-guard", "0.2", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "transformer guard at 0.2 x rating (--transformer-guard)" in text
    assert "guard_kwh" in text
    assert "grid_transformer_over_rating_h" in text  # whether the rating held, on screen
    row = __import__("pandas").read_csv(out, index_col="run").iloc[0]
    assert row.name == "M0 (guard 0.2 x rating)" and row["transformer_guard"] == 0.2
    assert row["guard_steps"] > 0 and row["guard_kwh"] > 0
    assert row["baseline_transformer_guard"] == "none"  # the baseline as ansen sweep has it


def test_compare_with_a_guard_runs_its_baseline_without_it(tmp_path, capsys):
    """The guard held the baseline M1 too, so the table understated what the guard did
    against the pilot's baseline; the sweep's baselines never had it."""
    import pandas as pd

    out = tmp_path / "c.csv"
    args = ["compare", "--models", "M1", "M0", "--start", "2025-06-02", "--end", "2025-06-03",
            "--output", str(out)]
    assert main([*args, "--transformer-guard", "0.2"]) == 0
    assert "all models vs M1 (without the guard)" in capsys.readouterr().out
    guarded = pd.read_csv(out, index_col="run")
    assert main(args) == 0
    plain = pd.read_csv(out, index_col="run")
    # the same baseline either way; M1 itself, among the models, is guarded
    cols = [c for c in plain.columns if c.startswith("baseline_") and "guard" not in c]
    pd.testing.assert_frame_equal(guarded[cols].reset_index(drop=True),
                                  plain[cols].reset_index(drop=True))
    assert (guarded["baseline_transformer_guard"] == "none").all()
    m1 = guarded.loc["M1 (guard 0.2 x rating)"]
    assert m1["transformer_guard"] == 0.2 and m1["guard_steps"] > 0
    # against the unguarded baseline the guarded M1 shows what its guard did (against
    # itself, as before, every change was 0)
    assert plain.loc["M1", "transformer_variance_reduction_pct"] == 0.0
    assert m1["transformer_variance_reduction_pct"] != 0.0


def test_compare_with_a_guard_runs_none_once_when_it_is_baseline_and_model(capsys):
    """"none" was simulated twice, as baseline and as model, though its idle batteries have
    no guard to leave out."""
    assert main(["compare", "--models", "none", "M0", "--baseline", "none", "--start",
                 "2025-06-02", "--end", "2025-06-03", "--transformer-guard", "0.2"]) == 0
    err = capsys.readouterr().err
    assert "simulating none (1/2)" in err and "(3/" not in err
    assert main(["compare", "--transformer-guard", "-1"]) == 2
    assert "transformer_guard must be" in capsys.readouterr().err


def test_compare_plans_battery_classes_with_their_certificate(tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["compare", "--models", "M5", "--start", "2025-06-02", "--end", "2025-06-03",
                 "--plan-fleet", "classes", "--output", str(out)]) == 0
    assert "M5: 2 plans on battery classes, each at most EUR" in capsys.readouterr().out
    row = __import__("pandas").read_csv(out, index_col="run").iloc[0]
    assert row["plan_method"] == "lp on classes" and row["plan_fleet"] == "classes"
    assert row["class_plans_bounded"] == 2 and 0 <= row["class_plan_gap_mean_eur"]
    assert 0 <= row["class_plan_gap_share_pct"] < 100


# --------------------------------------------------------------------------- scenarios


def test_data_scenarios_lists_the_named_scenarios(capsys):
    assert main(["data", "scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("penetration_000", "penetration_140", "neighbourhood_T1", "tariff_2027"):
        assert f"{name}: " in out


def test_data_derive_names_the_village_and_the_file_of_a_scenario_that_does_not_fit(
        village, tmp_path, capsys):
    """An error found against the village named neither (outside check 8)."""
    base = save(village, tmp_path / "tiny.nc")
    own = tmp_path / "mine.toml"
    own.write_text("[[scenario]]\nname = 'on_t9'\n[scenario.batteries]\ncount = 1\n"
                   "transformers = ['T9']\n")
    assert main(["data", "derive", "on_t9", "--data", str(base), "--scenarios", str(own),
                 "--output", str(tmp_path / "x.nc")]) == 2
    assert capsys.readouterr().err.startswith(
        f"ansen: {base}: scenario on_t9 ({own}): BatterySites.transformers: unknown "
        "transformer(s) ['T9']")
    assert main(["data", "derive", "penetration_140", "--data", str(base), "--output",
                 str(tmp_path / "x.nc")]) == 2
    assert capsys.readouterr().err.startswith(
        f"ansen: {base}: scenario penetration_140 (shipped, data/scenarios.toml): "
        "BatterySites.count: 140 battery sites asked")
    assert not (tmp_path / "x.nc").exists()


def test_data_derive_writes_a_village_with_its_recipe_chain(village, tmp_path, capsys):
    from ansen.data import load
    from ansen.scenarios import recipe_chain, tariff_of

    base = save(village, tmp_path / "tiny.nc")
    out = tmp_path / "derived.nc"
    assert main(["data", "derive", "neighbourhood_per_transformer", "tariff_2027",
                 "--data", str(base), "--output", str(out)]) == 0
    assert "tiny -> neighbourhood_per_transformer -> tariff_2027" in capsys.readouterr().out
    again = tmp_path / "again.nc"  # derived from a derived village: the whole chain is said
    assert main(["data", "derive", "tariff_2027_legal_minimum", "--data", str(out),
                 "--output", str(again)]) == 0
    assert ("recipe (attrs['recipe']): tiny -> neighbourhood_per_transformer -> tariff_2027 -> "
            "tariff_2027_legal_minimum\n") in capsys.readouterr().out
    # a scenario already in the chain is refused across calls as within one
    twice = tmp_path / "twice.nc"
    assert main(["data", "derive", "tariff_2027", "--data", str(out), "--output",
                 str(twice)]) == 2
    assert (f"ansen: {out}: scenario(s) ['tariff_2027'] already in this village's recipe "
            "(neighbourhood_per_transformer -> tariff_2027)") in capsys.readouterr().err
    assert not twice.exists()
    ds = load(out)
    assert [r["scenario"]["name"] for r in recipe_chain(ds)] == [
        "neighbourhood_per_transformer", "tariff_2027"]
    # which data the base was: the file's SHA-256, as sweeps and experiments record it (the
    # recipe named the base by name and source only); the derived village does not carry it
    from ansen.provenance import data_fingerprint

    assert recipe_chain(ds)[0]["base"]["data_sha256"] == data_fingerprint(base)
    assert "data_sha256" not in recipe_chain(ds)[1]["base"] and "data_sha256" not in ds.attrs
    assert list(ds["household"].values[ds["battery_kwh"].values > 0]) == [
        "BUURTBATTERIJ_T1", "BUURTBATTERIJ_T2"]
    assert not tariff_of(ds).net_metering
    # compare runs and bills a derived village under its recipe's tariff
    assert main(["compare", "--models", "M0", "--data", str(out)]) == 0
    said = capsys.readouterr().out
    assert "tariff: no net metering" in said
    # the per-household figures count the neighbourhood batteries as households: said
    assert ("per household: the battery sites include 2 neighbourhood batteries "
            "(BUURTBATTERIJ_T1, BUURTBATTERIJ_T2)") in said
    # an option that contradicts the village's own tariff is refused, not obeyed in silence
    lm = tmp_path / "lm.nc"
    assert main(["data", "derive", "tariff_2027_legal_minimum", "--data", str(base),
                 "--output", str(lm)]) == 0
    capsys.readouterr()
    assert main(["compare", "--models", "M0", "--data", str(lm), "--no-net-metering"]) == 2
    assert ("--no-net-metering asks for 'no net metering', but the village's recipe states 'no "
            "net metering, feed-in 50% of the day-ahead price'") in capsys.readouterr().err


def test_data_derive_chains_a_scenario_file_of_ones_own_with_the_shipped(village, tmp_path,
                                                                          capsys):
    from ansen.data import load
    from ansen.scenarios import recipe_chain

    base = save(village, tmp_path / "tiny.nc")
    mine = tmp_path / "mine.toml"
    mine.write_text('[[scenario]]\nname = "one_more"\n[scenario.batteries]\ncount = 1\n'
                    'rule = "net_exporters"\neligible = "all"\nexisting = "keep"\n'
                    'capacity_kwh = 10.0\n')
    out = tmp_path / "d.nc"
    assert main(["data", "derive", "penetration_000", "one_more", "tariff_2027", "--scenarios",
                 str(mine), "--data", str(base), "--output", str(out)]) == 0
    assert [r["scenario"]["name"] for r in recipe_chain(load(out))] == [
        "penetration_000", "one_more", "tariff_2027"]
    mine.write_text('[[scenario]]\nname = "pilot"\n')
    capsys.readouterr()
    assert main(["data", "derive", "pilot", "--scenarios", str(mine), "--data", str(base),
                 "--output", str(out)]) == 2
    assert "scenario name(s) ['pilot'] are shipped ones" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["nope"], "ansen: unknown scenario(s) ['nope']; known: pilot"),
    (["penetration_020"], "ansen: {base}: scenario penetration_020 (shipped, "
                          "data/scenarios.toml): BatterySites.count: 20 battery sites asked but "
                          "only 3 connections are eligible"),
    (["neighbourhood_T1", "neighbourhood_T1"], "ansen: scenario(s) ['neighbourhood_T1'] "
                                               "given more than once"),
    (["tariff_2027", "pilot", "tariff_2027"], "ansen: scenario(s) ['tariff_2027'] given more "
                                              "than once; a scenario applied twice is recorded "
                                              "twice in the recipe"),
])
def test_data_derive_refuses_bad_requests_in_one_line(village, tmp_path, capsys, args, message):
    base = save(village, tmp_path / "tiny.nc")
    out = tmp_path / "derived.nc"
    assert main(["data", "derive", *args, "--data", str(base), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(base=base)) and err.count("\n") == 1
    assert not out.exists()


def test_data_derive_says_it_replaces_a_file(village, tmp_path, capsys):
    base = save(village, tmp_path / "tiny.nc")
    out = tmp_path / "derived.nc"
    for said in ("", " (replacing the file that was there)"):
        assert main(["data", "derive", "tariff_2027", "--data", str(base), "--output",
                     str(out)]) == 0
        assert capsys.readouterr().out.startswith(f"wrote {out}{said}: ")


def test_warnings_are_one_line_and_not_repeated_per_model(village, tmp_path, capsys):
    """The command line prints a warning as one line without the source line that raised it,
    and a warning that differs only in the model's name once, naming the other models at the
    end (it was printed once per model, with its source line)."""
    import warnings

    path = save(village, tmp_path / "v.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["compare", "--data", str(path), "--models", "M0", "M4", "--start",
                     "2025-06-03", "--end", "2025-06-04"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "less than a year of data" in ln]
    assert len(lines) == 2 and lines[0].startswith("ansen: warning: simulate M0: "), err
    assert lines[1].startswith("ansen: warning: also for M4: the village has less than"), err
    assert "ansen.simulate(" not in err and "UserWarning" not in err


def test_validate_checks_the_period_it_is_given(capsys):
    assert main(["data", "validate", "--data", str(DEFAULT_PATH), "--start", "2025-04-20",
                 "--end", "2025-04-05"]) == 2
    assert "--end 2025-04-05 is not after --start 2025-04-20" in capsys.readouterr().err
    assert main(["data", "validate", "--data", str(DEFAULT_PATH), "--start",
                 "5/4/2025"]) == 2
    assert "--start '5/4/2025' is not an ISO date" in capsys.readouterr().err


def test_a_data_warning_repeated_on_a_run_window_is_printed_once(capsys):
    from ansen.cli import _WarningsOnce

    once = _WarningsOnce()
    for days, hours, lat in ((518, "1.0", 52.8), (5, "0.9", 52.8), (30, "1.0", 51.4)):
        once(f"pv_kw: the village's PV days are centred {hours} h after solar noon (median of "
             f"{days} days, at latitude {lat}, longitude 6.38), where ...", UserWarning, "x.py", 1)
    once("pv_kw: household H001 generates up to 9 kW", UserWarning, "x.py", 1)
    once("pv_kw: household H002 generates up to 9 kW", UserWarning, "x.py", 1)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4 and "518 days" in lines[0] and "latitude 51.4" in lines[1]


def test_freshness_leaves_out_default_ages_the_data_cannot_have(tmp_path, capsys, monkeypatch):
    """On hourly data the default ages began with 15 minutes and the study refused itself;
    now the defaults shorter than the step are left out, said, and given ages still refused."""
    import json

    import ansen.notebooks
    from tests.conftest import tiny

    hourly = save(tiny(days=9, start="2025-06-02", minutes=60), tmp_path / "hourly.nc")
    ran = {}
    monkeypatch.setattr(ansen.notebooks, "execute",
                        lambda nb, out, params, **kw: ran.update(params, kw=kw))
    assert main(["freshness", "--data", str(hourly), "--periods", "2025-06-09:2025-06-11",
                 "--output", str(tmp_path / "f")]) == 0
    assert "data ages ['15min'] left out: shorter than the data's step (1h)" in \
        capsys.readouterr().err
    # the notebook's stderr (a line per run, the runs' warnings) reaches the terminal as it comes
    assert ran.pop("kw")["stderr"] is __import__("sys").stderr
    assert json.loads(ran["data_lags_json"]) == ["1h", "1D", "2D", "7D"]
    assert main(["freshness", "--data", str(hourly), "--data-lags", "15min", "1D",
                 "--output", str(tmp_path / "g")]) == 2
    assert "data ages ['15min'] are shorter than the data's step (1h)" in capsys.readouterr().err


def test_compare_bills_a_year_of_its_own_with_a_tariff_file(tmp_path, capsys):
    """Data of 2027 ended compare with 'no energy tax for year(s) [2027]' and the command line
    had no way to give one."""
    from tests.conftest import tiny

    path = save(tiny(days=3, start="2027-06-07"), tmp_path / "v.nc")
    argv = ["compare", "--data", str(path), "--models", "M0", "--start", "2027-06-08",
            "--end", "2027-06-09"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no energy tax for year(s) [2027]" in err
    assert "simulating" not in err  # said before the baseline's run, not after it
    tariff = tmp_path / "t.toml"
    tariff.write_text('[tariff]\nbase = "2027"\nfeed_in_share = 0.5\nenergy_tax = { 2027 = '
                      '0.0916 }\ntax_reduction_eur_per_year = { 2027 = 524.95 }\n')
    out = tmp_path / "c.csv"
    assert main([*argv, "--tariff", str(tariff), "--output", str(out)]) == 0
    assert "no net metering, feed-in 50% of the day-ahead price" in capsys.readouterr().out
    assert __import__("pandas").read_csv(out)["tariff"].iloc[0] == (
        "no net metering, feed-in 50% of the day-ahead price")
    assert main([*argv, "--tariff", str(tariff), "--prices-published", "13:00 Sydney"]) == 2
    assert "prices_published '13:00 Sydney': 'Sydney' is not an IANA time zone" in \
        capsys.readouterr().err
    assert main([*argv, "--tariff", str(tariff), "--no-net-metering"]) == 2
    assert "--tariff FILE or --no-net-metering, not both" in capsys.readouterr().err
    tariff.write_text('[tariff]\nenergy_taxes = { 2027 = 0.09 }\n')
    assert main([*argv, "--tariff", str(tariff)]) == 2
    assert f"{tariff}: unknown key(s) ['energy_taxes']" in capsys.readouterr().err
    # a village derived under the 2027 rules takes a file of the same regime with the taxes
    # the package has none for (the recipe states a regime, not the figures), and refuses
    # another regime; the table keeps every term of the tariff
    from ansen.scenarios import Scenario, derive

    derived = save(derive(tiny(days=3, start="2027-06-07"), Scenario("b", tariff_regime="2027")),
                   tmp_path / "d.nc")
    tariff.write_text('[tariff]\nbase = "2027"\nenergy_tax = { 2027 = 0.0916 }\n'
                      'tax_reduction_eur_per_year = { 2027 = 524.95 }\n')
    argv[2] = str(derived)
    assert main([*argv, "--tariff", str(tariff), "--output", str(out)]) == 0, \
        capsys.readouterr().err
    terms = __import__("json").loads(__import__("pandas").read_csv(out)["tariff_terms"].iloc[0])
    assert terms["energy_tax"] == {"2027": 0.0916} and terms["net_metering"] is False
    tariff.write_text('[tariff]\nenergy_tax = { 2027 = 0.0916 }\n'
                      'tax_reduction_eur_per_year = { 2027 = 524.95 }\n')
    assert main([*argv, "--tariff", str(tariff)]) == 2
    err = capsys.readouterr().err
    assert "asks for 'net metering', but the village's recipe states 'no net metering'; set " \
        "net_metering = false, feed_in_vat = false in the file" in err


SMALL = ('[village]\nname = "Kleindorp (synthetic)"\nn_homes = 19\nt1_homes = 12\n'
         'n_battery_homes = 2\nbattery_homes_on_t1 = 1\ntransformer_kva = [100.0, 63.0]\n'
         'start_local = "2025-06-01"\nend_local = "2025-06-04"\n')


def test_synthesize_builds_a_village_of_ones_own_from_a_spec_file(tmp_path, capsys):
    """Another size or place needed VillageSpec in Python (outside check 10)."""
    import ansen.data

    (tmp_path / "small.toml").write_text(SMALL)
    out = tmp_path / "small.nc"
    assert main(["data", "synthesize", "--spec", str(tmp_path / "small.toml"), "--output",
                 str(out)]) == 0
    assert "spec " in capsys.readouterr().out
    v = ansen.data.load(out)
    assert v.sizes["household"] == 20 and v.attrs["name"] == "Kleindorp (synthetic)"
    assert v["transformer_kva"].values.tolist() == [100.0, 63.0]
    assert int((v["battery_kwh"].values > 0).sum()) == 3  # two homes and the village hall
    assert str(v.indexes["time"][0]) == "2025-05-31 22:00:00"  # UTC: local midnight


@pytest.mark.parametrize(("text", "message"), [
    (SMALL.replace("n_homes = 19", "n_home = 19"), r"\[village\]: unknown field\(s\) "
                                                   r"\['n_home'\]; known: name, latitude"),
    (SMALL.replace("n_homes = 19", "n_homes = 0"), r"VillageSpec.n_homes = 0: the village "
                                                   "needs at least one home"),
    (SMALL.replace("[100.0, 63.0]", "[100.0, 63.0, 40.0]"),
     r"VillageSpec.transformer_kva = \(100.0, 63.0, 40.0\): the generator builds two "
     "transformers"),
    ("[villages]\nn_homes = 3\n", r"a village spec holds one \[village\] table"),
])
def test_a_bad_village_spec_file_is_refused_naming_the_file_and_field(tmp_path, capsys, text,
                                                                      message):
    (tmp_path / "bad.toml").write_text(text)
    assert main(["data", "synthesize", "--spec", str(tmp_path / "bad.toml"), "--output",
                 str(tmp_path / "v.nc")]) == 2
    err = capsys.readouterr().err
    assert re.search(re.escape(str(tmp_path / "bad.toml")) + ": .*" + message, err), err
    assert not (tmp_path / "v.nc").exists()


def test_a_village_spec_beyond_the_price_model_s_months_says_how_to_extend_it(tmp_path,
                                                                            capsys):
    """A village to January 2026 failed with 'PriceSpec.monthly_eur_per_mwh has no level',
    naming neither the file nor the field; day-first dates were read month-first in silence
    (outside check 11)."""
    import ansen.data

    text = SMALL.replace('"2025-06-01"', '"2025-12-30"').replace('"2025-06-04"', '"2026-01-02"')
    (tmp_path / "s.toml").write_text(text)
    args = ["data", "synthesize", "--spec", str(tmp_path / "s.toml"), "--output",
            str(tmp_path / "v.nc")]
    assert main(args) == 2
    assert "VillageSpec.end_local = '2026-01-02': the price model has monthly price levels " \
           "for 2024-07 to 2025-11 only (PriceSpec.monthly_eur_per_mwh), not for 2025-12, " \
           "2026-01; give them" in capsys.readouterr().err
    (tmp_path / "s.toml").write_text(text + '[village.prices]\nmonthly_eur_per_mwh = '
                                            '{ "2025-12" = 100.0, "2026-01" = 110.0 }\n')
    assert main(args) == 0
    assert "3 battery site(s), the village hall's included" in capsys.readouterr().out
    v = ansen.data.load(tmp_path / "v.nc")
    assert str(v.indexes["time"][-1]) == "2026-01-01 22:45:00"
    (tmp_path / "s.toml").write_text(SMALL.replace('"2025-06-01"', '"01/06/2025"'))
    assert main(args) == 2
    assert "start_local = '01/06/2025': not a local date written YYYY-MM-DD" in \
        capsys.readouterr().err


def test_freshness_experiment_on_other_data_names_the_experiments_period(tmp_path, capsys):
    """The schedule's study on data without its weeks: the error said 'requested start
    2024-10-28' without saying the date was F01's (outside check 13)."""
    from tests.conftest import tiny

    path = save(tiny(days=3), tmp_path / "v.nc")
    assert main(["freshness", "--experiment", "F01_freshness", "--data", str(path),
                 "--output", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "F01_freshness's period 2024-10-28 to 2024-11-25 on " in err, err
    assert not (tmp_path / "r").exists()

"""benchmarks/bench.py on a village it does not ship: the period's and sites' checks, a case."""

import importlib.util
from pathlib import Path

import pytest
from conftest import tiny

from ansen.data import save

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.nc"
    save(tiny(days=3), path)
    return path


def test_runs_a_village_of_its_own_and_names_it(bench, small, capsys):
    assert bench.main(["--data", str(small), "--models", "M1", "M0", "--start", "2025-06-03",
                       "--end", "2025-06-05"]) == 0
    out = capsys.readouterr().out
    assert f"period: given (2025-06-03 to 2025-06-05), {small}, 2 battery sites" in out
    assert "M0 " in out and "ERROR" not in out
    assert "at 2 sites: 60 with highs)" in out  # the 10-site target's verdict


def test_shipped_dates_outside_the_data_are_refused_with_a_way_out(bench, small, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--data", str(small), "--models", "M1"])
    err = capsys.readouterr().err
    assert "data start at" in err and "give --start and --end" in err


@pytest.mark.parametrize("args, message", [
    (["--start", "2025-06-02"], "--start and --end go together"),
    (["--sites", "4", "--start", "2025-06-03", "--end", "2025-06-04"], "has 3 connections"),
    (["--sites", "1", "--start", "2025-06-03", "--end", "2025-06-04"],
     "has 2 battery sites of its own"),
    (["--sites", "-5"], "give a number of battery sites >= 0"),
    (["--models", "M9"], "unknown model(s) ['M9']"),
    (["--solvers", "cplex"], "unknown solver(s) ['cplex']"),
    (["--start", "2025-06-04", "--end", "2025-06-03"], "is not after --start"),
    (["--start", "3/6/2025", "--end", "4/6/2025"], "is not an ISO date"),
])
def test_bad_arguments_are_named(bench, small, capsys, args, message):
    with pytest.raises(SystemExit):
        bench.main(["--data", str(small), "--models", "M1", *args])
    assert message in capsys.readouterr().err


def test_targets(bench):
    assert bench.target(10, "highs") == 60 and bench.target(10, "glpk") == 400
    assert bench.target(140, "highs") == 200 and bench.target(40, "highs") == 200
    assert bench.target(141, "highs") is None


def test_a_village_without_batteries_needs_sites(bench, tmp_path, capsys):
    path = tmp_path / "none.nc"
    save(tiny(days=3).assign(battery_kwh=("household", [0.0, 0.0, 0.0]),
                             battery_kw=("household", [0.0, 0.0, 0.0])), path)
    with pytest.raises(SystemExit):
        bench.main(["--data", str(path), "--start", "2025-06-03", "--end", "2025-06-05"])
    assert "has no battery sites: give --sites N" in capsys.readouterr().err


def test_no_target_is_judged_on_hourly_data(bench, tmp_path, capsys):
    """The targets were set for 15-minute data (an hourly run has a quarter of the steps)."""
    path = tmp_path / "hourly.nc"
    save(tiny(days=3, minutes=60), path)
    assert bench.main(["--data", str(path), "--models", "M0", "--start", "2025-06-03",
                       "--end", "2025-06-05"]) == 0
    out = capsys.readouterr().out
    assert "2 battery sites, 60-minute data" in out
    assert "no target judged: the issues set none for 2 battery sites on 60-minute data" in out


def test_a_plan_without_an_lp_solver_is_judged_once(bench, small, capsys):
    """M0 by the dynamic programme uses no LP solver: with two solvers it got opposite
    verdicts (by the HiGHS and the GLPK limit) for the same controller."""
    assert bench.main(["--data", str(small), "--models", "M0", "--solvers", "highs", "glpk",
                       "--start", "2025-06-03", "--end", "2025-06-05"]) == 0
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.count("M0 (dp)") == 1 and "(glpk)" not in verdict


def test_every_replan_setting_runs_after_a_dynamic_programme_row(bench, small, capsys):
    """The row's solver name ("none (dp)") overwrote the loop's solver, so the next case of
    `--replan 60 none` asked for solver 'none (dp)' and failed."""
    assert bench.main(["--data", str(small), "--models", "M0", "--replan", "60", "none",
                       "--start", "2025-06-03", "--end", "2025-06-05"]) == 0
    assert "ERROR" not in capsys.readouterr().out

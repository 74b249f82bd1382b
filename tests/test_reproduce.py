"""The reproduction: committed results are rebuilt exactly; failures are reported, not fatal."""

from pathlib import Path

import pandas as pd
import pytest

import ansen.data
from ansen.experiments import get_experiment, load_schedule, run_experiment, write_experiment
from ansen.reproduce import reproduce
from tests.conftest import EXAMPLE_EXPORT, cli_command

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.mark.slow
@pytest.mark.parametrize("exp_id", ["E01_M1_summer2024", "E08_M5_fresh_spring2025"])
def test_rerun_gives_the_committed_tables(tmp_path, exp_id):
    result = run_experiment(ansen.data.load_default(), get_experiment(exp_id), progress=False)
    write_experiment(result, tmp_path)
    for name in ("metrics.csv", "household_costs.csv", "settlement.csv"):
        assert (tmp_path / name).read_bytes() == (RESULTS / exp_id / name).read_bytes(), name
    png = {p.stem for p in tmp_path.glob("*.png")}
    assert png == {p.stem for p in tmp_path.glob("*.svg")}, "an SVG beside every PNG"
    assert {"household_savings", "transformer_profile", "extreme_peaks", "duration_curves",
            "weekly_mv_peak_reduction", "peak_week", "soc_heatmap"} <= png


def test_household_savings_are_against_m1_by_hand():
    import matplotlib

    matplotlib.use("Agg")
    from ansen.plots import household_savings

    costs = pd.DataFrame({"run": ["M4", "M1", "none"] * 2, "household": ["A"] * 3 + ["B"] * 3,
                          "month": "2025-06", "cost_eur": [10.0, 14.0, 20.0, 5.0, 4.0, 9.0],
                          "run_months": 1.0})
    ax = household_savings(costs)
    heights = sorted(round(b.get_height(), 9) for b in ax.patches if b.get_width() > 0)
    # M4 vs M1: A 4, B -1; M1 vs none: A 6, B 5
    assert heights == [-1.0, 4.0, 5.0, 6.0]
    assert "M4 vs M1" in [t.get_text() for t in ax.get_legend().get_texts()]
    # a run over the ends of two months: per month of the run, not the mean of the months
    # (which halved it); a quarter month in May and a quarter in June make half a month
    two = pd.concat([costs.assign(month="2025-05", run_months=0.25),
                     costs.assign(month="2025-06", run_months=0.25)])
    ax = household_savings(two)
    heights = sorted(round(b.get_height(), 9) for b in ax.patches if b.get_width() > 0)
    assert heights == [-4.0, 16.0, 20.0, 24.0]


def test_the_notebook_s_cost_per_month_is_per_month_of_the_run():
    """The experiment notebook averaged the calendar months' part costs: a 3-day run showed
    three days' cost under "per month", one over most of April and a few days of May the
    mean of the two parts."""
    from ansen.experiments import cost_per_month

    costs = pd.DataFrame({"run": "M5", "household": "A", "month": ["2025-04", "2025-05"],
                          "cost_eur": [-36.0, -4.0], "run_months": [0.75, 0.25]})
    assert cost_per_month(costs).loc["A", "M5"] == pytest.approx(-40.0)  # not -20
    short = costs.iloc[:1].assign(cost_eur=-4.0, run_months=0.1)  # about 3 days
    assert cost_per_month(short).loc["A", "M5"] == pytest.approx(-40.0)  # not -4
    import json

    cells = json.loads((Path(__file__).parents[1] / "notebooks" / "experiment.ipynb")
                       .read_text())["cells"]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert 'cost_per_month(result["costs"])' in code and 'aggfunc="mean"' not in code


def test_an_m1_experiment_bills_its_run_once():
    """E01 (M1, its own baseline) wrote every M1 cost twice: cost_per_month and the savings
    figure added both and doubled the M1 costs (H054: -75.44 EUR a month for -37.72)."""
    from ansen.experiments import Experiment, cost_per_month

    village = ansen.data.load(EXAMPLE_EXPORT)
    costs = run_experiment(village, Experiment("x", "M1", "2025-03-30", "2025-03-31"),
                           progress=False)["costs"]
    assert sorted(costs["run"].unique()) == ["M1", "none"]
    assert not costs.duplicated(["run", "month", "household"]).any()
    per = cost_per_month(costs)
    months = costs.drop_duplicates(["run", "month"]).groupby("run")["run_months"].sum()
    one = costs[costs["run"] == "M1"].groupby("household")["cost_eur"].sum() / months["M1"]
    assert per["M1"].to_numpy() == pytest.approx(one.to_numpy())
    with pytest.raises(ValueError, match=r"repeat a run, month and household"):
        cost_per_month(pd.concat([costs, costs]))


def test_summary_has_every_report_figure():
    text = (RESULTS / "summary.md").read_text()
    for figure in ("M2 collective saving", "M2 LV feed-in change",
                   "M3 transformer variance reduction", "M3 winter household result",
                   "M4 variance reduction", "M5 MV peak reduction, mean",
                   "M5 MV peak reduction, best week", "M5 with week-old data",
                   "M5 household benefit", "M6 extreme transformer peaks left",
                   "Grid reinforcement deferral"):
        assert figure in text, figure


def test_schedule_is_valid_and_follows_the_report():
    schedule = load_schedule()
    models = [e.model for e in schedule]
    assert models[0] == "M1"
    assert {"M2", "M3", "M4", "M5", "M6"} <= set(models)
    m5 = [e for e in schedule if e.model == "M5" and e.kind == "run"]
    assert m5[0].params["data_lag"] == "7D" and m5[1].params["data_lag"] == "15min"
    fresh = [e for e in schedule if e.kind == "freshness"]
    assert [e.id for e in fresh] == ["F01_freshness", "F02_freshness_year"]
    # the like-for-like study covers the weeks of the M5 runs
    assert sorted(map(tuple, fresh[0].params["periods"])) == sorted((e.start, e.end) for e in m5)
    # the year study: whole weeks (Monday to Monday) that need no day before the data's start
    # (the weather forecast fits its PV shares on the 28 days of data known before a run: with
    # week-old data the 35 days before it)
    (start, end), = fresh[1].params["periods"]
    assert pd.Timestamp(start).dayofweek == pd.Timestamp(end).dayofweek == 0
    assert pd.Timestamp(start) - pd.Timestamp("2024-07-01") >= pd.Timedelta(days=35)
    assert end == "2025-12-01"  # the data's last whole week, 24-30 November 2025, included
    m6 = next(e for e in schedule if e.model == "M6")
    assert (pd.Timestamp(m6.end) - pd.Timestamp(m6.start)).days == 42


@pytest.mark.parametrize(("row", "message"), [
    ('id = "X"\nmodel = "M9"\nstart = "2025-01-01"\nend = "2025-01-08"', "unknown model"),
    ('id = "X"\nmodel = "M2"\nstart = "2025-01-08"\nend = "2025-01-01"', "not after start"),
    ('id = "X"\nmodel = "M2"\nstart = "2025-01-01"', "lacks"),
    ('id = "X"\nmodel = "M2"\nstart = "2025-01-01"\nend = "2025-01-08"\ncolour = 1',
     "unknown field"),
])
def test_bad_schedule_rows(tmp_path, row, message):
    f = tmp_path / "s.toml"
    f.write_text(f"[[experiment]]\n{row}\n")
    with pytest.raises(ValueError, match=message):
        load_schedule(f)


TINY = ('[[experiment]]\nid = "ok"\nmodel = "M2"\nstart = "2025-03-29"\nend = "2025-03-30"\n\n'
        '[[experiment]]\nid = "second"\nmodel = "M4"\nstart = "2025-03-30"\n'
        'end = "2025-03-31"\nseason = "spring"\n')


def _complete(root: Path, exp, source: str = "E08_M5_fresh_spring2025") -> Path:
    """A finished result of ``exp`` on the example export (tables of a committed experiment)."""
    from ansen.provenance import write_provenance

    folder = root / exp.id
    folder.mkdir(parents=True, exist_ok=True)
    metrics = pd.read_csv(RESULTS / source / "metrics.csv").assign(experiment=exp.id)
    metrics.to_csv(folder / "metrics.csv", index=False)
    (folder / "experiment.ipynb").write_text("{}")
    write_provenance(folder, exp, [folder / "metrics.csv"], data=EXAMPLE_EXPORT)
    return folder


@pytest.mark.slow
def test_rerun_skips_current_results_and_never_counts_a_failed_one(tmp_path, monkeypatch):
    from ansen import reproduce as module
    from ansen.experiments import Experiment
    from ansen.provenance import is_current

    # a run that fails in its kernel (what the check before the runs cannot foresee, such as
    # a solver failure): here a period outside the data, with that check switched off
    monkeypatch.setattr(module, "check_schedule_fits", lambda *a, **k: None)

    schedule = tmp_path / "s.toml"
    schedule.write_text(
        '[[experiment]]\nid = "ok"\nmodel = "M2"\nstart = "2025-03-29"\nend = "2025-03-30"\n\n'
        '[[experiment]]\nid = "outside"\nmodel = "M2"\nstart = "2025-05-01"\n'
        'end = "2025-05-02"\n')
    ok, outside = load_schedule(schedule)
    done = _complete(tmp_path / "res", ok)  # finished before, same data, code and settings
    # "outside" was complete once, with other settings; its rerun fails
    old = _complete(tmp_path / "res", Experiment("outside", "M2", "2025-03-29", "2025-03-30"))
    before = (done / "provenance.json").read_bytes()
    lines = []
    out = reproduce(tmp_path / "res", data=EXAMPLE_EXPORT, schedule=schedule, jobs=2,
                    log=lines.append)
    assert out["skipped"] == ["ok"] and out["done"] == {}
    assert any(line.startswith("FAILED outside") for line in lines)
    for noise in ("without encryption", "KeyboardInterrupt caught in kernel"):
        assert not any(noise in line for line in lines), lines
    assert (done / "provenance.json").read_bytes() == before
    nb, message = out["failed"]["outside"]
    assert nb.endswith("outside/experiment.ipynb") and "DataError" in message
    assert Path(nb).is_file()  # the failed notebook, for its traceback
    assert not is_current(old) and not (old / "metrics.csv").exists()
    assert out["included"] == ["ok"]
    text = out["summary"].read_text()
    assert "| ok | M2 |" in text and "| outside |" not in text


def _tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _gone(procs, timeout: float) -> bool:
    """True when every process has ended (a zombie waiting for its reaper has ended too)."""
    import psutil

    def ended(p):
        try:
            return p.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return True

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return all(ended(p) for p in alive)


def _start(tmp_path, *extra):
    import subprocess

    schedule = tmp_path / "s.toml"
    schedule.write_text(TINY)
    cmd = cli_command("reproduce", "--schedule", schedule, "--data", EXAMPLE_EXPORT,
                      "--output", tmp_path / "res", "--jobs", "1", *extra)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(cond, timeout: float, proc) -> None:
    import time

    end = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"condition not reached; stderr: {proc.communicate()[1]}")
        time.sleep(0.1)


def _has_kernel(proc) -> bool:
    import psutil

    for p in _tree(proc.pid)[1:]:
        try:
            if "ipykernel" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            continue
    return False


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_says_what_finished(tmp_path):
    import signal
    import time

    proc = _start(tmp_path)
    _wait_for(lambda: _has_kernel(proc), 60, proc)
    procs = _tree(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    elapsed = time.monotonic() - t0
    assert elapsed < 5, f"stopped after {elapsed:.1f} s; stderr:\n{err}"
    assert proc.returncode == 130
    assert "ansen: interrupted; finished: none; not finished: ok, second. Run the same " \
           "command again to complete only the rest." in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert _gone(procs, 5), "worker or kernel left running"
    for f in ("provenance.json", "experiment.ipynb"):
        assert not (tmp_path / "res" / "ok" / f).exists()


@pytest.mark.slow
def test_killing_the_parent_leaves_no_workers_or_kernels(tmp_path):
    proc = _start(tmp_path)
    _wait_for(lambda: _has_kernel(proc), 60, proc)
    procs = _tree(proc.pid)[1:]
    assert len(procs) >= 2  # a worker and its kernel
    proc.kill()  # SIGKILL: the parent cannot clean up
    proc.communicate()
    assert _gone(procs, 5), "worker or kernel outlived the killed parent"


@pytest.mark.slow
def test_sweep_runs_through_the_store_and_its_notebook(tmp_path):
    """`reproduce --sweep`: the season spec on a LocalCluster into season.parquet, whose rows
    are what the experiment notebook computes; notebooks/sweep.ipynb writes the table and
    figure; a rerun skips the store's rows."""
    from ansen.experiments import Experiment
    from ansen.sweep import read_store

    schedule = tmp_path / "s.toml"
    schedule.write_text(TINY)
    res = tmp_path / "res"
    kw = {"data": EXAMPLE_EXPORT, "schedule": schedule, "sweep": True, "models": ["M4", "M5"],
          "periods": ["second"], "jobs": 1, "progress": False}
    out = reproduce(res, **kw)
    labels = [f"{m} 2025-03-30:2025-03-31 tests/data/example_export" for m in ("M4", "M5")]
    assert sorted(out["done"]) == labels and not out["failed"] and not out["skipped"]
    assert out["summary"] == res / "sweep.md" and out["included"] == labels
    rows = read_store(res / "season.parquet")
    assert len(rows) == 4 and set(rows["model"]) == {"M4", "M5"}
    exp = Experiment("x", "M5", "2025-03-30", "2025-03-31")
    metrics = run_experiment(ansen.data.load(EXAMPLE_EXPORT), exp, progress=False)["metrics"]
    table = pd.read_csv(res / "sweep.csv")
    assert list(table["model"]) == ["M4", "M5"]
    assert set(table["period"]) == {"period of second (2025-03-30 to 2025-03-31)"}  # name, dates
    for col in ("mv_peak_reduction_mean_pct", "saving_eur_per_household_month"):
        assert table.set_index("model").loc["M5", col] == pytest.approx(
            metrics.set_index("baseline").loc["M1", col], rel=1e-9, nan_ok=True)
    text = (res / "sweep.md").read_text()
    assert "| model | period of second (2025-03-30 to 2025-03-31) |" in text and "| M5 |" in text
    for name in ("sweep.png", "sweep.svg", "sweep.ipynb"):
        assert (res / name).stat().st_size > 0
    assert not (res / "summary.md").exists()
    again = reproduce(res, **kw)
    assert again["done"] == {} and sorted(again["skipped"]) == labels


def test_plan_selects_sweep_models_and_periods():
    from ansen.reproduce import plan

    p = plan(sweep=True, models=["M4", "M5"], periods=["E05_M5_weekold_autumn2024", "summer"])
    schedule = {e.id: e for e in load_schedule()}
    summer = {(e.start, e.end) for e in schedule.values() if e.season == "summer"}
    periods = {(e.start, e.end) for e in p}
    e05 = schedule["E05_M5_weekold_autumn2024"]
    assert periods == summer | {(e05.start, e05.end)}
    assert {e.model for e in p} == {"M4", "M5"} and len(p) == 2 * len(periods)
    with pytest.raises(ValueError, match="unknown period 'E99'"):
        plan(sweep=True, periods=["E99"])
    with pytest.raises(ValueError, match="unknown model"):
        plan(sweep=True, models=["M9"])
    with pytest.raises(ValueError, match="add --sweep"):
        plan(periods=["summer"])


def test_season_sweep_runs_every_model_in_every_period_with_the_last_settings():
    from ansen.experiments import season_sweep

    schedule = load_schedule()
    sweep = season_sweep(schedule)
    periods = {(e.start, e.end) for e in schedule if e.kind == "run"}
    assert len(sweep) == 7 * len(periods)
    assert len({e.id for e in sweep}) == len(sweep)
    assert all(e.params == {"data_lag": "15min"} for e in sweep if e.model == "M5")


def test_penetration_sweep_on_a_village_it_does_not_fit_is_refused_before_running(tmp_path):
    with pytest.raises(ValueError, match="the penetration sweep's scenarios or periods do not fit .*"
                                         "BatterySites.count: 10 battery sites .* \\(the same "
                                         "for 4: penetration_010 on "):
        reproduce(tmp_path / "pen", data=EXAMPLE_EXPORT, penetration=True, models=["M0"],
                  periods=["summer"], progress=False)
    assert not (tmp_path / "pen").exists()
    with pytest.raises(ValueError) as exc:  # each problem once, naming the scenarios it hits
        reproduce(tmp_path / "pen", data=EXAMPLE_EXPORT, penetration=True, models=["M0"],
                  periods=["summer"], progress=False)
    message = str(exc.value)
    assert message.count("BatterySites.count: 10 battery sites") == 1
    assert "(the same for " in message and "-p store <your store>" in message


def test_a_schedule_that_does_not_fit_the_data_is_refused_before_any_kernel(tmp_path):
    """reproduce --data on another village started a kernel per experiment and failed ten of
    twelve one by one (and hourly data can never give a 15-minute data age)."""
    with pytest.raises(ValueError, match=r"13 experiment\(s\) of the schedule do not fit .*"
                                         r"E01_M1_summer2024: time: data start at .* write a "
                                         r"schedule for this village"):
        reproduce(tmp_path / "res", data=EXAMPLE_EXPORT, progress=False)
    assert not (tmp_path / "res").exists()


def test_a_schedule_that_partly_fits_names_the_experiments_that_do(tmp_path):
    import ansen.data

    june = ansen.data.load_default().sel(time=slice("2025-05-31 22:00", "2025-06-30 21:45"))
    path = ansen.data.save(june, tmp_path / "june.nc")
    with pytest.raises(ValueError, match=r"12 experiment\(s\) of the schedule do not fit .*"
                                         r"choose the experiments that fit \(--experiments "
                                         r"E09_M4_summer2025\)"):
        reproduce(tmp_path / "res", data=path, progress=False)

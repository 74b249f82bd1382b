"""Sweeps: specs, the store, reruns, and a tiny grid on a LocalCluster against a serial run."""

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ansen.data
from ansen import sweep
from ansen.cli import main
from tests.conftest import cli_command, tiny

#: Columns that differ between two computations of the same row (timings, clock).
VOLATILE = ["seconds", "solve_seconds", "finished_utc"]


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module (start-up costs a few seconds): 2 workers, 1 thread each."""
    with sweep.client(workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def villages(tmp_path_factory):
    """Two tiny villages as NetCDF files: the conftest one and one with bigger batteries."""
    folder = tmp_path_factory.mktemp("villages")
    a = tiny(days=4)
    b = a.copy(deep=True)
    b["battery_kwh"] = b["battery_kwh"] * 2
    b.attrs["name"] = "tiny_big"
    return [ansen.data.save(a, folder / "a.nc"), ansen.data.save(b, folder / "b.nc")]


PERIODS = [["2025-06-03", "2025-06-04"], ["2025-06-04", "2025-06-05"]]


def _grid(villages, models=("M1", "M4"), parameters=None, **kw):
    return sweep.grid(villages, ["none"], list(models), PERIODS, parameters, name="tiny", **kw)


def _measures(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.drop(columns=VOLATILE).sort_values(["run_id", "baseline"]).reset_index(drop=True)


def test_the_local_cluster_keeps_its_scratch_space_in_a_folder_of_its_own(cluster):
    """Not in dask's shared dask-scratch-space of the system's temporary folder."""
    folders = cluster.run(lambda dask_worker: dask_worker.local_directory)
    assert len(folders) == 2 and all("ansen-dask-" in f for f in folders.values()), folders


def test_cluster_gives_the_rows_of_a_serial_run(cluster, villages, tmp_path):
    g = _grid(villages)
    assert len(g) == 2 * 2 * 2
    serial = sweep.run(g, tmp_path / "serial.parquet", scheduler="synchronous", progress=False)
    t0 = time.perf_counter()
    dist = sweep.run(g, tmp_path / "dist.parquet", scheduler=cluster, progress=False)
    assert time.perf_counter() - t0 < 20
    assert not serial["failed"] and not dist["failed"]
    assert sorted(serial["done"]) == sorted(dist["done"]) and len(dist["done"]) == 8
    a = sweep.read_store(tmp_path / "serial.parquet")
    b = sweep.read_store(tmp_path / "dist.parquet")
    assert len(b) == 16 and set(b["baseline"]) == {"M1", "none"}
    pd.testing.assert_frame_equal(_measures(a), _measures(b))
    # the two villages differ, and M1 against itself changes nothing
    m4 = b[(b["model"] == "M4") & (b["baseline"] == "M1")].groupby("village")["throughput_kwh"]
    assert m4.sum().nunique() == 2
    m1 = b[(b["model"] == "M1") & (b["baseline"] == "M1")]
    assert (m1["transformer_variance_reduction_pct"].abs() < 1e-9).all()
    assert (b["code_sha256"] == b["code_sha256"].iloc[0]).all() and b["task_key"].nunique() == 8


def test_rerun_skips_done_rows_and_reruns_changed_definitions_and_data(cluster, villages,
                                                                       tmp_path):
    import shutil

    files = [shutil.copy(v, tmp_path / v.name) for v in villages]
    store = tmp_path / "store.parquet"
    sets = [{"name": "default"}, {"name": "cheap", "models": ["M4"], "shadow_eur_per_kwh": 0.1}]
    first = sweep.run(_grid(files, parameters=sets), store, scheduler=cluster, progress=False)
    assert len(first["done"]) == 12 and not first["failed"]
    before = store.read_bytes()

    again = sweep.run(_grid(files, parameters=sets), store, scheduler=cluster, progress=False)
    assert again["done"] == {} and len(again["skipped"]) == 12
    assert store.read_bytes() == before  # nothing run, nothing written

    sets[1]["shadow_eur_per_kwh"] = 0.2  # one parameter set changed: only its runs rerun
    changed = sweep.run(_grid(files, parameters=sets), store, scheduler=cluster, progress=False)
    assert sorted(changed["done"]) == sorted(t.label() for t in _grid(files, parameters=sets).tasks
                                             if t.params_name == "cheap")
    rows = sweep.read_store(store)
    assert len(rows) == 32  # the runs with 0.1 stay (another point), labelled apart in tables
    labels = set(sweep.cross_model_table(rows)["model"])
    for part in ('M4 cheap {"shadow_eur_per_kwh":0.1} ', 'M4 cheap {"shadow_eur_per_kwh":0.2} ',
                 "M4 default "):
        assert sum(label.startswith(part) for label in labels) == 2, labels  # two villages
    pruned = sweep.run(_grid(files, parameters=sets), store, scheduler=cluster, prune=True,
                       progress=False)
    assert pruned["done"] == {}
    rows = sweep.read_store(store)
    assert len(rows) == 24 and set(rows[rows["params"] == "cheap"]["params_json"]) == {
        '{"shadow_eur_per_kwh":0.2}'}

    village = ansen.data.load(files[1])  # new data in the second file: its runs rerun
    village["load_kw"] = village["load_kw"] * 1.1
    ansen.data.save(village, files[1])
    data = sweep.run(_grid(files, parameters=sets), store, scheduler="synchronous",
                     progress=False)
    assert len(data["done"]) == 6 and len(data["skipped"]) == 6
    assert all(label.endswith(str(files[1])) for label in data["done"])
    rows = sweep.read_store(store)
    assert len(rows) == 24 and rows["data_sha256"].nunique() == 2


def test_a_rerun_drops_the_columns_of_older_code_that_no_row_keeps(villages, tmp_path):
    """A store rerun under new code has that code's columns: one an older version wrote
    stays only while some row that was not rerun holds a value in it."""
    store = tmp_path / "store.parquet"
    sweep.run(_grid(villages[:1]), store, scheduler="synchronous", progress=False)
    rows = sweep.read_store(store)
    rows["old_metric"] = 1.0  # as if an older version had written it
    rows["warmup_decisions"] = rows["warmup_decisions"].astype(float)  # and stored counts so
    rows["padded_decisions"] = rows["padded_decisions"] + 0.5  # (not a count: kept as it is)
    sweep._write_store(store, rows)
    sweep.run(_grid(villages[:1]).select(models=["M4"]), store, scheduler="synchronous",
              force=True, progress=False)
    rows = sweep.read_store(store)
    assert rows["old_metric"].notna().tolist() == (rows["model"] == "M1").tolist()
    assert rows["warmup_decisions"].dtype == int  # counts stay counts, kept rows or not
    m1 = rows["model"] == "M1"
    assert (rows.loc[m1, "padded_decisions"] == 0.5).all()  # never cut to an integer
    assert (rows.loc[~m1, "padded_decisions"] % 1 == 0).all()  # the fresh rows
    sweep.run(_grid(villages[:1]), store, scheduler="synchronous", force=True, progress=False)
    rows = sweep.read_store(store)
    assert "old_metric" not in rows.columns
    assert rows["warmup_decisions"].dtype == int and rows["padded_decisions"].dtype == int


def test_a_row_is_what_an_experiment_computes(villages):
    """The sweep measures a run as the experiment notebook does (run_experiment)."""
    from ansen.experiments import Experiment, run_experiment

    village = ansen.data.load(villages[0])
    g = sweep.grid([village], ["none"], ["M5"], [PERIODS[1]], [{"data_lag": "1D"}], name="one")
    rows = _rows_in_memory(g)
    exp = Experiment("x", "M5", *PERIODS[1], params={"data_lag": "1D"})
    metrics = run_experiment(village, exp, progress=False)["metrics"].set_index("baseline")
    measures = [c for c in metrics.columns if metrics[c].dtype.kind in "fi"]
    assert len(measures) > 30 and "saving_eur_per_household_month" in measures
    for base in ("M1", "none"):
        row = rows[rows["baseline"] == base].iloc[0]
        assert row[measures].astype(float).to_numpy() == pytest.approx(
            metrics.loc[base, measures].astype(float).to_numpy(), rel=1e-12, abs=1e-12,
            nan_ok=True)
        assert row["throughput_kwh"] > 0


def _rows_in_memory(g) -> pd.DataFrame:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = sweep.run(g, Path(tmp) / "s.parquet", scheduler="synchronous", progress=False)
        assert not out["failed"], out["failed"]
        return sweep.read_store(Path(tmp) / "s.parquet")


def test_tariff_scenarios_get_their_own_baselines(villages):
    g = sweep.grid(villages[:1], ["none", "2027"], ["M2"], PERIODS[:1], name="tariffs")
    assert len(sweep.baseline_groups(g.tasks)) == 2
    rows = _rows_in_memory(g).set_index(["scenario", "baseline"])
    assert rows.loc[("none", "M1"), "tariff"] == "net_metering"
    assert rows.loc[("2027", "M1"), "tariff"] == "2027"
    # the tiny village starts on 2 June: the period from 3 June forecasts with a warm-up
    assert (rows["warmup_decisions"] > 0).all() and rows["warmup_decisions"].dtype == int
    cost = "baseline_energy_cost_eur_per_household_month"
    assert rows.loc[("none", "M1"), cost] != pytest.approx(rows.loc[("2027", "M1"), cost])


@pytest.fixture
def counted_derive(monkeypatch):
    """ansen.scenarios.derive, its recipes recorded."""
    import ansen.scenarios

    calls = []
    derive = ansen.scenarios.derive

    def counted(village, recipe):
        calls.append(recipe if isinstance(recipe, str) else recipe.to_dict()["batteries"])
        return derive(village, recipe)

    monkeypatch.setattr(ansen.scenarios, "derive", counted)
    return calls


def test_scenarios_derive_the_village_once_per_recipe(villages, counted_derive):
    """Two tariffs share one derived village; a named scenario of data/scenarios.toml and a
    spec's own parts are derived in order."""
    three = {"count": 3, "rule": "net_exporters", "eligible": "all", "existing": "keep"}
    scenarios = [{"name": "all3", "batteries": three},
                 {"name": "all3-2027", "batteries": three, "tariff": "2027"},
                 {"name": "none-then-1", "scenario": "penetration_000",
                  "batteries": {"count": 1, "rule": "net_exporters", "eligible": "all"}},
                 "none"]
    g = sweep.grid(villages[:1], scenarios, ["M2"], PERIODS[:1], name="derived")
    rows = _rows_in_memory(g)
    assert len([c for c in counted_derive if c == counted_derive[0]]) == 1  # shared
    assert "penetration_000" in counted_derive
    kwh = rows.groupby("scenario")["battery_kwh_total"].first()
    assert kwh["all3"] == kwh["all3-2027"] == 30.0 and kwh["none"] == 20.0
    assert kwh["none-then-1"] == 10.0
    assert set(rows[rows["scenario"] == "all3-2027"]["tariff"]) == {"2027"}


def test_a_named_scenario_brings_the_tariff_its_recipe_states(villages):
    """tariff_2027 alone runs under the 2027 rules (not the sweep's default); a spec that
    contradicts the recipe, or lists one recipe under two names, is refused when read."""
    g = sweep.grid(villages[:1], ["tariff_2027", {"name": "p", "scenario": "penetration_010"},
                                  {"name": "lm", "scenario": ["penetration_010",
                                                              "tariff_2027_legal_minimum"]}],
                   ["M2"], PERIODS[:1])
    tariffs = {t.scenario_name: t.scenario["tariff"] for t in g.tasks}
    assert tariffs == {"tariff_2027": "2027", "p": "net_metering", "lm": "2027_legal_minimum"}
    with pytest.raises(ValueError, match="tariff 'net_metering', but the derived village's "
                                         "recipe states '2027'"):
        sweep.grid(villages[:1], [{"name": "x", "scenario": "tariff_2027",
                                   "tariff": "net_metering"}], ["M2"], PERIODS[:1])
    with pytest.raises(ValueError, match="'tariff_2027' and 't27' are the same recipe"):
        sweep.grid(villages[:1], ["tariff_2027", {"name": "t27", "scenario": "tariff_2027"}],
                   ["M2"], PERIODS[:1])
    # a named scenario that only states a tariff runs what the tariff alone runs
    with pytest.raises(ValueError, match="'2027' and 'tariff_2027' are the same recipe"):
        sweep.grid(villages[:1], ["2027", "tariff_2027"], ["M2"], PERIODS[:1])
    assert len(sweep.grid(villages[:1], ["2027", "penetration_010"], ["M2"], PERIODS[:1])) == 2


def test_a_village_is_never_run_under_another_tariff_than_its_recipe_states(villages,
                                                                             tmp_path):
    """A village derived with tariff_2027 as the sweep's village: 'none' (net metering) is
    refused by name before anything runs and in the run itself; '2027' runs."""
    from ansen.scenarios import derive

    v27 = ansen.data.save(derive(ansen.data.load(villages[0]), "tariff_2027"),
                          tmp_path / "v27.nc")
    g = sweep.grid([v27], ["none", "2027"], ["M1"], PERIODS[:1])
    failures = sweep.check_scenarios(g)
    assert list(failures) == [f"none on {g.tasks[0].village.label}"]
    assert "tariff 'net_metering', but the village's recipe (tariff_2027) states 'no net " \
           "metering'; give the scenario the tariff its village states (tariff = '2027' in a " \
           "table, or the scenario '2027' for the village alone)" in \
           failures[f"none on {g.tasks[0].village.label}"]
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False)
    assert list(out["failed"]) == [t.label() for t in g.tasks if t.scenario_name == "none"]
    assert len(out["done"]) == 1


def test_scenarios_that_do_not_fit_a_village_are_named_before_anything_runs(villages):
    """check_scenarios (what --dry-run prints) derives each scenario here; the failure names
    the sweep's scenario, not a placeholder."""
    g = sweep.grid(villages[:1], ["none", {"name": "many", "batteries": {"count": 200}},
                                  {"name": "one", "batteries": {"count": 1, "rule": "net_exporters"}}],
                   ["M1"],
                   PERIODS[:1])
    failures = sweep.check_scenarios(g)
    assert list(failures) == [f"many on {g.tasks[0].village.label}"]
    assert failures[f"many on {g.tasks[0].village.label}"].startswith(
        "scenario many: BatterySites.count: 200 battery sites asked")


def test_the_dry_run_shows_what_a_share_of_homes_became(villages, tmp_path, capsys):
    """A spec written in shares (half of the homes) showed only the share, never the count
    of battery sites it meant on the village (a newcomer's point)."""
    import xarray as xr

    n = xr.open_dataset(villages[0]).sizes["household"]
    g = sweep.grid(villages[:1], [{"name": "half", "batteries": {"share": 0.5, "rule": "random",
                                                                 "eligible": "all"}}],
                   ["M1"], PERIODS[:1])
    batteries: dict = {}
    assert sweep.check_scenarios(g, None, batteries) == {}
    got = batteries[f"half on {g.tasks[0].village.label}"]
    assert got["battery_sites"] == round(n / 2) and got["battery_kwh_total"] > 0
    spec = _spec(tmp_path, f'villages = ["{villages[0]}"]\nmodels = ["M1"]\n'
                           'periods = [["2025-06-03", "2025-06-04"]]\n'
                           '[[scenarios]]\nname = "half"\n'
                           '[scenarios.batteries]\nshare = 0.5\nrule = "random"\n'
                           'eligible = "all"\n')
    assert main(["sweep", str(spec), "--dry-run", "--output", str(tmp_path / "s.parquet")]) == 0
    out = capsys.readouterr().out
    assert f"half on {g.tasks[0].village.label}: {round(n / 2)} site(s)" in out


def test_periods_a_village_does_not_cover_are_named_before_anything_runs(villages, tmp_path,
                                                                          capsys):
    """--dry-run names each period outside a village's data (half of a newcomer's runs
    failed at run time for this) and exits 2."""
    g = sweep.grid(villages[:1], ["none"], ["M1"], [PERIODS[0], ["2025-06-20", "2025-06-21"]])
    failures = sweep.check_periods(g)
    where = f"period 2025-06-20:2025-06-21 on {g.tasks[0].village.label}"
    assert list(failures) == [where] and "data end at" in failures[where]
    spec = _spec(tmp_path, f'villages = ["{villages[0]}"]\nmodels = ["M1"]\n'
                           'periods = [["2025-06-03", "2025-06-04"], ["2025-06-20", "2025-06-21"]]\n')
    assert main(["sweep", str(spec), "--dry-run", "--output", str(tmp_path / "s.parquet")]) == 2
    assert "ansen: period 2025-06-20:2025-06-21 on" in capsys.readouterr().err


def test_an_edited_named_scenario_changes_the_keys_of_the_runs_that_use_it(monkeypatch,
                                                                           tmp_path, villages):
    """data/scenarios.toml is data: editing penetration_010 reruns its runs, not the others."""
    import ansen.scenarios

    g = sweep.grid(villages[:1], ["penetration_010", "none"], ["M1"], PERIODS[:1])
    keys = {t.scenario_name: t.key("code") for t in g.tasks}
    text = ansen.scenarios.DEFAULT_SCENARIOS.read_text()
    old = ('name = "penetration_010"\ndescription = "10 battery sites: the village\'s own sites '
           'kept, the rest by largest PV."\n[scenario.batteries]\ncount = 10\n')
    assert old in text
    edited = tmp_path / "scenarios.toml"
    edited.write_text(text.replace(old, old.replace("count = 10", "count = 11")))
    monkeypatch.setattr(ansen.scenarios, "DEFAULT_SCENARIOS", edited)
    again = {t.scenario_name: t.key("code") for t in g.tasks}
    assert again["penetration_010"] != keys["penetration_010"]
    assert again["none"] == keys["none"]
    assert [t.run_id for t in g.tasks] == [t.run_id for t in sweep.grid(
        villages[:1], ["penetration_010", "none"], ["M1"], PERIODS[:1]).tasks]  # same points


def test_unknown_named_scenarios_and_parts_are_refused_by_name(villages):
    with pytest.raises(ValueError, match="unknown named scenario.*'penetration_999'"):
        sweep.grid(villages[:1], [{"name": "x", "scenario": "penetration_999"}], ["M2"],
                   PERIODS[:1])
    with pytest.raises(ValueError, match="scenario .x.: BatterySites.count"):
        sweep.grid(villages[:1], [{"name": "x", "batteries": {"count": -1}}], ["M2"],
                   PERIODS[:1])


def test_a_village_that_fails_to_load_leaves_the_sigterm_handler_as_it_was(villages,
                                                                           tmp_path):
    """The sweep's own SIGTERM handler (Ctrl-C's cleanup) is put back on every way out,
    also when a village file turns out unreadable at the start."""
    import shutil

    path = Path(shutil.copy(villages[0], tmp_path / "a.nc"))
    g = _grid([path], models=["M1"])
    path.write_bytes(b"not a village")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ansen.data.DataError, match=rf"^{re.escape(str(path))}: not a village"):
        sweep.run(g, tmp_path / "store.parquet", scheduler="synchronous", progress=False)
    assert signal.getsignal(signal.SIGTERM) is before


def test_failures_are_reported_and_the_rest_is_written(tmp_path, villages):
    """A run that fails (a period the data do not cover) does not stop the others."""
    g = sweep.grid(villages[:1], ["none"], ["M1"], [PERIODS[0], ["2026-01-01", "2026-01-02"]],
                   name="gap")
    said: list[str] = []
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False,
                    log=said.append)
    assert list(out["failed"]) == ["M1 2026-01-01:2026-01-02 " + g.tasks[0].village.label]
    # said before anything runs, and not run (no baselines computed for it)
    assert said and said[0].startswith("period 2026-01-01:2026-01-02 on ") and \
        "is not in the data" in said[0]
    assert "DataError" in next(iter(out["failed"].values()))
    rows = sweep.read_store(tmp_path / "s.parquet")
    assert len(rows) == 2
    # the store keeps why (a later reader could not tell a failed grid point from none)
    bad = next(t for t in g.tasks if t.period.start == "2026-01-01")
    assert list(rows.attrs["failed"]) == [bad.run_id]
    record = rows.attrs["failed"][bad.run_id]
    assert record["label"] == bad.label() and record["error"].startswith("DataError: ")
    # a sweep of the other point keeps the record; one that runs the point again renews it;
    # pruning to a grid without it removes it
    ok = sweep.grid(villages[:1], ["none"], ["M1"], [PERIODS[0]], name="ok")
    sweep.run(ok, tmp_path / "s.parquet", scheduler="synchronous", progress=False)
    assert list(sweep.read_store(tmp_path / "s.parquet").attrs["failed"]) == [bad.run_id]
    sweep.run(ok, tmp_path / "s.parquet", scheduler="synchronous", progress=False, prune=True)
    assert sweep.read_store(tmp_path / "s.parquet").attrs["failed"] == {}
    # a grid of failures alone leaves a store without rows that says why
    alone = sweep.grid(villages[:1], ["none"], ["M1"], [["2026-01-01", "2026-01-02"]])
    out = sweep.run(alone, tmp_path / "only.parquet", scheduler="synchronous", progress=False)
    only = sweep.read_store(tmp_path / "only.parquet")
    assert only.empty and list(only.attrs["failed"]) == [alone.tasks[0].run_id]


def test_an_interrupted_sweep_keeps_the_failure_records_of_the_runs_it_did_not_reach(
        tmp_path, villages, monkeypatch):
    """Ctrl-C after the first run: that run's rows are written and its old failure record
    dropped; the record of a run not reached stays (it still has no rows), and the runs not
    reached are named as cancelled."""
    from ansen.reproduce import Interrupted

    g = sweep.grid(villages[:1], ["none"], ["M1"], PERIODS, name="two")
    store = tmp_path / "s.parquet"
    first, second = g.tasks
    old = {t.run_id: {"label": t.label(), "error": "RuntimeError: an earlier failure",
                      "task_key": "k", "finished_utc": "2026-01-01T00:00:00Z"}
           for t in g.tasks}
    sweep._write_store(store, pd.DataFrame(columns=sweep.STORE_COLUMNS), old)
    assert set(sweep.read_store(store).attrs["failed"]) == {first.run_id, second.run_id}
    serial = sweep._serial

    def interrupted(nodes, villages):
        for node, value in serial(nodes, villages):
            yield node, value
            if node.task is not None:  # the first run's result, then Ctrl-C
                raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "_serial", interrupted)
    with pytest.raises(Interrupted) as info:
        sweep.run(g, store, scheduler="synchronous", progress=False)
    assert info.value.result["cancelled"] == [second.label()]
    assert list(info.value.result["done"]) == [first.label()]
    rows = sweep.read_store(store)
    assert set(rows["run_id"]) == {first.run_id}
    assert rows.attrs["failed"] == {second.run_id: old[second.run_id]}


def test_the_cli_s_last_line_counts_every_run_of_the_grid(tmp_path, villages, capsys):
    """"1 run(s) in 0.1 min, 0 already in the store, 1 failed" read as one of one failing."""
    spec = tmp_path / "gap.toml"
    spec.write_text(f'name = "gap"\nvillages = ["{villages[0]}"]\nmodels = ["M1"]\n'
                    'periods = [["2025-06-03", "2025-06-04"], ["2026-01-01", "2026-01-02"]]\n')
    store = tmp_path / "s.parquet"
    assert main(["sweep", str(spec), "--output", str(store), "--scheduler", "synchronous"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^2 run\(s\) of gap: 1 done in [\d.]+ min on .*, 0 already in the store, "
                     r"1 failed; store: ", out, re.M), out


def test_a_spec_s_missing_village_names_the_spec(tmp_path):
    spec = _spec(tmp_path, 'villages = ["../nowhere.nc"]\n' + GOOD)
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(spec))}: villages: no village "
                                                r"at .*nowhere.nc \(a relative path is read "
                                                r"from the spec's folder"):
        sweep.load_spec(spec)
    other = _spec(tmp_path, 'schedule = "nope.toml"\nmodels = ["M4"]\nperiods = "schedule"\n')
    with pytest.raises(FileNotFoundError) as exc:  # not a village: not said to be one
        sweep.load_spec(other)
    assert "villages:" not in str(exc.value)


# --------------------------------------------------------------------------- specs


def _spec(tmp_path, text: str) -> Path:
    f = tmp_path / "spec.toml"
    f.write_text(text)
    return f


GOOD = 'models = ["M4"]\nperiods = [["2025-06-03", "2025-06-04"]]\n'


@pytest.mark.parametrize(("text", "message"), [
    ('modles = ["M4"]\n', "unknown key(s) ['modles']"),
    (GOOD + '[[grid]]\nmodel = "M2"\n', "[[grid]] #1: unknown key(s) ['model']"),
    ('models = ["M9"]\n', "unknown model(s) ['M9']"),
    ('models = ["M4"]\nperiods = [{ start = "2025-06-03", stop = "2025-06-04" }]\n',
     "unknown key(s) ['stop']"),
    ('models = ["M4"]\nperiods = [["2025-06-04", "2025-06-03"]]\n', "is not after start"),
    ('models = ["M4"]\nperiods = [["June", "2025-06-03"]]\n', "is not a date"),
    (GOOD + 'scenarios = [{ name = "x", tariff = "2030" }]\n', "unknown tariff '2030'"),
    (GOOD + '[[parameters]]\nname = "bad"\nshadow_eur = 1\n', "parameter set 'bad' for M4"),
    (GOOD + '[[parameters]]\nmodels = ["M5"]\ndata_lag = "7D"\n',
     "no parameter set applies to model(s) ['M4']"),
    (GOOD + 'solver = "cplex"\n', "unknown solver 'cplex'"),
    (GOOD + '[scenarios.all_homes]\ntariff = "2027"\n',
     "scenarios must be a non-empty list of scenario names or inline tables, e.g. scenarios = "
     "[\"none\", { name = \"p40\", scenario = \"penetration_040\", tariff = \"2027\" }]; got a "
     "table with key(s) ['all_homes']"),
    (GOOD + 'villages = []\n', "villages must be a non-empty list; got []"),
    (GOOD + 'villages = ["nowhere.nc"]\n', "no village at"),
    ('models = [', "not valid TOML"),
    ('periods = [["2025-06-03", "2025-06-04"]]\nmodels = ["M4"\n',
     "after line 2, the last: a [, { or quote opened further up is not closed"),
    ('models = ["M4"]\nsolver =', "Invalid value (at end of document) after line 2, the last)"),
    (GOOD + '[[parameters]]\nname = "old"\nforecast_lag_days = 400\n',
     "parameter set 'old' for M4: simulate: forecast_lag_days"),
    ('name = "../escaped"\n' + GOOD, "name '../escaped' is not a safe name"),
    ('name = "/tmp/abs"\n' + GOOD, "name '/tmp/abs' is not a safe name"),
])
def test_bad_specs_are_refused_naming_the_problem(tmp_path, text, message):
    with pytest.raises((ValueError, FileNotFoundError)) as exc:
        sweep.load_spec(_spec(tmp_path, text))
    assert message in str(exc.value)


def test_grid_blocks_are_crossed_on_their_own_and_merged(tmp_path):
    text = ('periods = [["2025-06-03", "2025-06-04"], ["2025-06-04", "2025-06-05"]]\n'
            '[[grid]]\nmodels = ["M0", "M2"]\n'
            '[[grid]]\nmodels = ["M0"]\nscenarios = ["2027"]\n'
            '[[grid]]\nmodels = ["M2"]\n')  # repeats a point of the first block
    g = sweep.load_spec(_spec(tmp_path, text))
    assert [(t.model, t.scenario_name) for t in g.tasks if t.period.start == "2025-06-03"] == [
        ("M0", "none"), ("M2", "none"), ("M0", "2027")]
    assert len(g) == 6 and g.name == "spec"


def test_the_season_spec_is_the_season_sweep_of_the_schedule():
    from ansen.experiments import load_schedule, season_sweep

    g = sweep.load_spec(sweep.SPECS / "season.toml")
    old = season_sweep(load_schedule())
    assert len(g) == len(old) == 77
    assert {(t.model, t.period.start, t.period.end, t.params_json) for t in g.tasks} == {
        (e.model, e.start, e.end, sweep._canonical(e.params)) for e in old}
    assert {t.village.label for t in g.tasks} == {"default"}
    summer = g.select(models=["M4", "M5"], periods=["summer", "E05_M5_weekold_autumn2024"])
    assert len(summer) == 2 * 5
    with pytest.raises(ValueError, match="unknown period 'monsoon'"):
        g.select(periods=["monsoon"])


def test_a_store_is_never_a_folder_or_a_foreign_file(tmp_path, villages):
    g = sweep.grid(villages[:1], ["none"], ["M1"], PERIODS[:1], name="x")
    with pytest.raises(ValueError, match="is a folder"):
        sweep.run(g, tmp_path, scheduler="synchronous", progress=False)
    other = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(other)
    before = other.read_bytes()
    with pytest.raises(ValueError, match="not a sweep store"):
        sweep.run(g, other, scheduler="synchronous", progress=False)
    assert other.read_bytes() == before


def test_example_store_makes_the_table_and_figure(tmp_path):
    rows = sweep.read_store()
    assert all(sorted(b) == ["M1", "none"] for _, b in rows.groupby("run_id")["baseline"])
    table = sweep.cross_model_table(rows)
    assert set(table["model"]) == {"M4", "M5 defaults", "M5 weekold"}
    files = sweep.write_report(table, tmp_path, title="Example")
    assert [f.name for f in files] == ["sweep.csv", "sweep.md", "sweep.png", "sweep.svg"]
    text = (tmp_path / "sweep.md").read_text()
    assert "| M5 weekold |" in text and "2025-06-02 to 2025-06-05" in text
    # periods by the spec's names, with their dates, in the order of their dates
    assert list(dict.fromkeys(table["period"])) == ["winter_days (2025-01-13 to 2025-01-16)",
                                                    "summer_days (2025-06-02 to 2025-06-05)"]
    assert np.isfinite(table["mv_peak_reduction_mean_pct"]).all()
    assert sweep.provenance(rows)["runs"].sum() == rows["run_id"].nunique()


def test_every_row_names_its_scenario_where_the_table_holds_several():
    """M4 on a derived village beside M5 on the village as it is: M5's rows say "as-is" too,
    or they would read as the same village as M4's (found with a spec of one's own)."""
    rows = sweep.read_store()
    m4 = rows[rows["model"] == "M4"].assign(
        scenario="p40", scenario_json='{"scenario":"penetration_040"}',
        run_id=lambda d: d["run_id"] + "-p40")
    table = sweep.cross_model_table(pd.concat([rows, m4], ignore_index=True))
    assert set(table["model"]) == {"M4 as-is", "M4 p40", "M5 as-is defaults", "M5 as-is weekold"}
    assert set(sweep.cross_model_table(rows)["model"]) == {"M4", "M5 defaults", "M5 weekold"}
    # one name for two recipes (edited since): told apart by a short hash of each, not by
    # its whole JSON
    edited = m4.assign(scenario_json='{"batteries":{"count":40,"eligible":"all","rule":'
                                     '"net_exporters"},"tariff":"net_metering"}',
                       run_id=lambda d: d["run_id"] + "-edited")
    table = sweep.cross_model_table(pd.concat([rows, m4, edited], ignore_index=True))
    p40 = sorted({m for m in table["model"] if m.startswith("M4 p40")})
    assert p40 == sorted(["M4 p40 {\"scenario\":\"penetration_040\"}", "M4 p40 #" + hashlib.sha256(
        edited["scenario_json"].iloc[0].encode()).hexdigest()[:6]])


# --------------------------------------------------------------------------- the command


def test_cli_dry_run_and_one_line_errors(tmp_path, capsys):
    assert main(["sweep", "example", "--dry-run", "--output", str(tmp_path / "s.parquet")]) == 0
    out = capsys.readouterr().out
    assert "example: 6 run(s) and 2 pair(s) of baselines" in out and "M5 2025-06-02" in out
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"ansen: no sweep spec at {tmp_path / 'none.toml'}"
    assert main(["sweep", str(_spec(tmp_path, 'modles = ["M4"]\n'))]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unknown key(s) ['modles']" in err
    assert main(["sweep", "season", "--periods", "monsoon", "--dry-run"]) == 2
    assert "ansen: unknown period 'monsoon'" in capsys.readouterr().err
    assert main(["sweep", "example", "--models", "M0", "--prune", "--dry-run"]) == 2
    assert "with --models it would remove rows of the spec's own runs" in \
        capsys.readouterr().err
    assert not list(tmp_path.glob("*.parquet"))
    # --dry-run --prune lists what would go: the shipped example store holds its own runs
    store = tmp_path / "copy.parquet"
    store.write_bytes(sweep.EXAMPLE_STORE.read_bytes())
    before = store.read_bytes()
    # the example's M4 runs stay (same grid points), its M5 runs would go
    spec = _spec(tmp_path, 'models = ["M4"]\nperiods = [\n'
                           '{ start = "2025-01-13", end = "2025-01-16", name = "winter_days", '
                           'season = "winter" },\n'
                           '{ start = "2025-06-02", end = "2025-06-05", name = "summer_days", '
                           'season = "summer" }]\n[[parameters]]\nname = "defaults"\n')
    assert main(["sweep", str(spec), "--dry-run", "--prune", "--output", str(store)]) == 0
    out = capsys.readouterr().out
    rows = sweep.read_store(store)
    m5 = rows[rows["model"] == "M5"]["run_id"].nunique()
    assert 0 < m5 < rows["run_id"].nunique()
    assert f"--prune would remove {m5} run(s) outside" in out
    assert "  M4 " not in out.split("--prune would remove")[1]
    assert store.read_bytes() == before  # a dry run changes nothing


@pytest.mark.slow
def test_ctrl_c_cancels_and_closes_the_cluster(tmp_path):
    """SIGINT to the process group (a terminal's Ctrl-C): exit 130 at once, no tracebacks, no
    worker left, and what finished (and only that) is in the store, as the message says."""
    import re

    import psutil

    # 2 models x 16 four-week periods (about a minute on 2 cores): far more work than the
    # 4 s below, however fast a run is (how many runs finish first does not matter)
    starts = pd.date_range("2024-07-01", periods=16, freq="28D")
    periods = ", ".join(f'["{a:%Y-%m-%d}", "{a + pd.Timedelta(days=28):%Y-%m-%d}"]'
                        for a in starts)
    spec = _spec(tmp_path, f'models = ["M4", "M5"]\nperiods = [{periods}]\n')
    store = tmp_path / "s.parquet"
    cmd = cli_command("sweep", spec, "--output", store, "--workers", "2")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    end = time.monotonic() + 60
    while len(psutil.Process(proc.pid).children(recursive=True)) < 2:  # the workers
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.2)
    time.sleep(4)  # the runs have started
    procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 130, err
    said = re.search(r"ansen: interrupted; (?:(\d+) run\(s\) finished and written to .*|no "
                     r"run finished), (\d+) not finished", err)
    assert said, err
    finished, left = int(said[1] or 0), int(said[2])
    assert left > 0 and finished + left == 32
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Warning" not in err
    _, alive = psutil.wait_procs(procs, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], "a process was left"
    if finished:  # what finished is kept, and nothing else
        assert sweep.read_store(store)["run_id"].nunique() == finished
    else:
        assert not store.exists()


def test_village_columns_count_the_battery_sites():
    v = tiny(days=1)
    v["battery_kwh"] = ("household", [0.0, 10.0, 5.0])  # sites 1 and 2
    v["battery_kw"] = ("household", [0.0, 5.0, 5.0])
    assert sweep._village_columns(v) == {"battery_sites": 2, "battery_kwh_total": 15.0,
                                         "battery_kw_total": 10.0}


def test_a_warning_of_every_run_is_said_once_with_its_count(villages, tmp_path):
    """The short-data warning of each run printed once per run (16 times in a newcomer's
    sweep, each with a worker's source line); now once for the sweep, naming how many."""
    import warnings

    sets = [{"name": "default"}, {"name": "cheap", "models": ["M4"], "shadow_eur_per_kwh": 0.1}]
    g = sweep.grid(villages[:1], ["none"], ["M4"], PERIODS[:1], sets, name="tiny")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sweep.run(g, tmp_path / "w.parquet", scheduler="synchronous", progress=False)
    assert len(out["done"]) == 2
    short = [str(w.message) for w in caught if "less than a year of data" in str(w.message)]
    assert len(short) == 1 and "(2 runs, e.g. M4 " in short[0]


def test_warnings_of_a_derived_village_reach_the_end_of_the_sweep(villages, tmp_path):
    """Deriving a scenario's village on a worker warned there (a neighbourhood battery beyond
    its transformer's rating), outside the sweep's summary of warnings."""
    import warnings

    big = {"name": "big", "neighbourhood": [{"transformer": "T1", "capacity_kwh": 600.0,
                                             "power_kw": 300.0, "efficiency": 0.95}]}
    g = sweep.grid(villages[:1], [big], ["M1", "M4"], PERIODS[:1], None, name="tiny")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sweep.run(g, tmp_path / "d.parquet", scheduler="synchronous", progress=False)
    assert len(out["done"]) == 2
    rating = [str(w.message) for w in caught if "beyond its rating" in str(w.message)
              or "can load the transformer beyond" in str(w.message)]
    assert len(rating) == 1 and "(2 runs, e.g. " in rating[0]


OWN = ('[[scenario]]\nname = "half_homes"\n[scenario.batteries]\nshare = 0.5\n'
       'rule = "net_exporters"\n')


def test_a_spec_names_the_scenarios_of_its_own_scenario_files(tmp_path):
    """They were refused as unknown named scenarios; they run as the table of their parts,
    alone or at the end of a chain of shipped ones."""
    (tmp_path / "mine.toml").write_text(OWN)
    g = sweep.load_spec(_spec(tmp_path, GOOD + 'scenario_files = ["mine.toml"]\nscenarios = '
                                            '["half_homes", { name = "h27", scenario = '
                                            '["tariff_2027", "half_homes"] }]\n'))
    recipes = {t.scenario_name: json.loads(t.scenario_json) for t in g.tasks}
    assert recipes["half_homes"]["batteries"]["share"] == 0.5
    assert recipes["h27"]["scenario"] == ["tariff_2027"] and recipes["h27"]["tariff"] == "2027"
    assert recipes["h27"]["batteries"] == recipes["half_homes"]["batteries"]


def test_own_scenarios_chain_with_each_other_and_with_parts(tmp_path, villages):
    """Your own battery level, then your own neighbourhood battery (or inline parts) after
    it: refused as "a scenario of the spec's scenario_files may only end a chain", though a
    village not of 140 homes needs levels of its own (outside check 8)."""
    from ansen.scenarios import recipe_chain

    (tmp_path / "mine.toml").write_text(
        OWN + '[[scenario]]\nname = "buurt_t1"\n[[scenario.neighbourhood]]\n'
              'transformer = "T1"\nsame_as = "all_sites"\n')
    g = sweep.load_spec(_spec(tmp_path, f'villages = ["{villages[0]}"]\n' + GOOD
                              + 'scenario_files = ["mine.toml"]\nscenarios = ['
                              '{ name = "hb", scenario = ["half_homes", "buurt_t1"] }, '
                              '{ name = "hn", scenario = ["half_homes"], neighbourhood = '
                              '[{ transformer = "T1", same_as = "all_sites" }] }, '
                              '{ name = "hb27", scenario = ["tariff_2027", "half_homes", '
                              '"buurt_t1"] }]\n'))
    recipes = {t.scenario_name: json.loads(t.scenario_json) for t in g.tasks}
    assert recipes["hb"]["scenario"][0]["name"] == "half_homes"
    assert recipes["hb"]["scenario"][1]["neighbourhood"][0]["transformer"] == "T1"
    assert recipes["hb27"]["tariff"] == "2027" and recipes["hb27"]["scenario"][0] == "tariff_2027"
    village = ansen.data.load(villages[0])
    chains, kwh = {}, {}
    for t in g.tasks:
        derived, _ = sweep.apply_scenario(village, t.scenario, t.scenario_name)
        chains[t.scenario_name] = [r["scenario"]["name"] for r in recipe_chain(derived)]
        kwh[t.scenario_name] = derived["battery_kwh"].sel(
            household=derived["household"].str.startswith("BUURT")).values.sum()
    assert chains == {"hb": ["half_homes", "buurt_t1"], "hn": ["half_homes", "hn"],
                      "hb27": ["tariff_2027", "half_homes", "buurt_t1"]}
    homes, _ = sweep.apply_scenario(village, {"batteries": recipes["hb"]["scenario"][0]["batteries"]})
    assert kwh["hb"] == kwh["hn"] == kwh["hb27"] == homes["battery_kwh"].values.sum() > 0
    assert sweep.check_scenarios(g) == {}


@pytest.mark.parametrize(("files", "scenario", "message"), [
    ('["mine.toml", "mine.toml"]', '"half_homes"', "names 'half_homes', a name the shipped"),
    ('"mine.toml"', '"half_homes"', "scenario_files must be a list of paths"),
    ('["nowhere.toml"]', '"half_homes"', "no scenario file at"),
    ('["mine.toml"]', '"half_homez"', "scenario 'half_homez': unknown named scenario(s) "
     "['half_homez']; known: the spec's scenario_files' half_homes; the shipped none, "
     "net_metering, 2027"),
    ('["mine.toml"]', '{ name = "x", scenario = ["penetration_04", "half_homes"] }',
     "scenario 'x': unknown named scenario(s) ['penetration_04']; known: the spec's"),
])
def test_scenario_files_of_a_spec_are_refused_by_name(tmp_path, files, scenario, message):
    (tmp_path / "mine.toml").write_text(OWN)
    text = GOOD + f"scenario_files = {files}\nscenarios = [{scenario}]\n"
    with pytest.raises((ValueError, FileNotFoundError), match=re.escape(message)):
        sweep.load_spec(_spec(tmp_path, text))


def test_period_labels_of_the_heat_maps_break_into_short_lines():
    from ansen.plots import _period_tick

    tick = _period_tick("E05_M5_weekold_autumn2024 (2024-10-28 to 2024-11-25)")
    assert tick.split("\n") == ["E05_M5_", "weekold_", "autumn2024", "(2024-10-28",
                                "to 2024-11-25)"]
    assert _period_tick("2024-10-28 to 2024-11-25") == "2024-10-28\nto 2024-11-25"


def test_years_a_tariff_has_no_taxes_for_are_named_before_anything_runs(tmp_path, capsys):
    """A village of January 2027 under the package's tariffs (taxes known to 2026): the dry
    run passed it and the run failed in its worker; now both say it first."""
    village = ansen.data.save(tiny(days=3, start="2027-01-03 23:00"), tmp_path / "v2027.nc")
    g = sweep.grid([village], [{"name": "p", "tariff": "2027"}], ["M1"],
                   [["2027-01-04", "2027-01-06"]], name="y2027")
    failures = sweep.check_tariffs(g)
    assert list(failures) == ["tariff 2027 (scenario p) over period 2027-01-04:2027-01-06"]
    assert "no energy tax for year(s) [2027]" in failures[
        "tariff 2027 (scenario p) over period 2027-01-04:2027-01-06"]
    said: list[str] = []
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False,
                    log=said.append)
    assert list(out["failed"]) == [g.tasks[0].label()] and not out["done"]
    assert said[0].startswith("tariff 2027 (scenario p) over period 2027-01-04:2027-01-06: "
                              "Tariff has no energy tax for year(s) [2027]")
    spec = _spec(tmp_path, f'villages = ["{village}"]\nmodels = ["M1"]\n'
                           'periods = [["2027-01-04", "2027-01-06"]]\n'
                           'scenarios = [{ name = "p", tariff = "2027" }]\n')
    assert main(["sweep", str(spec), "--dry-run", "--output", str(tmp_path / "d.parquet")]) == 2
    assert ("ansen: tariff 2027 (scenario p) over period 2027-01-04:2027-01-06: Tariff has no "
            "energy tax") in capsys.readouterr().err


def test_a_run_in_the_first_days_of_a_year_needs_no_taxes_of_the_year_before(tmp_path):
    """The history its forecasts read (30-31 December 2023) was priced with the taxes of 2023,
    which the tariff does not have: every such run failed in its worker, after a dry run that
    had checked only 2024 (a review's find)."""
    village = ansen.data.save(tiny(days=4, start="2023-12-30"), tmp_path / "v.nc")
    g = sweep.grid([village], ["none"], ["M0"], [["2024-01-01", "2024-01-02"]], name="y")
    assert sweep.check_tariffs(g) == {}
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False)
    assert list(out["done"]) == [g.tasks[0].label()] and not out["failed"]


@pytest.mark.parametrize("chain, message", [
    ('["penetration_040", 40]', "unknown named scenario(s) [40]"),
    ("0", "scenario = 0: give the name of a scenario or a list of names"),
    ("{}", "scenario = {}: give the name of a scenario or a list of names"),
    ('[{ name = "penetration_040", batteries = { count = 1 } }]',
     "entry 1 of its chain is a table named 'penetration_040'; a table in a chain needs a "
     "name of its own"),
    ('[{ batteries = { count = 1 } }]', "entry 1 of its chain is a table named None"),
    ('[{ name = "a", batteries = { count = 1 } }, { name = "a", batteries = { count = 2 } }]',
     "entry 2 of its chain is a table named 'a'"),
    ('[{ name = "a", batteries = { cuont = 1 } }]',
     "scenario 'x': scenario a: batteries: unknown key(s) ['cuont']"),
])
def test_a_chain_with_a_bad_entry_is_refused_by_name(tmp_path, chain, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        sweep.load_spec(_spec(tmp_path, GOOD + f'scenarios = [{{ name = "x", scenario = '
                                                f'{chain} }}]\n'))


def test_a_cancelled_run_is_the_cluster_losing_its_work_not_the_run_failing():
    """With every worker killed, each pending run was recorded as failed ("FutureCancelledError:
    ... already forgotten"); now the sweep stops with ClusterLost, keeps what finished and
    records no failure for the rest (outside check 9)."""
    from distributed.client import FutureCancelledError

    assert sweep._lost(FutureCancelledError("run-1", reason="already forgotten"))
    assert not sweep._lost(ValueError("a run's own error"))
    assert issubclass(sweep.ClusterLost, RuntimeError)


def test_one_of_your_scenarios_twice_in_a_chain_is_taken_as_a_named_one_is(tmp_path):
    """["mine", "mine"] became two tables of one name, refused as two different tables
    (a review's find); a shipped name twice is accepted, and so is yours."""
    (tmp_path / "mine.toml").write_text(OWN)
    g = sweep.load_spec(_spec(tmp_path, GOOD + 'scenario_files = ["mine.toml"]\nscenarios = '
                                            '[{ name = "hh", scenario = ["half_homes", '
                                            '"half_homes"] }]\n'))
    chain = json.loads(g.tasks[0].scenario_json)["scenario"]
    assert [c["name"] for c in chain] == ["half_homes", "half_homes"] and chain[0] == chain[1]


# --------------------------------------------------------------------------- tariff files

TAX_2027 = ('[tariff]\nbase = "2027"\nenergy_tax = { 2027 = 0.0916 }\n'
            'tax_reduction_eur_per_year = { 2027 = 524.95 }\n')


def test_a_tariff_file_of_the_spec_runs_what_compare_runs_with_it(tmp_path):
    """A village of January 2027, which the package's tariffs have no taxes for, swept under a
    tariff file that gives them (what `ansen compare --tariff` could do and a sweep could
    not); the file's path labels the runs, its terms are their definition."""
    import ansen
    from ansen.metrics import compare
    from ansen.tariffs import read_tariff

    village = ansen.data.save(tiny(days=3, start="2027-01-03 23:00"), tmp_path / "v2027.nc")
    (tmp_path / "tariffs").mkdir()
    (tmp_path / "tariffs" / "t27.toml").write_text(TAX_2027)
    spec = _spec(tmp_path, f'villages = ["{village}"]\nmodels = ["M0"]\n'
                           'periods = [["2027-01-04", "2027-01-06"]]\n'
                           'scenarios = [{ name = "p", tariff = "tariffs/t27.toml" }]\n')
    g = sweep.load_spec(spec)
    assert sweep.check_tariffs(g) == {}
    label = (tmp_path / "tariffs" / "t27.toml").as_posix()  # outside the repository: absolute
    assert g.tasks[0].scenario["tariff"]["file"] == label
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False)
    assert list(out["done"]) == [g.tasks[0].label()] and not out["failed"]
    rows = sweep.read_store(tmp_path / "s.parquet").set_index("baseline")
    assert (rows["tariff"] == label).all()
    t = read_tariff(tmp_path / "tariffs" / "t27.toml")
    ds = ansen.data.load(village)
    run = ansen.simulate(ds, "M0", "2027-01-04", "2027-01-06", tariff=t, progress=False)
    none = ansen.simulate(ds, "none", "2027-01-04", "2027-01-06", tariff=t, progress=False)
    expected = compare(run, none, tariff=t).iloc[0]
    for column in ("energy_cost_eur_per_household_month", "saving_eur_per_household_month"):
        assert rows.loc["none", column] == pytest.approx(float(expected[column]), rel=1e-12)
    # an edited file is another definition of the same grid point: it reruns, in place
    before = g.tasks[0]
    (tmp_path / "tariffs" / "t27.toml").write_text(TAX_2027.replace("0.0916", "0.12"))
    after = sweep.load_spec(spec).tasks[0]
    assert after.run_id == before.run_id and after.key("c") != before.key("c")
    assert after.scenario["tariff"]["terms"]["energy_tax"] == {"2027": 0.12}


@pytest.mark.parametrize(("scenario", "file", "message"), [
    ('{ name = "p", tariff = "nowhere.toml" }', None,
     r"scenario 'p': tariff: no tariff file at .*nowhere.toml \(a relative path is read from "
     "the spec's folder"),
    ('"t.toml"', '[tariff]\nbase = "2027"\nenergy_taxes = { 2025 = 0.1 }\n',
     r"scenario 't.toml': tariff: .*t.toml: unknown key\(s\) \['energy_taxes'\]"),
    ('{ name = "p", tariff = { base = "2027" } }', None,
     r"scenario 'p': tariff = a table with key\(s\) \['base'\]: a tariff is a name "
     r"\(net_metering, 2027, 2027_legal_minimum\) or the path of a tariff file"),
    ('{ name = "p", tariff = "2028" }', None,
     r"unknown tariff '2028'; known: net_metering, 2027, 2027_legal_minimum, or a tariff file"),
    ('{ name = "p", scenario = "tariff_2027", tariff = "t.toml" }', '[tariff]\n',
     r"scenario 'p': tariff file /.*/t.toml, but the derived village's recipe states '2027' "
     r".*; "
     r"set net_metering = false.* in the file"),
])
def test_tariff_files_are_refused_by_name(tmp_path, scenario, file, message):
    if file is not None:
        (tmp_path / "t.toml").write_text(file)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        sweep.load_spec(_spec(tmp_path, GOOD + f"scenarios = [{scenario}]\n"))


def test_a_tariff_file_of_the_regime_a_village_states_runs_on_it(villages, tmp_path):
    """Other taxes, the same rules: a village derived with tariff_2027 runs under a file of
    base 2027 (as `ansen compare --tariff` allows), not under one of net metering."""
    from ansen.scenarios import derive

    v27 = ansen.data.save(derive(ansen.data.load(villages[0]), "tariff_2027"),
                          tmp_path / "v27.nc")
    (tmp_path / "t27.toml").write_text('[tariff]\nbase = "2027"\nvat = 0.09\n')
    (tmp_path / "nm.toml").write_text('[tariff]\nbase = "net_metering"\n')
    g = sweep.grid([v27], ["t27.toml", "nm.toml"], ["M1"], PERIODS[:1], base=tmp_path)
    failures = sweep.check_scenarios(g)
    assert list(failures) == [f"nm.toml on {g.tasks[0].village.label}"]
    assert f"tariff '{(tmp_path / 'nm.toml').as_posix()}', but the village's recipe " \
        "(tariff_2027) states 'no net metering'; set net_metering = false, feed_in_vat = " \
        "false in the file (its taxes may differ, not its rules)" in \
        failures[f"nm.toml on {g.tasks[0].village.label}"]


def test_a_scenario_of_ones_own_that_does_not_derive_names_its_file(tmp_path, villages):
    """A level of one's own too large for the village was said only under the spec's label
    (penetration_040), as if a shipped level had failed (outside check 10)."""
    (tmp_path / "mine.toml").write_text('[[scenario]]\nname = "all_60"\n[scenario.batteries]\n'
                                        'count = 60\nrule = "net_exporters"\neligible = "all"\n')
    g = sweep.load_spec(_spec(tmp_path, f'villages = ["{villages[0]}"]\n' + GOOD
                              + 'scenario_files = ["mine.toml"]\nscenarios = '
                                '[{ name = "penetration_040", scenario = "all_60" }]\n'))
    failures = sweep.check_scenarios(g)
    (message,) = failures.values()
    assert "BatterySites.count: 60 battery sites asked" in message
    assert message.endswith("(scenario penetration_040: its parts from all_60 of mine.toml)")


def test_one_tariff_file_is_one_recipe_however_it_is_spelt(tmp_path):
    """./t/nm.toml and t/nm.toml ran twice; a table without a name was named by every term
    of its file (a review's finds)."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "nm.toml").write_text("[tariff]\n")
    with pytest.raises(ValueError, match=r"scenarios 't/nm.toml' and './t/nm.toml' are the "
                                         r"same recipe \(\{\"tariff\":\"/.*t/nm.toml\"\}\)"):
        sweep.load_spec(_spec(tmp_path, GOOD + 'scenarios = ["t/nm.toml", "./t/nm.toml"]\n'))
    g = sweep.load_spec(_spec(tmp_path, GOOD + 'scenarios = [{ tariff = "t/nm.toml" }]\n'))
    label = (tmp_path / "t" / "nm.toml").as_posix()
    assert g.tasks[0].scenario_name == json.dumps({"tariff": label}, separators=(",", ":"))
    # two files of one name in two folders are two labels, so two grid points of one store
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "nm.toml").write_text('[tariff]\nbase = "2027"\n')
    a = sweep.grid(["default"], ["nm.toml"], ["M1"], [PERIODS[0]], base=tmp_path / "t")
    b = sweep.grid(["default"], ["nm.toml"], ["M1"], [PERIODS[0]], base=tmp_path / "u")
    assert a.tasks[0].run_id != b.tasks[0].run_id
    # a scenario file given as a tariff file is told apart
    (tmp_path / "mine.toml").write_text(OWN)
    with pytest.raises(ValueError, match="a scenario file .*, not a tariff file: list it in "
                                         "the spec's scenario_files"):
        sweep.load_spec(_spec(tmp_path, GOOD + 'scenarios = ["mine.toml"]\n'))


def test_a_tariff_file_without_the_years_taxes_is_named_before_anything_runs(tmp_path):
    (tmp_path / "y25.toml").write_text("[tariff]\nenergy_tax = { 2025 = 0.1 }\n"
                                       "tax_reduction_eur_per_year = { 2025 = 500.0 }\n")
    g = sweep.grid(["default"], ["y25.toml"], ["M1"], [["2024-07-02", "2024-07-03"]],
                   base=tmp_path)
    (where, message), = sweep.check_tariffs(g).items()
    assert where == (f"tariff {(tmp_path / 'y25.toml').as_posix()} (scenario y25.toml) over "
                     "period 2024-07-02:2024-07-03")
    assert "no energy tax for year(s) [2024]" in message
    assert "A tariff file of one's own (ansen compare --tariff FILE.toml, a sweep scenario's " \
        "tariff; ansen.tariffs.read_tariff) gets the year in its energy_tax" in message


def test_the_origin_of_a_nameless_scenario_and_of_a_failed_run_is_said(tmp_path, villages):
    (tmp_path / "mine.toml").write_text('[[scenario]]\nname = "big"\n[scenario.batteries]\n'
                                        'count = 600\nrule = "net_exporters"\n'
                                        'eligible = "all"\n')
    g = sweep.load_spec(_spec(tmp_path, f'villages = ["{villages[0]}"]\n' + GOOD
                              + 'scenario_files = ["mine.toml"]\n'
                                'scenarios = [{ scenario = "big" }]\n'))
    (message,) = sweep.check_scenarios(g).values()
    assert message.endswith(": its parts from big of mine.toml)")
    out = sweep.run(g, tmp_path / "s.parquet", scheduler="synchronous", progress=False)
    (failure,) = out["failed"].values()
    assert "BatterySites.count: 600" in failure and "its parts from big of mine.toml" in failure


def test_a_moved_folder_s_runs_stay_done_and_prune_keeps_them(tmp_path, villages):
    """Copied elsewhere, a spec's village and tariff file had other labels: --prune removed
    the runs the same command counted as done, and the tariff-file runs reran (outside check
    11)."""
    import shutil

    a = tmp_path / "a"
    a.mkdir()
    shutil.copy(villages[0], a / "v.nc")
    (a / "t.toml").write_text('[tariff]\nbase = "2027"\n')
    (a / "spec.toml").write_text('villages = ["v.nc"]\nmodels = ["M1"]\n'
                                 'periods = [["2025-06-03", "2025-06-04"]]\n'
                                 'scenarios = ["none", "t.toml"]\n')
    out = sweep.run(a / "spec.toml", a / "s.parquet", scheduler="synchronous", progress=False)
    assert len(out["done"]) == 2
    b = tmp_path / "b"
    shutil.copytree(a, b)
    said: list[str] = []
    out = sweep.run(b / "spec.toml", b / "s.parquet", scheduler="synchronous", progress=False,
                    prune=True, log=said.append)
    assert not out["done"] and len(out["skipped"]) == 2, out
    assert any("2 run(s) in" in m and "relabelled" in m for m in said), said
    rows = sweep.read_store(b / "s.parquet")
    assert len(rows) == 4 and set(rows["village"]) == {(b / "v.nc").as_posix()}
    assert set(rows["tariff"]) == {"net_metering", (b / "t.toml").as_posix()}
    assert set(rows["run_id"]) == {t.run_id for t in sweep.load_spec(b / "spec.toml").tasks}


def test_a_scenario_file_and_a_tariff_file_mistaken_for_each_other_are_told_apart(tmp_path):
    """Outside check 11: a tariff file in scenario_files said only "unknown table(s)
    ['tariff']", and a level of one's own named penetration_010 was refused without the way
    to label it so."""
    (tmp_path / "t.toml").write_text("[tariff]\n")
    with pytest.raises(ValueError, match=r"if it is a tariff file, give its path as a scenario "
                                         r"or as a scenario's tariff \(scenarios = \[\"t.toml"):
        sweep.load_spec(_spec(tmp_path, GOOD + 'scenario_files = ["t.toml"]\n'))
    (tmp_path / "lv.toml").write_text('[[scenario]]\nname = "penetration_010"\n'
                                      '[scenario.batteries]\nshare = 0.1\n')
    with pytest.raises(ValueError, match=r"name it in the spec: \{ name = \"penetration_010\", "
                                         r"scenario = \"share_NNN\" \}"):
        sweep.load_spec(_spec(tmp_path, GOOD + 'scenario_files = ["lv.toml"]\n'))


def test_when_the_cluster_loses_work_the_runs_already_done_are_still_written():
    """ClusterLost stopped the sweep at the first lost run, and runs that had finished but
    came later from as_completed were dropped (left from outside check 9)."""
    from distributed.client import FutureCancelledError

    class Fake:
        def __init__(self, status, value):
            self.status, self.value = status, value

        def result(self):
            if isinstance(self.value, BaseException):
                raise self.value
            return self.value

    finished, failed = Fake("finished", "rows"), Fake("error", ValueError("its own error"))
    lost = Fake("cancelled", FutureCancelledError("run-3", reason="lost"))
    waiting = Fake("pending", None)
    runs = {finished: "a", failed: "b", lost: "c", waiting: "d"}
    done = dict(sweep._done_runs(runs))
    assert list(done) == [finished, failed]
    assert done[finished] == "rows" and isinstance(done[failed], ValueError)


def test_a_lost_cluster_still_hands_over_each_finished_run_once(monkeypatch):
    """The wiring of _distributed around _done_runs: as_completed gives the lost run first;
    the run finished before it and the run that failed on its own are still handed over, once
    each; ClusterLost follows; the runs still waiting are cancelled."""
    import distributed
    from distributed.client import FutureCancelledError

    class Fut:
        def __init__(self, key, status, value):
            self.key, self.status, self.value = key, status, value

        def result(self):
            if isinstance(self.value, BaseException):
                raise self.value
            return self.value

    outcome = {"lost": ("cancelled", FutureCancelledError("lost", reason="worker died")),
               "ok": ("finished", "rows"), "bad": ("error", ValueError("its own")),
               "later": ("pending", None)}

    class Client:
        cancelled: list = []

        def run(self, fn):
            return {"w1": fn()}

        def submit(self, fn, *args, key, retries):
            return Fut(key, *outcome[key])

        def cancel(self, futures):
            self.cancelled += [f.key for f in futures]

    monkeypatch.setattr(distributed, "as_completed",
                        lambda futs: iter(sorted(futs, key=lambda f: f.key != "lost")))
    from types import SimpleNamespace

    nodes = [sweep._Node(key, print, (), task=SimpleNamespace(label=lambda k=key: f"run {k}"))
             for key in outcome]
    client = Client()
    got = []
    with pytest.raises(sweep.ClusterLost, match="the cluster lost the work of run lost"):
        for node, value in sweep._distributed(nodes, {}, client):
            got.append((node.key, value))
    assert [k for k, _ in got] == ["ok", "bad"]
    assert got[0][1] == "rows" and isinstance(got[1][1], ValueError)
    assert client.cancelled == ["later"]  # the lost one is gone already

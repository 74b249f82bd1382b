"""Results carry their provenance; summaries count only complete results of one run; ids are safe."""

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from ansen.experiments import Experiment, load_schedule, output_folder
from ansen.provenance import (
    FILENAME,
    check_id,
    data_fingerprint,
    experiment_key,
    invalidate,
    is_current,
    withdraw,
    write_provenance,
)
from ansen.report import included, not_counted, summary_table, write_summary
from ansen.reproduce import plan
from tests.conftest import EXAMPLE_EXPORT

RESULTS = Path(__file__).resolve().parents[1] / "results"

UNSAFE_IDS = ["../escaped", "/tmp/abs", "a/b", "a\\b", "..", ".hidden", "", "with space",
              "x" * 101, "-flag"]


@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_unsafe_ids_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="unsafe experiment id"):
        check_id(bad)


@pytest.mark.parametrize("good", ["E01_M1_summer2024", "S_2024-07-01_M4M5", "run.2", "M4+M5"])
def test_safe_ids_pass(good):
    assert check_id(good) == good


@pytest.mark.parametrize("bad", ["../escaped", "/tmp/abs", "a/b", ".."])
def test_schedule_with_unsafe_id_is_refused_at_load(tmp_path, bad):
    f = tmp_path / "s.toml"
    f.write_text(f'[[experiment]]\nid = "{bad}"\nmodel = "M2"\nstart = "2025-03-29"\n'
                 'end = "2025-03-30"\n')
    with pytest.raises(ValueError, match=r"s.toml: experiment #1: unsafe experiment id"):
        load_schedule(f)


@pytest.mark.parametrize("bad", ["../escaped", "/tmp/abs"])
def test_reproduce_refuses_unsafe_ids(bad):
    with pytest.raises(ValueError, match="--experiments: unsafe experiment id"):
        plan(experiments=[bad])


def test_default_output_folder_is_named_after_the_experiment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = Experiment(id="my_run", model="M2", start="2025-03-29", end="2025-03-30")
    assert output_folder("", exp) == Path("my_run")
    assert not (tmp_path / "my_run").exists()  # made by the first file written: a run that
    # fails before it (a newcomer's -p model M7) leaves no empty folder
    with pytest.raises(ValueError, match="unsafe experiment id"):
        output_folder("", Experiment(id="../up", model="M2", start="2025-03-29",
                                     end="2025-03-30"))
    assert not (tmp_path.parent / "up").exists()
    with pytest.raises(ValueError, match="output_dir out: unsafe experiment id '../up'"):
        output_folder("out", Experiment(id="../up", model="M2", start="2025-03-29",
                                        end="2025-03-30"))


# --------------------------------------------------------------------------- provenance


def _fake_result(root: Path, exp_id: str, source: str = "E01_M1_summer2024", *,
                 data=None, solver="highs") -> Path:
    """A result folder with a real metrics.csv and a provenance written over it."""
    folder = root / exp_id
    folder.mkdir(parents=True)
    metrics = pd.read_csv(RESULTS / source / "metrics.csv").assign(experiment=exp_id)
    metrics.to_csv(folder / "metrics.csv", index=False)
    exp = next(e for e in load_schedule() if e.id == source)
    exp = Experiment(id=exp_id, model=exp.model, start=exp.start, end=exp.end)
    write_provenance(folder, exp, [folder / "metrics.csv"], data=data, solver=solver)
    return folder


def test_provenance_records_what_was_run(tmp_path):
    folder = _fake_result(tmp_path, "E01_M1_summer2024", data=EXAMPLE_EXPORT)
    record = json.loads((folder / FILENAME).read_text())
    assert record["experiment"]["model"] == "M1"
    assert record["data"] == {"path": "tests/data/example_export",
                              "sha256": data_fingerprint(EXAMPLE_EXPORT), "shipped": False}
    assert set(record["files"]) == {"metrics.csv"}
    assert record["package"]["version"] and len(record["package"]["code_sha256"]) == 64
    assert record["written_utc"].endswith("Z")
    assert is_current(folder, record["key"])
    assert not is_current(folder, "another key")


def test_changed_table_or_missing_provenance_is_not_current(tmp_path):
    folder = _fake_result(tmp_path, "E01_M1_summer2024")
    with open(folder / "metrics.csv", "a") as f:
        f.write("\n")
    assert not is_current(folder)
    assert "files changed" in not_counted(tmp_path)["E01_M1_summer2024"]
    folder = _fake_result(tmp_path, "E08_M5_fresh_spring2025")
    invalidate(folder)
    assert not is_current(folder)
    assert "no provenance.json" in not_counted(tmp_path)["E08_M5_fresh_spring2025"]


def test_a_result_in_a_folder_of_another_name_is_left_out_with_the_reason(tmp_path):
    """An experiment written with -p output_dir my_folder (as the README offers) refused the
    whole summary as "a copied or renamed folder?"; now it is left out and said why."""
    _fake_result(tmp_path, "E01_M1_summer2024")
    (tmp_path / "E01_M1_summer2024").rename(tmp_path / "my_folder")
    _fake_result(tmp_path, "E02_M2_summer2024", "E02_M2_summer2024")
    assert list(included(tmp_path)["experiment"]) == ["E02_M2_summer2024"]
    assert "holds experiment 'E01_M1_summer2024': the summary reads each experiment from a " \
        "folder of its id" in not_counted(tmp_path)["my_folder"]


def test_rewriting_the_same_result_leaves_provenance_byte_identical(tmp_path):
    folder = _fake_result(tmp_path, "E01_M1_summer2024")
    before = (folder / FILENAME).read_bytes()
    exp = Experiment(id="E01_M1_summer2024", model="M1", start="2024-07-01", end="2024-07-29")
    invalidate(folder)  # as a new run does first
    write_provenance(folder, exp, [folder / "metrics.csv"])
    assert (folder / FILENAME).read_bytes() == before
    assert {p.name for p in folder.iterdir()} == {"metrics.csv", FILENAME}  # nothing left aside


def test_data_fingerprint_follows_the_content(tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(EXAMPLE_EXPORT, copy)
    assert data_fingerprint(copy) == data_fingerprint(EXAMPLE_EXPORT)
    (copy / "mv.csv").write_text((copy / "mv.csv").read_text().replace("49.15", "49.16", 1))
    assert data_fingerprint(copy) != data_fingerprint(EXAMPLE_EXPORT)


def test_key_depends_on_definition_data_solver_and_code():
    exp = Experiment(id="x", model="M2", start="2025-03-29", end="2025-03-30")
    base = experiment_key(exp, "d", "highs", "c")
    assert base == experiment_key(exp, "d", "highs", "c")
    other = Experiment(id="x", model="M2", start="2025-03-29", end="2025-03-31")
    assert len({base, experiment_key(other, "d", "highs", "c"),
                experiment_key(exp, "e", "highs", "c"), experiment_key(exp, "d", "glpk", "c"),
                experiment_key(exp, "d", "highs", "k")}) == 5


# --------------------------------------------------------------------------- summaries


def test_summary_counts_only_complete_results_and_lists_them(tmp_path):
    _fake_result(tmp_path, "E08_M5_fresh_spring2025", "E08_M5_fresh_spring2025")
    stale = _fake_result(tmp_path, "E11_M5_fresh_autumn2025", "E11_M5_fresh_autumn2025")
    invalidate(stale)  # e.g. its rerun failed: the old tables must not count
    out = write_summary(tmp_path)
    row = out["table"].set_index("figure").loc["M5 MV peak reduction, mean"]
    assert row["experiments"] == "E08_M5_fresh_spring2025"
    assert "not in this run: E11_M5_fresh_autumn2025" in row["note"]
    text = (tmp_path / "summary.md").read_text()
    assert "| E08_M5_fresh_spring2025 | M5 | 2025-04-07 to 2025-05-05 |" in text
    assert "E11_M5_fresh_autumn2025 (no provenance.json" in text
    for name in ("summary.csv", "summary.md", "summary.png", "summary.svg"):
        assert (tmp_path / name).stat().st_size > 0


def test_the_per_experiment_table_tells_the_freshness_rows_apart(tmp_path):
    """Its M5 rows read "F01_freshness M5" four times over, without the forecast and data
    age each is of."""
    _fake_result(tmp_path, "E08_M5_fresh_spring2025", "E08_M5_fresh_spring2025")
    _fake_result(tmp_path, "F01_freshness", "F01_freshness")
    out = write_summary(tmp_path)
    per = out["per_experiment"]
    assert list(per.columns[:3]) == ["model", "forecast", "data_age"]
    # and in summary.md (it was in the notebook only), a row per run, each cell a number or -
    text = (tmp_path / "summary.md").read_text()
    assert text == out["markdown"] and "## Each experiment against M1" in text
    rows = [line for line in text.split("## Each experiment against M1")[1].splitlines()
            if line.startswith("| E08") or line.startswith("| F01")]
    assert len(rows) == len(per)
    fresh = per.loc["F01_freshness"]
    assert not fresh.duplicated(["model", "forecast", "data_age"]).any()
    assert {"perfect forecasts", "real time"} <= set(fresh["data_age"])
    assert per.loc["E08_M5_fresh_spring2025", "forecast"] == ""


def test_summary_refuses_results_of_different_data(tmp_path):
    """The issue's case: E08 rerun on another data file beside an old E11."""
    _fake_result(tmp_path, "E08_M5_fresh_spring2025", "E08_M5_fresh_spring2025",
                 data=EXAMPLE_EXPORT)
    _fake_result(tmp_path, "E11_M5_fresh_autumn2025", "E11_M5_fresh_autumn2025")
    with pytest.raises(ValueError, match="holds results of different runs"):
        summary_table(tmp_path)
    # naming the experiments of one run is fine
    t = summary_table(tmp_path, ["E08_M5_fresh_spring2025"])
    assert t.set_index("figure").loc["M5 MV peak reduction, mean", "experiments"] == \
        "E08_M5_fresh_spring2025"


def test_summary_of_named_experiment_without_result_fails(tmp_path):
    _fake_result(tmp_path, "E08_M5_fresh_spring2025", "E08_M5_fresh_spring2025")
    (tmp_path / "E11_M5_fresh_autumn2025").mkdir()
    with pytest.raises(ValueError, match=r"no complete result .* \['E11_M5_fresh_autumn2025'\]"):
        included(tmp_path, "E08_M5_fresh_spring2025 E11_M5_fresh_autumn2025")


def test_summary_without_any_complete_result_writes_nothing(tmp_path):
    (tmp_path / "E01_M1_summer2024").mkdir()
    shutil.copyfile(RESULTS / "E01_M1_summer2024" / "metrics.csv",
                    tmp_path / "E01_M1_summer2024" / "metrics.csv")
    out = write_summary(tmp_path)
    assert out["files"] == [] and "No complete experiment results" in out["markdown"]
    assert "E01_M1_summer2024: not counted" in out["markdown"]
    assert not (tmp_path / "summary.md").exists()


@pytest.mark.parametrize(("params", "message"), [
    ("shadow_eur_per_kwh = -1", "shadow_eur_per_kwh"),
    ("colour = 3", "unknown parameter(s) ['colour']"),
    ("forecast_lag_days = 400", "forecast_lag_days"),
    ('data_lag = "soon"', "data_lag"),
    ("replan_minutes = 7", "replan_minutes"),
])
def test_schedule_parameters_are_checked_at_load(tmp_path, params, message):
    f = tmp_path / "s.toml"
    f.write_text('[[experiment]]\nid = "E1"\nmodel = "M4"\nstart = "2025-03-29"\n'
                 f'end = "2025-03-30"\nparams = {{ {params} }}\n')
    with pytest.raises(ValueError, match=r"s.toml: experiment E1: ") as exc:
        load_schedule(f)
    assert message in str(exc.value)


def test_a_folder_holding_another_experiment_is_named_before_it_is_replaced(tmp_path):
    """A newcomer's M3 run into the folder of an M5 run replaced it without a word."""
    old = Experiment(id="mine", model="M5", start="2025-04-07", end="2025-04-14")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "metrics.csv").write_text("x")
    write_provenance(folder, old, [folder / "metrics.csv"])
    new = Experiment(id="mine", model="M3", start="2025-04-07", end="2025-04-14")
    with pytest.warns(UserWarning, match=r"output_dir .*out holds the results of experiment "
                                         r"'mine' \(M5, 2025-04-07 to 2025-04-14\); this run of "
                                         r"'mine' \(M3, 2025-04-07 to 2025-04-14\) replaces them"):
        output_folder(folder, new)
    assert not (folder / "metrics.csv").exists()  # withdrawn: nothing stale looks current
    (folder / "metrics.csv").write_text("x")
    write_provenance(folder, old, [folder / "metrics.csv"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same experiment again: a rerun, no word
        output_folder(folder, old)


def test_a_new_result_removes_the_files_an_old_one_listed_and_nothing_else(tmp_path):
    """An experiment written into a folder holding a freshness study left the study's tables
    beside its own: withdraw removes what the old provenance listed (also after output_folder
    set the record aside), never a file it does not list."""
    exp = Experiment(id="F", model="M5", start="2025-04-07", end="2025-04-14", kind="freshness")
    folder = tmp_path / "F"
    folder.mkdir()
    for name in ("freshness.md", "weekly.csv"):
        (folder / name).write_text(name)
    (folder / "notes.txt").write_text("mine")
    write_provenance(folder, exp, [folder / "freshness.md", folder / "weekly.csv"])
    output_folder(folder, exp)  # the notebook's first step: the record set aside
    withdraw(folder)
    assert sorted(f.name for f in folder.iterdir() if not f.name.startswith(".")) == [
        "notes.txt"]
    assert not (folder / FILENAME).exists()


def test_a_new_result_removes_the_temporary_files_of_a_killed_one(tmp_path):
    """A reproduction interrupted while a figure was written left
    .weekly_mv_peak_reduction.png.x7h1x2oo.png, which no rerun removed (outside check 9):
    its process was killed before atomic_path's cleanup ran."""
    import os
    import tempfile
    import time

    folder = tmp_path / "E"
    folder.mkdir()
    hour_ago = time.time() - 3600
    left = tempfile.mkstemp(dir=folder, prefix=".weekly_mv_peak_reduction.png.",
                            suffix=".png")[1]
    os.utime(left, (hour_ago, hour_ago))
    # another process's file being written now; a user's of the same shape but mode
    (folder / ".x.csv.abcdefgh.csv").write_text("mine")
    os.chmod(folder / ".x.csv.abcdefgh.csv", 0o644)
    os.utime(folder / ".x.csv.abcdefgh.csv", (hour_ago, hour_ago))
    writing = tempfile.mkstemp(dir=folder, prefix=".metrics.csv.", suffix=".csv")[1]
    (folder / ".mine.txt").write_text("mine")
    (folder / ".experiment.partial.ipynb").write_text("{}")
    (folder / ".table.csv.notmine.txt").write_text("mine")
    withdraw(folder)
    assert not Path(left).exists()
    assert sorted(f.name for f in folder.iterdir()) == sorted([
        ".experiment.partial.ipynb", ".mine.txt", ".table.csv.notmine.txt",
        ".x.csv.abcdefgh.csv", Path(writing).name])


def test_summary_shows_a_village_outside_the_repository_relative_to_itself(tmp_path):
    """provenance.json records such a village relative to the experiment's folder
    (../../my village/v.nc); the summary one folder up shows it relative to its own."""
    from ansen.report import _data_path

    village = tmp_path / "my village" / "v.nc"
    village.parent.mkdir()
    village.write_text("")
    root = tmp_path / "results"
    (root / "E1").mkdir(parents=True)
    assert _data_path("../../my village/v.nc", root, "E1") == "../my village/v.nc"
    assert _data_path("data/ansen_synthetic.nc", root, "E1") == "data/ansen_synthetic.nc"


def test_summary_notes_about_the_shipped_village_only_on_its_data(tmp_path):
    """Notes written for the shipped village ("ten 5 kW batteries", "weekly peaks ~1 MW")
    appeared on another village's summary (outside check)."""
    shipped, other = tmp_path / "shipped", tmp_path / "other"
    _fake_result(shipped, "E02_M2_summer2024", "E02_M2_summer2024")
    _fake_result(other, "E02_M2_summer2024", "E02_M2_summer2024", data=EXAMPLE_EXPORT)
    row = "M2 LV feed-in change"
    on_shipped = summary_table(shipped).set_index("figure").loc[row, "note"]
    on_other = summary_table(other).set_index("figure").loc[row, "note"]
    assert on_shipped.endswith("the report says 'strong drop' without a number; in the "
                               "shipped village ten 5 kW batteries against transformers that "
                               "feed back 150-250 kW")
    assert on_other.endswith("the report says 'strong drop' without a number")

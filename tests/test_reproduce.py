"""The reproduction: committed results are rebuilt exactly; failures are reported, not fatal."""

from pathlib import Path

import pandas as pd
import pytest

import ansen.data
from ansen.experiments import get_experiment, load_schedule, run_experiment, write_experiment
from ansen.reproduce import reproduce
from tests.conftest import EXAMPLE_EXPORT

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.mark.slow
@pytest.mark.parametrize("exp_id", ["E01_M1_summer2024", "E08_M5_fresh_spring2025"])
def test_rerun_gives_the_committed_tables(tmp_path, exp_id):
    result = run_experiment(ansen.data.load_default(), get_experiment(exp_id), progress=False)
    write_experiment(result, tmp_path)
    for name in ("metrics.csv", "household_costs.csv", "settlement.csv"):
        assert (tmp_path / name).read_bytes() == (RESULTS / exp_id / name).read_bytes(), name


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
    m5 = [e for e in schedule if e.model == "M5"]
    assert m5[0].params["forecast_lag_days"] == 7 and m5[1].params["forecast_lag_days"] == 1
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


@pytest.mark.slow
def test_reproduce_reports_a_failure_and_runs_the_rest(tmp_path):
    schedule = tmp_path / "s.toml"
    schedule.write_text(
        '[[experiment]]\nid = "ok"\nmodel = "M2"\nstart = "2025-03-29"\nend = "2025-03-30"\n\n'
        '[[experiment]]\nid = "outside"\nmodel = "M2"\nstart = "2025-05-01"\n'
        'end = "2025-05-02"\n')
    out = reproduce(tmp_path / "res", data=EXAMPLE_EXPORT, schedule=schedule, jobs=2,
                    progress=False)
    assert set(out["done"]) == {"ok"}
    nb, message = out["failed"]["outside"]
    assert nb.endswith("outside/experiment.ipynb") and "DataError" in message
    assert (tmp_path / "res" / "ok" / "metrics.csv").exists()
    assert out["summary"] is not None and out["summary"].exists()


def test_season_sweep_runs_every_model_in_every_period_with_the_last_settings():
    from ansen.experiments import season_sweep

    schedule = load_schedule()
    sweep = season_sweep(schedule)
    periods = {(e.start, e.end) for e in schedule}
    assert len(sweep) == 7 * len(periods)
    assert len({e.id for e in sweep}) == len(sweep)
    assert all(e.params == {"forecast_lag_days": 1} for e in sweep if e.model == "M5")

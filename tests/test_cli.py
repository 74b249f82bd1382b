"""The command line as a user meets it."""


from ansen.cli import main
from ansen.data import save
from ansen.solvers import available_solvers, glpsol_path


def test_data_summary_prints_ranges(capsys):
    assert main(["data", "summary"]) == 0
    out = capsys.readouterr().out
    for figure in ("household use", "PV yield", "transformer export peak", "MV weekly",
                   "price mean", "negative price hours"):
        assert figure in out


def test_validate_reports_bad_data_without_traceback(village, tmp_path, capsys):
    path = save(village, tmp_path / "ok.nc")
    assert main(["data", "validate", str(path)]) == 0
    bad = village.copy(deep=True)
    bad["load_kw"] = bad["load_kw"] * 1000
    bad.to_netcdf(tmp_path / "w.nc", engine="h5netcdf")
    assert main(["data", "validate", str(tmp_path / "w.nc")]) == 2
    assert "W instead of kW" in capsys.readouterr().err


def test_both_solvers_installed():
    found = available_solvers()
    assert {"highs", "glpk"} <= set(found)
    assert glpsol_path().is_file()


def test_glpsol_resolved_without_activated_venv(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("ANSEN_GLPSOL", raising=False)
    assert glpsol_path().is_file()

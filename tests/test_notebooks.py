"""Notebooks: executable as users run them, deterministic files, thin parameter cells."""

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ansen.notebooks import KERNELSPEC, NOTEBOOKS, execute, kernel_name, normalize
from tests.conftest import EXAMPLE_EXPORT

REPO = NOTEBOOKS.parent
SANITIZE = Path(__file__).parent / "nbval_sanitize.cfg"


@pytest.mark.slow
def test_data_overview_executes_on_example_export(tmp_path):
    out = tmp_path / "overview"
    out.mkdir()
    execute(NOTEBOOKS / "data_overview.ipynb", out / "data_overview.ipynb",
            {"data_path": str(EXAMPLE_EXPORT), "output_dir": "."}, cwd=out)
    for name in ("summary.csv", "seasonal_profiles", "duration_curves", "price_distribution",
                 "sunny_week", "winter_week"):
        for f in ([out / name] if "." in name else [out / f"{name}.png", out / f"{name}.svg"]):
            assert f.stat().st_size > 0, f


@pytest.mark.parametrize("name", ["data_overview", "experiment", "summary", "sweep"])
def test_parameters_cell_holds_literals_only(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    for line in cells[0].source.splitlines():
        name, _, rest = line.partition("=")
        value = rest.split("#")[0].strip()
        assert value.startswith(('"', "'")) or value.replace(".", "").isdigit(), line
        assert "#" in rest, f"{line}: no comment"


@pytest.mark.parametrize("name", ["data_overview", "experiment", "freshness", "summary", "sweep",
                                  "penetration"])
def test_committed_notebooks_are_normalized_and_name_the_ansen_kernel(tmp_path, name):
    src = NOTEBOOKS / f"{name}.ipynb"
    copy = tmp_path / src.name
    shutil.copyfile(src, copy)
    normalize(copy)
    assert copy.read_bytes() == src.read_bytes(), "run `make notebooks`"
    assert json.loads(src.read_text())["metadata"]["kernelspec"] == KERNELSPEC


def test_the_ansen_kernel_is_this_python():
    """`make setup` registers it inside the venv; papermill and nbval find it by name."""
    assert kernel_name() == "ansen"


def _volatile_notebook(path: Path, tmp: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(out)")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-11-22T22:35:59.829351Z"}
    cell.metadata["papermill"] = {"duration": 0.02, "status": "completed"}
    cell.metadata["tags"] = []
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text=f"written to {tmp}/E01/metrics.csv\n"
                                                f"from {REPO}/data/ansen_synthetic.nc\n"
                                                f"see {sys.prefix}/lib\n")]
    cell.execution_count = 1
    md = nbformat.v4.new_markdown_cell("# title")
    nb.cells = [md, cell]
    nb.metadata["papermill"] = {"start_time": "2026-11-22T22:35:59", "input_path": str(path)}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)


def test_normalize_strips_volatile_metadata_and_absolute_paths(tmp_path):
    f = tmp_path / "nb.ipynb"
    _volatile_notebook(f, tmp_path)
    normalize(f, roots={tmp_path: "."})
    text = f.read_text()
    nb = json.loads(text)
    assert nb["metadata"] == {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    assert [c["id"] for c in nb["cells"]] == ["cell-00", "cell-01"]
    assert nb["cells"][1]["metadata"] == {}
    assert "".join(nb["cells"][1]["outputs"][0]["text"]) == (
        "written to ./E01/metrics.csv\nfrom <repo>/data/ansen_synthetic.nc\nsee <python>/lib\n")
    assert str(tmp_path) not in text and "2026-11-22" not in text
    before = f.read_bytes()
    normalize(f, roots={tmp_path: "."})
    assert f.read_bytes() == before


def test_normalize_joins_a_streams_pieces(tmp_path):
    """Lines the kernel sent in pieces (a line per freshness run, as each starts) are one
    output per stream, however the run happened to split them."""
    f = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    out = [nbformat.v4.new_output("stream", name="stderr", text="run 1\n"),
           nbformat.v4.new_output("stream", name="stderr", text="run 2\n"),
           nbformat.v4.new_output("stream", name="stdout", text="table\n"),
           nbformat.v4.new_output("stream", name="stderr", text="run 3\n"),
           nbformat.v4.new_output("execute_result", data={"text/plain": "1"},
                                  execution_count=1),
           nbformat.v4.new_output("stream", name="stderr", text="done\n")]
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=out, execution_count=1)]
    nbformat.write(nb, f)
    normalize(f)
    got = json.loads(f.read_text())["cells"][0]["outputs"]
    assert [(o.get("name"), "".join(o.get("text", ""))) for o in got] == [
        ("stderr", "run 1\nrun 2\n"), ("stdout", "table\n"), ("stderr", "run 3\n"),
        (None, ""), ("stderr", "done\n")]


@pytest.mark.slow
def test_executing_a_notebook_twice_gives_identical_files(tmp_path):
    from tests.test_provenance import _fake_result

    results = tmp_path / "results"
    _fake_result(results, "E08_M5_fresh_spring2025", "E08_M5_fresh_spring2025")
    files = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        files.append(execute(NOTEBOOKS / "summary.ipynb", out / "summary.ipynb",
                             {"results_dir": "../results", "experiments": ""}, cwd=out))
    assert files[0].read_bytes() == files[1].read_bytes()
    assert str(tmp_path) not in files[0].read_text()


@pytest.mark.slow
def test_papermill_as_the_readme_runs_it(tmp_path):
    """A fresh shell with only the venv's papermill: kernel found, output folder printed."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    cmd = [str(Path(sys.executable).parent / "papermill"), str(NOTEBOOKS / "experiment.ipynb"),
           "out.ipynb", "-p", "experiment_id", "", "-p", "name", "tiny", "-p", "model", "M2",
           "-p", "start", "2025-03-29", "-p", "end", "2025-03-30", "-p", "data_path",
           str(EXAMPLE_EXPORT)]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True,
                          text=True)
    for noise in ("without encryption", "KeyboardInterrupt caught in kernel"):
        assert noise not in done.stderr + done.stdout, noise
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"]
                      for o in c.get("outputs", []))
    assert "go to: tiny/" in printed
    assert (tmp_path / "tiny" / "provenance.json").is_file()
    assert nb["metadata"]["kernelspec"]["name"] == "ansen"


def test_a_village_without_the_default_experiment_s_period_is_told_which_experiment(tmp_path):
    """Only data_path given: the notebook ran its default experiment (E08) and failed on
    "data start at ..., after the requested start" without naming it."""
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match=r"experiment E08_M5_fresh_spring2025 "
                                                         r"\(2025-04-07 to .*\) is not in the "
                                                         r"data: .*give -p experiment_id ''"):
        execute(NOTEBOOKS / "experiment.ipynb", tmp_path / "out.ipynb",
                {"data_path": str(EXAMPLE_EXPORT)}, cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["out.ipynb"]  # no result folder begun


def _sanitizers():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(SANITIZE)
    return {s: (cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()}


#: For every sanitiser: a sample it must replace (-> expected) and one it must leave alone.
SAMPLES = {
    "memory addresses": ("<Figure size 800x400 at 0x7f3a2c1d9e50>",
                         "<Figure size 800x400 at 0xADDRESS>", "0x10 is sixteen"),
    "temporary folders": ("wrote /tmp/tmpab_c12/summary.csv and /tmp/pytest-of-root/p0/x.csv",
                          "wrote TMPDIR and TMPDIR", "/tmpfile and results/E01"),
    "provenance times": ("| E01 | highs | 2026-11-23T04:38:50Z |",
                         "| E01 | highs | YYYY-MM-DDTHH:MM:SSZ |",
                         "start 2024-07-01 00:00:00+02:00"),
}


def test_every_sanitizer_has_samples():
    assert set(_sanitizers()) == set(SAMPLES)


@pytest.mark.parametrize("section", SAMPLES)
def test_sanitizer_replaces_what_it_is_meant_to(section):
    regex, replace = _sanitizers()[section]
    sample, expected, untouched = SAMPLES[section]
    assert re.sub(regex, replace, sample) == expected
    assert re.sub(regex, replace, untouched) == untouched


@pytest.mark.parametrize("name", ["experiment", "freshness", "summary", "sweep", "penetration"])
def test_committed_notebooks_are_what_the_builder_writes(name):
    """An edit of notebooks/_build_notebooks.py not followed by `make notebooks` left the
    committed penetration notebook without its new cells (papermill ran the old ones)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_build", NOTEBOOKS / "_build_notebooks.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    built = getattr(build, name)
    committed = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in built.cells], f"run `make notebooks` ({name})"


def test_season_legends_list_only_the_seasons_the_data_hold():
    """A spring-to-summer export's profiles listed winter and autumn in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import ansen.data
    from ansen import plots

    v = ansen.data.load_default("2025-04-01", "2025-06-30").sel(
        time=slice("2025-04-01", "2025-06-29"))
    for ax in (plots.seasonal_profiles(v), plots.price_distribution(v)):
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "spring" in labels and "winter" not in labels and "autumn" not in labels


def test_seasons_turn_round_south_of_the_equator():
    """A Sydney January is summer; a village without a latitude is taken to be northern."""
    import pandas as pd
    import xarray as xr

    from ansen.data.schema import seasons

    times = pd.DatetimeIndex(["2025-01-15", "2025-04-15", "2025-07-15", "2025-10-15"])
    north = xr.Dataset(attrs={"latitude": 52.9})
    south = xr.Dataset(attrs={"latitude": -33.9})
    assert list(seasons(north, times)) == ["winter", "spring", "summer", "autumn"]
    assert list(seasons(south, times)) == ["summer", "autumn", "winter", "spring"]
    assert list(seasons(xr.Dataset(), times)) == ["winter", "spring", "summer", "autumn"]


def test_the_winter_week_is_a_winter_week_south_of_the_equator():
    """A Sydney village whose load peaks in summer (air conditioning) showed a 'winter week'
    of 30 December."""
    import numpy as np
    import pandas as pd

    from ansen import plots
    from tests.conftest import tiny

    v = tiny(days=365, start="2024-07-01", minutes=60)
    t = pd.DatetimeIndex(v["time"].values)
    cooling = 1.0 + np.cos(2 * np.pi * (t.day_of_year.to_numpy() - 15) / 365)  # most in January
    v["load_kw"] = v["load_kw"] * cooling[:, None]
    v.attrs.update(latitude=-33.87, timezone="UTC")
    assert plots.winter_week(v).month in (6, 7, 8)
    v.attrs["latitude"] = 52.8  # the north: January is winter, and also the most load
    assert plots.winter_week(v).month in (12, 1, 2)
    short = tiny(days=9, start="2025-04-07")  # no winter: the week of most load
    assert plots.winter_week(short) == pd.Timestamp("2025-04-07", tz="Europe/Amsterdam")

"""The notebooks execute through papermill, as users and `ansen overview` run them."""

from pathlib import Path

import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_data_overview_executes_on_example_export(tmp_path):
    out = tmp_path / "overview"
    pm.execute_notebook(
        str(NOTEBOOKS / "data_overview.ipynb"), str(tmp_path / "executed.ipynb"),
        parameters={"data_path": str(Path(__file__).parent / "data" / "example_export"),
                    "output_dir": str(out)},
        cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3",
    )
    for name in ("summary.csv", "seasonal_profiles.png", "duration_curves.png",
                 "price_distribution.png", "sunny_week.png", "winter_week.png"):
        assert (out / name).stat().st_size > 0, name


def test_parameters_cell_holds_literals_only():
    import nbformat

    nb = nbformat.read(NOTEBOOKS / "data_overview.ipynb", as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    for line in cells[0].source.splitlines():
        name, _, rest = line.partition("=")
        value = rest.split("#")[0].strip()
        assert value.startswith(('"', "'")) or value.replace(".", "").isdigit(), line

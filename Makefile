# Everything a newcomer needs, from a machine with only Python >= 3.11 and make.
# `make reproduce` : set up and run the main job on the shipped data
# `make test`      : set up and run the test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup reproduce test lint notebooks data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,synth]"
	$(BIN)/python -m ipykernel install --sys-prefix --name ansen --display-name "Python (ansen)" >/dev/null
	$(BIN)/ansen doctor
	touch $(STAMP)

setup: $(STAMP)

reproduce: setup
	$(BIN)/ansen data summary
	$(BIN)/ansen overview --output results/data_overview
	$(BIN)/ansen reproduce --output results

test: setup
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -p no:cacheprovider --nbval notebooks \
		--nbval-sanitize-with tests/nbval_sanitize.cfg

notebooks: setup
	$(BIN)/python notebooks/_build_notebooks.py
	cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		data_overview.ipynb experiment.ipynb summary.ipynb

lint: setup
	$(BIN)/ruff check ansen tests

data: setup
	$(BIN)/ansen data synthesize --output data/ansen_synthetic.nc

clean:
	rm -rf $(VENV) .pytest_cache

# Everything a newcomer needs, from a machine with only Python >= 3.11 and make.
# `make reproduce` : set up and run the main job on the shipped data
# `make test`      : set up and run the test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup reproduce penetration test lint notebooks data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,synth]"
	$(BIN)/python -m ansen.notebooks --install-kernel >/dev/null
	$(BIN)/ansen doctor
	touch $(STAMP)

setup: $(STAMP)

reproduce: setup
	$(BIN)/ansen data summary
	$(BIN)/ansen overview --output results/data_overview
	$(BIN)/ansen reproduce --output results

# the penetration sweep (issue #11): 10-140 batteries x models x seasons, neighbourhood batteries
penetration: setup
	$(BIN)/ansen reproduce --penetration --output results/penetration

# nbval runs a copy of the notebooks in a scratch folder: the experiment notebook writes its
# default output folder into its working directory, which must not be the repository.
test: setup
	$(BIN)/python -m pytest
	tmp=$$(mktemp -d) && cp notebooks/*.ipynb "$$tmp"/ && \
	$(BIN)/python -m pytest -p no:cacheprovider --rootdir="$$tmp" -c /dev/null --nbval "$$tmp" \
		--nbval-sanitize-with tests/nbval_sanitize.cfg; \
	status=$$?; rm -rf "$$tmp"; exit $$status

# rebuild notebooks/*.ipynb from _build_notebooks.py and execute them in place (deterministic)
notebooks: setup
	$(BIN)/python notebooks/_build_notebooks.py
	$(BIN)/python -m ansen.notebooks data_overview experiment freshness summary sweep \
		penetration

lint: setup
	$(BIN)/ruff check ansen tests

data: setup
	$(BIN)/ansen data synthesize --output data/ansen_synthetic.nc

clean:
	rm -rf $(VENV) .pytest_cache

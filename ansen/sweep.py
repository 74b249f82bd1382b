"""Sweeps: a grid of runs on dask.distributed, into one tidy Parquet store.

A *grid* crosses villages x scenarios x models x periods x parameter sets
(:func:`grid`, or a TOML spec read by :func:`load_spec`); :func:`run` computes
every point of it as a task on a dask.distributed cluster (a
``LocalCluster`` on this machine by default, one single-threaded worker per
core, or the scheduler of a real cluster) and writes the measures of
:func:`ansen.metrics.compare` into one Parquet file, the *store*.

The store has one row per run and baseline: each run is compared with M1
(the pilot's baseline) and with no battery, over the same village, scenario
and period, giving two rows that differ in the ``baseline`` column (the same
long shape as an experiment's ``metrics.csv``, so every measure keeps one
column name). Each row carries its provenance: ``task_key`` (SHA-256 of the
run's definition, the data's SHA-256, the code's SHA-256 and the package
version, as :mod:`ansen.provenance` computes them, and of the definitions of
the named scenarios of data/scenarios.toml it derives), ``code_sha256``,
``version``, ``solver``, ``seconds`` (wall time of the run on its worker)
and ``finished_utc``. :data:`STORE_COLUMNS` lists the columns. A measure a run
cannot have is NaN, and the row stays: ``mv_peak_reduction_*`` needs a
calendar week with at least three days in the period, and
``mv_peak_reduction_weeks`` beside it counts those weeks (0 there is why a
period of two days has no MV peak reduction). A run that failed has no rows;
the store's metadata keeps why (``read_store(path).attrs["failed"]``: run id ->
label, error, task key and time), until a later sweep runs it.

Reruns: a run whose two rows are in the store with the same ``task_key`` is
skipped; when the code or the data changed, its key changed: it runs again
and its old rows (same ``run_id``: the same grid point) are replaced. A
changed definition is another grid point (but an edited tariff file is the same point
under other terms: its runs rerun in place, :func:`tariff_file`). Rows of points outside the grid
are kept (a store can grow by several grids, or by parts of one) unless
``prune``. Every write replaces the file atomically (a new file renamed over
the old one), after finished runs at most every ``flush_seconds`` and at the
end, also after Ctrl-C or a failure.

Baselines: M1 and no battery are simulated once per village, scenario and
period, as tasks the runs depend on; a run of M1 or ``none`` itself (without
parameters) reuses them. The village is loaded and checked once in the
client and sent to the cluster once; the model runs stay on their workers,
only the rows come back.

Why Parquet: the results are a table of mixed columns (ids, hashes, JSON of
parameters, floats), one row per run and baseline, not a grid of labelled
arrays (parameter sets are irregular), which is what NetCDF is for. Parquet
keeps each column's type, is small, and is read by pandas, polars, DuckDB, R
and Spark without ansen.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BASELINES", "EXAMPLE_STORE", "SPECS", "STORE_COLUMNS", "TABLE_METRICS", "TARIFFS",
           "Grid", "Period", "Task", "Village", "apply_scenario", "baseline_groups",
           "check_periods", "check_scenarios", "check_tariffs",
           "client", "cross_model_table", "grid", "load_spec", "markdown", "pending", "provenance",
           "read_store", "run",
           "tariff", "tariff_file", "tariff_label", "write_report"]

#: Folder of the shipped sweep specs (``season.toml``, ``example.toml``).
SPECS = Path(__file__).resolve().parents[1] / "data" / "sweeps"
#: A small store of ``example.toml`` shipped for the sweep notebook's default.
EXAMPLE_STORE = SPECS / "example.parquet"
#: Baselines every run is compared with, each computed once per village, scenario and period.
BASELINES = ("M1", "none")

#: Tariffs a scenario can name with its ``tariff`` key.
TARIFFS = {
    "net_metering": "ansen.tariffs.Tariff()",
    "2027": "ansen.tariffs.Tariff.after_net_metering()",
    "2027_legal_minimum": "ansen.tariffs.Tariff.after_net_metering(feed_in_share=0.5)",
}

#: Keys of a spec file; each but name, description and schedule may also be set per [[grid]].
SPEC_KEYS = ("name", "description", "schedule", "scenario_files", "villages", "scenarios",
             "models", "periods", "parameters", "solver", "grid")
GRID_KEYS = ("villages", "scenarios", "models", "periods", "parameters", "solver")

#: Version of the store's layout (in the Parquet schema's metadata).
STORE_FORMAT = "1"

#: The store's columns before the measures of :func:`ansen.metrics.compare` and after them.
DEFINITION_COLUMNS = ["run_id", "village", "scenario", "tariff", "model", "params", "period",
                      "season", "start", "end", "solver", "baseline", "scenario_json",
                      "params_json"]
VILLAGE_COLUMNS = ["battery_sites", "battery_kwh_total", "battery_kw_total"]
PROVENANCE_COLUMNS = ["solves", "solve_seconds", "clipped_steps", "guard_steps", "guard_kwh",
                      "fallbacks",
                      "warmup_decisions", "padded_decisions", "plan_method", "class_plans_bounded",
                      "class_plans_not_bounded", "class_plan_gap_mean_eur",
                      "class_plan_gap_share_pct", "seconds",
                      "task_key", "data_sha256", "code_sha256", "version", "finished_utc"]
#: Every column of the store, in order; the measures of compare() stand between
#: the definition (and village) columns and the provenance columns.
STORE_COLUMNS = (*DEFINITION_COLUMNS, *VILLAGE_COLUMNS, "<measures of ansen.metrics.compare>",
                 *PROVENANCE_COLUMNS)
#: Columns that label a grid point without changing what is computed (refreshed from the grid).
LABEL_COLUMNS = ["period", "season", "params", "scenario"]


# --------------------------------------------------------------------------- the grid


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _sha(value) -> str:
    return hashlib.sha256(_canonical(value).encode()).hexdigest()


@dataclass(frozen=True)
class Village:
    """A village of the grid: the shipped one, a file or export folder, or a Dataset.

    ``label`` names it in the store (``default``, a path, or the Dataset's
    name); ``sha256`` is the SHA-256 of its data (:func:`ansen.provenance.data_fingerprint`
    for files, of the arrays and attributes for a Dataset).
    """

    label: str
    sha256: str
    path: Path | None = None
    dataset: object = field(default=None, compare=False, repr=False)

    def load(self):
        """The village Dataset (loaded and validated)."""
        if self.dataset is not None:
            return self.dataset
        import ansen.data

        return ansen.data.load(self.path) if self.path else ansen.data.load_default()


@dataclass(frozen=True)
class Period:
    """A period of the grid: local dates, ``end`` exclusive.

    ``name`` labels it (an experiment id for periods of the schedule);
    ``ids`` are every schedule experiment over it (for selection).
    """

    start: str
    end: str
    name: str = ""
    season: str = ""
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One point of a grid: a model over a period of a (derived) village.

    ``scenario_json`` holds the scenario's ``tariff`` and the recipe for
    :func:`apply_scenario`; ``params_json`` the keywords of
    :func:`ansen.simulate` and of the model (without ``solver``), the set
    named ``params_name``. Both are canonical JSON (sorted keys).
    """

    village: Village
    scenario_name: str
    scenario_json: str
    model: str
    period: Period
    params_name: str
    params_json: str
    solver: str

    @property
    def scenario(self) -> dict:
        return json.loads(self.scenario_json)

    @property
    def params(self) -> dict:
        return json.loads(self.params_json)

    def definition(self) -> dict:
        """What the run computes (without labels and without the village's identity)."""
        return {"scenario": self.scenario, "model": self.model, "start": self.period.start,
                "end": self.period.end, "params": self.params, "solver": self.solver}

    @property
    def run_id(self) -> str:
        """The grid point: definition and village label (16 hex digits); a tariff file by
        its label (its terms are in the key: an edited file reruns the point)."""
        definition = self.definition()
        definition["scenario"] = _labelled(definition["scenario"])
        return _sha({**definition, "village": self.village.label})[:16]

    def key(self, code_sha256: str) -> str:
        """SHA-256 of the definition, the village's data, the code and the package version,
        and of the definitions of the named scenarios it derives (data/scenarios.toml is
        data, not code: an edited named scenario reruns the runs that use it)."""
        import ansen

        definition = self.definition()  # a tariff file by its terms (the data), not its
        # path (a label, as a village's path is): a moved folder's runs stay done
        if isinstance(definition["scenario"].get("tariff"), dict):
            definition["scenario"]["tariff"] = definition["scenario"]["tariff"]["terms"]
        return _sha({"run": definition, "data": self.village.sha256,
                     "code": code_sha256, "version": ansen.__version__,
                     "named": _named_definitions(self.scenario)})

    @property
    def group(self) -> tuple:
        """What the baselines depend on: village data, scenario and period."""
        return (self.village.sha256, self.scenario_json, self.period.start, self.period.end)

    def label(self) -> str:
        """A readable name: model, period, and the scenario, parameter set and village where
        they are not the defaults."""
        parts = [self.model, f"{self.period.start}:{self.period.end}"]
        if self.scenario_name != "none":
            parts.append(self.scenario_name)
        if self.params_name not in ("defaults", "schedule", ""):
            parts.append(self.params_name)
        if self.village.label != "default":
            parts.append(self.village.label)
        return " ".join(parts)


@dataclass(frozen=True)
class Grid:
    """The tasks of a sweep, in the order they were listed (:func:`grid`, :func:`load_spec`)."""

    name: str
    tasks: tuple[Task, ...]
    description: str = ""
    #: Where a spec's scenario took its parts from, by the scenario's name: its scenario
    #: files' scenarios and files (what an error about the derived village names).
    origins: dict = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.tasks)

    def select(self, models=None, periods=None) -> Grid:
        """The tasks of some models and periods.

        Parameters
        ----------
        models : list of str, optional
            Model ids.
        periods : list of str, optional
            Each a period name, an experiment id of the schedule over that
            period, a season (``winter``, ``spring``, ``summer``, ``autumn``)
            or ``START:END``.

        Raises
        ------
        ValueError
            A model or period the grid does not hold (the message lists them).
        """
        tasks = list(self.tasks)
        if models:
            known = list(dict.fromkeys(t.model for t in tasks))
            if unknown := [m for m in models if m not in known]:
                raise ValueError(f"model(s) {unknown} not in sweep {self.name!r}; it has "
                                 f"{', '.join(known)}")
            tasks = [t for t in tasks if t.model in set(models)]
        if periods:
            all_periods = list(dict.fromkeys(t.period for t in tasks))
            chosen = set()
            for p in periods:
                match = {q for q in all_periods
                         if p in (q.name, q.season, f"{q.start}:{q.end}", *q.ids)}
                if not match:
                    ids = list(dict.fromkeys(i for q in all_periods for i in (q.ids or (q.name,))))
                    seasons = sorted({q.season for q in all_periods if q.season})
                    raise ValueError(
                        f"unknown period {p!r}: give a period's name or experiment id "
                        f"({', '.join(ids)}), a season ({', '.join(seasons) or 'none'}) or "
                        "START:END of a period of the sweep")
                chosen |= match
            tasks = [t for t in tasks if t.period in chosen]
        return replace(self, tasks=tuple(tasks))


def _dataset_sha256(ds) -> str:
    """SHA-256 of a Dataset's variables, coordinates and attributes (for in-memory villages)."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        values = np.ascontiguousarray(ds.variables[name].values)
        h.update(_canonical([name, list(ds.variables[name].dims), str(values.dtype),
                             values.shape]).encode())
        h.update(_canonical(values.tolist()).encode() if values.dtype == object
                 else values.tobytes())
    h.update(_canonical(ds.attrs).encode())
    return h.hexdigest()


def _village(source, base: Path | None) -> Village:
    from ansen.provenance import data_fingerprint

    if hasattr(source, "data_vars"):  # an xarray.Dataset
        sha = _dataset_sha256(source)
        return Village(label=f"{source.attrs.get('name', 'dataset')}@{sha[:12]}", sha256=sha,
                       dataset=source)
    if not isinstance(source, (str, os.PathLike)) or not str(source):
        raise ValueError(f"village {source!r}: give \"default\" or the path of a village file "
                         "or export folder")
    if str(source) == "default":
        return Village(label="default", sha256=data_fingerprint(None))
    path = Path(source)
    if base is not None and not path.is_absolute():
        path = base / path
    path = path.resolve()
    sha = data_fingerprint(path)  # FileNotFoundError "no village at ..." if missing
    return Village(label=_path_label(path), sha256=sha, path=path)


def _path_label(path: Path) -> str:
    """How the store labels a file of a grid (a village, a tariff file): relative to the
    repository when in it, else absolute."""
    from ansen.provenance import REPOSITORY

    return (path.relative_to(REPOSITORY).as_posix() if path.is_relative_to(REPOSITORY)
            else path.as_posix())


def tariff(name):
    """The :class:`ansen.tariffs.Tariff` of a scenario's ``tariff``.

    ``name``: a key of :data:`TARIFFS`, or a tariff file as a recipe holds it
    (``{"file": ..., "terms": ...}``, :func:`tariff_file`).
    """
    from ansen.tariffs import Tariff

    if isinstance(name, dict):
        return _from_terms(name)
    if name not in TARIFFS:
        raise ValueError(f"unknown tariff {name!r}; known: {', '.join(TARIFFS)}, or a tariff "
                         "file (a path ending in .toml)")
    if name == "net_metering":
        return Tariff()
    return Tariff.after_net_metering(feed_in_share=0.5 if name == "2027_legal_minimum" else 1.0)


#: The fields of a Tariff that are tables of year -> value (JSON keeps their years as text).
_BY_YEAR = ("energy_tax", "tax_reduction_eur_per_year")


def tariff_file(given, base: Path | None = None) -> dict:
    """A tariff file (:func:`ansen.tariffs.read_tariff`) as a scenario's recipe holds it.

    ``{"file": label, "terms": every field of the Tariff}``: the file's path labels the
    runs (the store's ``tariff`` column; as a village's: relative to the repository when
    in it, else absolute, so that two spellings of one file are one label and two files of
    one name in other folders are two), and the terms, not the path, are what the runs
    compute with, so an edited file reruns them in place (their ``task_key``; their
    ``run_id`` keeps the label) and the workers never read the file. ``base``: the folder
    a relative path is read from (the spec's; default the working directory).

    Raises
    ------
    FileNotFoundError
        No file there.
    ValueError
        The file's own errors, naming it and the key (:func:`ansen.tariffs.read_tariff`);
        a scenario file given as a tariff file.
    """
    from dataclasses import fields

    from ansen.io import read_toml
    from ansen.tariffs import read_tariff

    path = Path(given)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    path = Path(os.path.abspath(path))  # ./ and ../ spelled out
    if not path.is_file():
        raise FileNotFoundError(f"no tariff file at {path}")
    if "scenario" in (doc := read_toml(path, "tariff file")) and "tariff" not in doc:
        raise ValueError(f"{path}: a scenario file (its [[scenario]] tables), not a tariff "
                         "file: list it in the spec's scenario_files and name its scenarios")
    t = read_tariff(path)
    terms = {f.name: getattr(t, f.name) for f in fields(t)}
    for name in _BY_YEAR:
        terms[name] = {str(year): value for year, value in sorted(terms[name].items())}
    return {"file": _path_label(path), "terms": terms}


def _is_tariff_file(value) -> bool:
    return isinstance(value, (str, os.PathLike)) and os.fspath(value).lower().endswith(".toml")


def _from_terms(value: dict):
    """The Tariff of a recipe's tariff file (:func:`tariff_file`)."""
    from dataclasses import fields

    from ansen.tariffs import Tariff

    names = {f.name for f in fields(Tariff)}
    terms = value.get("terms")
    if set(value) != {"file", "terms"} or not isinstance(terms, dict) or set(terms) != names:
        raise ValueError(f"tariff = a table with key(s) {sorted(value)}: a tariff is a name "
                         f"({', '.join(TARIFFS)}) or the path of a tariff file (ending in "
                         ".toml, a [tariff] table: ansen.tariffs.read_tariff), not a table")
    try:
        terms = dict(terms)
        for name in _BY_YEAR:
            terms[name] = {int(year): float(v) for year, v in terms[name].items()}
        return Tariff(**terms)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"tariff file {value['file']}: {exc}") from None


def tariff_label(name) -> str:
    """How the store names a scenario's tariff: its key, or its file's label
    (:func:`tariff_file`)."""
    return str(name["file"]) if isinstance(name, dict) else str(name)


def _with_tariff_files(value, base: Path | None, where: str):
    """A spec's scenario with a tariff file (a path ending in ``.toml``) read into its recipe.

    A scenario may be the path itself (a run under that tariff, named by the path) or a
    table whose ``tariff`` is the path.
    """
    def read(given):
        try:
            return tariff_file(given, base)
        except (FileNotFoundError, ValueError) as exc:
            label = value.get("name", given) if isinstance(value, dict) else value
            raise type(exc)(f"{where}: scenario {os.fspath(label)!r}: tariff: {exc}"
                            + (" (a relative path is read from the spec's folder, "
                               f"{base})" if base is not None and not Path(given).is_absolute()
                               and isinstance(exc, FileNotFoundError) else "")) from None

    if _is_tariff_file(value):
        return {"name": os.fspath(value), "tariff": read(value)}
    if isinstance(value, dict) and _is_tariff_file(value.get("tariff")):
        return {**value, "tariff": read(value["tariff"])}
    return value


def _table_name(table: dict) -> str:
    """A scenario table's name: its ``name``, else its recipe's JSON (a tariff file by its
    label)."""
    recipe = {k: v for k, v in table.items() if k != "name"}
    return str(table.get("name", "") or _canonical(_labelled(recipe)))


def _labelled(recipe: dict) -> dict:
    """A recipe with a tariff file's terms left out (its label stays): what names and
    messages show of it."""
    if isinstance(recipe.get("tariff"), dict):
        return {**recipe, "tariff": tariff_label(recipe["tariff"])}
    return recipe


def _scenario(value, where: str) -> tuple[str, str]:
    """(name, canonical JSON of the recipe) of a scenario given by name or as a table."""
    if isinstance(value, str) and value:
        name = value
        if value == "none":
            recipe = {"tariff": "net_metering"}
        elif value in TARIFFS:
            recipe = {"tariff": value}
        else:
            recipe = {"scenario": value}  # the tariff: what the named scenario states
    elif isinstance(value, dict):
        recipe = dict(value)
        name = _table_name(recipe)
        recipe.pop("name", None)
    else:
        raise ValueError(f"{where}: a scenario is a name (\"none\", \"net_metering\", \"2027\") "
                         f"or a table such as {{ name = \"p40\", tariff = \"2027\" }}, got "
                         f"{value!r}")
    if "tariff" in recipe:
        given = recipe["tariff"]
        if isinstance(given, dict):
            try:
                tariff(given)
            except ValueError as exc:
                raise ValueError(f"{where}: scenario {name!r}: {exc}") from None
        elif not isinstance(given, str) or given not in TARIFFS:
            raise ValueError(f"{where}: scenario {name!r}: unknown tariff {given!r}; known: "
                             f"{', '.join(TARIFFS)}, or a tariff file (a path ending in .toml)")
    stated = None  # the tariff the derived village's recipe states, as a key of TARIFFS
    if any(k != "tariff" for k in recipe):
        from ansen.scenarios import Scenario, load_scenarios

        names = recipe.get("scenario", [])
        names = [names] if isinstance(names, str) else names
        known = load_scenarios()
        if not isinstance(names, list):
            raise ValueError(f"{where}: scenario {name!r}: scenario = {names!r}: give the name "
                             "of a scenario or a list of names")
        unknown = [n for n in names if not isinstance(n, (str, dict))
                   or isinstance(n, str) and n not in known]
        if unknown:
            raise ValueError(f"{where}: scenario {name!r}: unknown named scenario(s) "
                             f"{unknown}; known: {', '.join(known)}")
        derived = []
        for i, n in enumerate(names):  # named ones, and tables of a scenario file's parts
            if isinstance(n, str):
                derived.append(known[n])
                continue
            # a table (what a spec's scenario_files' scenario in a chain becomes): named, by
            # a name neither shipped nor a tariff, and once in the chain
            label = n.get("name")
            if not isinstance(label, str) or label in known or label in ("none", *TARIFFS) \
                    or any(isinstance(m, dict) and m.get("name") == label and m != n
                           for m in names[:i]):  # the same table twice is the same scenario
                raise ValueError(f"{where}: scenario {name!r}: entry {i + 1} of its chain is a "
                                 f"table named {label!r}; a table in a chain needs a name of "
                                 "its own, not a shipped scenario's, a tariff's or another "
                                 "table's of the chain with other parts (write it in a "
                                 "scenario file of the spec's scenario_files and name it "
                                 "there)")
            try:
                derived.append(Scenario.from_dict(n, f"table {label!r} of the chain"))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: scenario {name!r}: {exc}") from None
        if parts := {k: v for k, v in recipe.items() if k not in ("scenario", "tariff")}:
            try:
                derived.append(Scenario.from_dict({"name": "sweep", **parts},
                                                  f"{where}: scenario {name!r}"))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: scenario {name!r}: {exc}") from None
        for sc in derived:  # the last one that states a tariff decides (ansen.scenarios.tariff_of)
            if sc.tariff_regime is not None:
                stated = _tariff_key(sc.tariff())
    given = recipe.get("tariff", stated)
    from ansen.tariffs import regime_differences, regime_settings

    if stated is not None and isinstance(given, dict):  # a file: its regime must be the one
        # stated (its taxes may differ: the years the package has none for)
        if differ := regime_differences(tariff(stated), tariff(given)):
            raise ValueError(
                f"{where}: scenario {name!r}: tariff file {given['file']}, but the derived "
                f"village's recipe states {stated!r} (tariff_regime of the scenario(s) it "
                f"derives); set {regime_settings(tariff(stated), differ)} in the file")
    elif stated is not None and given != stated:
        raise ValueError(f"{where}: scenario {name!r}: tariff {recipe['tariff']!r}, but the "
                         f"derived village's recipe states {stated!r} (tariff_regime of the "
                         "scenario(s) it derives); drop one of the two")
    recipe.setdefault("tariff", stated or "net_metering")
    return name, _canonical(recipe)


def apply_scenario(village, scenario: dict, name: str = "sweep"):
    """Derive the village of a scenario and choose its tariff (the hook to ansen.scenarios).

    Parameters
    ----------
    village : xarray.Dataset
    scenario : dict
        ``tariff``: a key of :data:`TARIFFS` (default ``"net_metering"``) or a
        tariff file as :func:`tariff_file` reads it into a recipe;
        ``scenario``: the name, or a list of names, of scenarios of
        ``data/scenarios.toml`` derived one after the other (an entry of the
        list may be a table of a scenario's parts with its ``name``: a
        scenario of the spec's ``scenario_files`` within a chain); every other key
        (``batteries``, ``neighbourhood``, ``growth``) is a part of an
        :class:`ansen.scenarios.Scenario` derived after them. The tariff is
        the sweep's (``tariff``); a spec that leaves it out gets the one the
        derived scenarios state (``tariff_regime``, ``feed_in``: the last
        that states one), else net metering, and one that contradicts them is
        refused when the spec is read.
    name : str
        The sweep scenario's name: the derived village's scenario name (when
        it is a safe name) and the name its errors give.

    Returns
    -------
    (xarray.Dataset, ansen.tariffs.Tariff)
        The derived village (``village`` itself when only the tariff is
        chosen) and the tariff of the cost models and the bills.
    """
    recipe = dict(scenario)
    chosen = tariff(recipe.pop("tariff", "net_metering"))
    if recipe:
        from ansen.scenarios import Scenario, derive

        names = recipe.pop("scenario", [])
        for step in [names] if isinstance(names, str) else names:  # in order: named ones,
            # and tables of a scenario file's parts with their name
            village = derive(village, step if isinstance(step, str) else Scenario.from_dict(
                step, f"sweep scenario {name!r}"))
        if recipe:  # then the spec's own parts (batteries, neighbourhood, growth, ...)
            from ansen.provenance import SAFE_ID

            own = name if SAFE_ID.fullmatch(name) else "sweep"
            village = derive(village, Scenario.from_dict({"name": own, **recipe},
                                                         f"sweep scenario {name!r}"))
    return village, chosen


def _periods(value, schedule, where: str) -> list[Period]:
    from ansen.experiments import check_period, load_schedule

    if value == "schedule":
        out: dict[tuple, Period] = {}
        for e in load_schedule(schedule):
            if e.kind != "run":
                continue  # studies (freshness) are not periods
            k = (e.start, e.end)
            # named "period of <id>": a table of every model over it must not read as the
            # experiment's own model and data age (E05_M5_weekold_...)
            out[k] = (replace(out[k], ids=(*out[k].ids, e.id)) if k in out
                      else Period(e.start, e.end, name=f"period of {e.id}", season=e.season,
                                  ids=(e.id,)))
        return list(out.values())
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: periods must be \"schedule\" or a list of [start, end] pairs "
                         "or tables { start, end, name, season }")
    periods = []
    for i, p in enumerate(value):
        if isinstance(p, list) and len(p) == 2:
            p = {"start": p[0], "end": p[1]}
        if not isinstance(p, dict):
            raise ValueError(f"{where}: period #{i + 1} {p!r}: write [start, end] or "
                             "{ start = ..., end = ... }")
        if unknown := sorted(set(p) - {"start", "end", "name", "season"}):
            raise ValueError(f"{where}: period #{i + 1}: unknown key(s) {unknown}; known: start, "
                             "end, name, season")
        if "start" not in p or "end" not in p:
            raise ValueError(f"{where}: period #{i + 1} lacks start or end")
        start, end = check_period(p["start"], p["end"], f"{where}: period #{i + 1}")
        periods.append(Period(start, end, name=str(p.get("name", f"{start}:{end}")),
                              season=str(p.get("season", ""))))
    return periods


def _parameter_sets(value, models, schedule, where: str) -> dict[str, list[tuple[str, dict]]]:
    """For each model, its parameter sets as (name, keywords), checked against the model."""
    from ansen.experiments import load_schedule
    from ansen.simulator import check_arguments

    if value == "schedule":
        last: dict[str, tuple[str, dict]] = {}
        for e in load_schedule(schedule):
            if e.kind == "run":
                last[e.model] = dict(e.params)
        sets = {m: [("schedule", last.get(m, {}))] for m in models}
    else:
        value = [{}] if value is None else value
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValueError(f"{where}: parameters must be \"schedule\" or a list of tables, e.g. "
                             "[[parameters]] name = \"weekold\" data_lag = \"7D\"")
        sets = {m: [] for m in models}
        for p in value:
            p = dict(p)
            scope = p.pop("models", None)
            name = str(p.pop("name", "") or ",".join(f"{k}={v}" for k, v in sorted(p.items()))
                       or "defaults")
            if scope is not None and (not isinstance(scope, list) or not scope):
                raise ValueError(f"{where}: parameter set {name!r}: models must be a non-empty "
                                 "list of model ids")
            for m in models if scope is None else [m for m in scope if m in sets]:
                sets[m].append((name, p))
        if empty := [m for m, s in sets.items() if not s]:
            raise ValueError(f"{where}: no parameter set applies to model(s) {empty}; add a set "
                             "without `models` (or one naming them)")
    for m, group in sets.items():
        for name, p in group:
            try:
                check_arguments(m, step=None, **p)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: parameter set {name!r} for {m}: {exc}") from None
    return sets


@functools.cache
def _named_file(path: str, stamp: tuple) -> dict:
    from ansen.scenarios import load_scenarios

    return {name: sc.to_dict() for name, sc in load_scenarios(path).items()}


def _named_definitions(scenario: dict) -> dict:
    """The definitions of the named scenarios a sweep scenario derives, by name."""
    names = scenario.get("scenario", [])
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        return {}
    from ansen import scenarios

    path = Path(scenarios.DEFAULT_SCENARIOS)
    info = path.stat()
    known = _named_file(str(path), (info.st_mtime_ns, info.st_size))
    return {n: known[n] for n in names if isinstance(n, str)}  # tables hold their own parts


def _same_runs(recipe: str) -> str:
    """A scenario's recipe as the runs see it: named scenarios that only state a tariff
    (``tariff_2027``) change no data, so ``{"scenario": "tariff_2027", "tariff": "2027"}``
    runs what ``{"tariff": "2027"}`` runs."""
    r = json.loads(recipe)
    names = r.get("scenario", [])
    names = [names] if isinstance(names, str) else names
    if set(r) - {"scenario", "tariff"} or not names or any(isinstance(n, dict) for n in names):
        return recipe
    known = _named_definitions(r)
    if all(not (d.get("growth") or d.get("batteries") or d.get("neighbourhood"))
           for d in known.values()):
        return _canonical({"tariff": r.get("tariff", "net_metering")})
    return recipe


def _one_name_per_recipe(scenarios: Iterable[tuple[str, str]], where: str) -> None:
    """Refuse one recipe under two names ((name, scenario JSON) pairs): the store keeps one
    name per run, so the second name would vanish (a named scenario that only states a tariff
    is the same runs as that tariff)."""
    first: dict[str, str] = {}
    for name, recipe in scenarios:
        recipe = _same_runs(recipe)
        if first.setdefault(recipe, name) != name:
            raise ValueError(f"{where}: scenarios {first[recipe]!r} and {name!r} are the same "
                             f"recipe ({_canonical(_labelled(json.loads(recipe)))}); list it "
                             "under one name (the store keeps one name per run)")


def _unique(tasks: Iterable[Task]) -> tuple[Task, ...]:
    """The tasks without repeats (the same point listed twice runs once)."""
    seen, out = set(), []
    for t in tasks:
        if (t.run_id, t.village.sha256) not in seen:
            seen.add((t.run_id, t.village.sha256))
            out.append(t)
    return tuple(out)


def grid(villages=("default",), scenarios=("none",), models=("M1",), periods="schedule",
         parameters=None, *, solver: str = "highs", name: str = "sweep", schedule=None,
         description: str = "", base=None) -> Grid:
    """The tasks of a crossed grid: village x scenario x period x model x parameter set.

    Parameters
    ----------
    villages : list
        ``"default"`` (the shipped synthetic Ansen), paths of village files or
        export folders, or ``xarray.Dataset`` objects.
    scenarios : list
        ``"none"``, a tariff name (``"net_metering"``, ``"2027"``), the path of a
        tariff file (ending in ``.toml``, :func:`ansen.tariffs.read_tariff`; relative
        to ``base``), another name or a dict (``name``, ``tariff``: a tariff's name or
        file, and the recipe of ``ansen.scenarios.derive``, see :func:`apply_scenario`).
    models : list of str
        Steering model ids (:data:`ansen.models.MODELS`).
    periods : "schedule" or list
        ``[start, end]`` pairs or dicts ``{start, end, name, season}`` of local
        dates (end exclusive), or ``"schedule"``: every distinct period of the
        schedule's ``run`` experiments, named by its first experiment.
    parameters : "schedule" or list of dict, optional
        Parameter sets: keywords of :func:`ansen.simulate` and of the model,
        plus optional ``name`` and ``models`` (the models a set applies to;
        default all). ``"schedule"``: each model with the parameters of its last
        run in the schedule (the pilot's final settings). Default: one set of
        default parameters.
    solver : {"highs", "glpk"}
        LP solver, unless a parameter set names one.
    name, description : str
        Name of the grid (labels, progress bar) and what it is for.
    schedule : path, optional
        Experiments TOML for ``"schedule"`` (default data/experiments.toml).
    base : path, optional
        Folder that relative village and tariff-file paths are read from (default:
        the working directory).

    Returns
    -------
    Grid

    Raises
    ------
    ValueError
        Unknown model, tariff, solver or parameter; a malformed period; a
        scenario that needs ``ansen.scenarios`` where it is missing.
    FileNotFoundError
        A village path or schedule that does not exist.
    """
    from ansen.models import MODELS
    from ansen.models.lp import BACKENDS

    models = list(models)
    if not models:
        raise ValueError(f"{name}: no models")
    if unknown := [m for m in models if m not in MODELS]:
        raise ValueError(f"{name}: unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    base = Path(base) if base is not None else None
    village_list = [_village(v, base) for v in villages]
    scenario_list = [_scenario(_with_tariff_files(s, base, name), name) for s in scenarios]
    _one_name_per_recipe(scenario_list, name)
    period_list = _periods(periods, schedule, name)
    sets = _parameter_sets(parameters, models, schedule, name)
    tasks = []
    for v in village_list:
        for scenario_name, scenario_json in scenario_list:
            for p in period_list:
                for m in models:
                    for set_name, values in sets[m]:
                        values = dict(values)
                        task_solver = str(values.pop("solver", solver))
                        if task_solver not in BACKENDS:
                            raise ValueError(f"{name}: unknown solver {task_solver!r}; known: "
                                             f"{', '.join(BACKENDS)}")
                        tasks.append(Task(v, scenario_name, scenario_json, m, p, set_name,
                                          _canonical(values), task_solver))
    return Grid(name=name, tasks=_unique(tasks), description=description)


def load_spec(path, *, villages=None, models=None, solver=None, schedule=None) -> Grid:
    """Read a sweep spec (TOML) into a :class:`Grid`.

    The top-level keys ``villages``, ``scenarios``, ``models``, ``periods``,
    ``parameters`` and ``solver`` define one crossed grid (:func:`grid`); with
    ``[[grid]]`` tables, each table is crossed on its own (its keys override
    the top-level ones) and the spec is the union of them. ``name``,
    ``description``, ``schedule`` (the experiments TOML of ``"schedule"``) and
    ``scenario_files`` are top-level only. ``scenario_files``: scenario files of
    one's own (the format of data/scenarios.toml) whose scenarios the spec may
    name like the shipped ones; each such scenario runs as the table of its
    parts (so its definition is part of the runs' provenance), and may end a
    chain (``{ name = "x", scenario = ["penetration_040", "mine"] }``). A tariff
    file (a path ending in ``.toml``, as a scenario or a scenario's ``tariff``) is
    read when the spec is: its terms go into the runs' definition
    (:func:`tariff_file`). Relative paths are read from the spec's folder. Any
    other key is refused by name.

    Parameters
    ----------
    path : path-like
        The spec (e.g. ``data/sweeps/season.toml``).
    villages, models : list, optional
        Replace the spec's villages (paths read from the working directory) or
        models, in every [[grid]].
    solver : str, optional
        Replace the spec's solver.
    schedule : path, optional
        Replace the spec's schedule (read from the working directory).

    Raises
    ------
    ValueError
        Not TOML, unknown keys (named), bad values (see :func:`grid`), a tariff file's
        errors.
    FileNotFoundError
        No spec at ``path``, or a village, schedule or tariff file it names is missing.
    """
    from ansen.io import read_toml

    path = Path(path)
    doc = read_toml(path, "sweep spec")
    if unknown := sorted(set(doc) - set(SPEC_KEYS)):
        raise ValueError(f"{path}: unknown key(s) {unknown}; known: {', '.join(SPEC_KEYS)}")
    blocks = doc.get("grid", [{}])
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise ValueError(f"{path}: write each grid as a [[grid]] table")
    for i, b in enumerate(blocks):
        if unknown := sorted(set(b) - set(GRID_KEYS)):
            raise ValueError(f"{path}: [[grid]] #{i + 1}: unknown key(s) {unknown}; known: "
                             f"{', '.join(GRID_KEYS)}")
    base = path.resolve().parent
    sched = Path(schedule) if schedule else (base / doc["schedule"] if "schedule" in doc
                                             else None)
    own, shipped, files = _own_scenarios(doc.get("scenario_files", []), base, path)
    tasks: list[Task] = []
    origins: dict[str, str] = {}
    for i, block in enumerate(blocks):
        where = f"{path}" + (f" [[grid]] #{i + 1}" if "grid" in doc else "")
        spec = {k: doc[k] for k in GRID_KEYS if k in doc} | block
        if isinstance(spec.get("scenarios"), list):  # tariff files: from the spec's folder
            spec["scenarios"] = [_with_tariff_files(sc, base, where) for sc in spec["scenarios"]]
        if own and isinstance(spec.get("scenarios"), list):
            inlined = [_inline_own(sc, own, shipped, where) for sc in spec["scenarios"]]
            origins |= _origins(spec["scenarios"], inlined, files)
            spec["scenarios"] = inlined
        for key, value in (("villages", villages), ("models", models), ("solver", solver)):
            if value is not None:
                spec[key] = list(value) if key != "solver" else value
        for key in ("villages", "scenarios", "models"):
            if key in spec and (not isinstance(spec[key], list) or not spec[key]):
                got = (f"a table with key(s) {sorted(spec[key])[:3]}"
                       if isinstance(spec[key], dict) else repr(spec[key]))
                hint = (" of scenario names or inline tables, e.g. scenarios = [\"none\", "
                        "{ name = \"p40\", scenario = \"penetration_040\", tariff = \"2027\" }]"
                        if key == "scenarios" else "")
                raise ValueError(f"{where}: {key} must be a non-empty list{hint}; got {got}")
        if "models" not in spec:
            raise ValueError(f"{where}: no models")
        try:
            tasks += grid(villages=spec.get("villages", ["default"]),
                          scenarios=spec.get("scenarios", ["none"]), models=spec["models"],
                          periods=spec.get("periods", "schedule"),
                          parameters=spec.get("parameters"),
                          solver=str(spec.get("solver", "highs")), name=where, schedule=sched,
                          base=None if villages is not None else base).tasks
        except FileNotFoundError as exc:  # a village of the spec (not one of --data)
            if villages is not None or not str(exc).startswith("no village at"):
                raise
            raise FileNotFoundError(f"{where}: villages: {exc} (a relative path is read from "
                                    f"the spec's folder, {base})") from exc
    from ansen.provenance import SAFE_ID

    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not SAFE_ID.fullmatch(name):
        raise ValueError(f"{path}: name {name!r} is not a safe name (it names the default "
                         "store, NAME.parquet, in the working folder): letters, digits and "
                         "_ . + - only, starting with a letter or digit")
    _one_name_per_recipe([(t.scenario_name, t.scenario_json) for t in tasks], str(path))
    return Grid(name=name, tasks=_unique(tasks),
                description=str(doc.get("description", "")), origins=origins)


def _origins(scenarios: list, inlined: list, own: dict) -> dict[str, str]:
    """The spec's scenarios that take parts from its scenario files: name -> where from.

    ``scenarios``: as the spec gives them; ``inlined``: the same with its own scenarios'
    parts in place (:func:`_inline_own`), named as :func:`_scenario` names them; ``own``:
    the scenario files' scenario names -> the file each is in."""
    out = {}
    for value, done in zip(scenarios, inlined, strict=True):
        names = value.get("scenario", []) if isinstance(value, dict) else value
        names = [names] if isinstance(names, str) else names
        ours = [n for n in names if isinstance(n, str) and n in own] \
            if isinstance(names, list) else []
        if ours:
            label = _table_name(done) if isinstance(done, dict) else str(done)
            out[label] = "its parts from " + ", ".join(f"{n} of {own[n]}" for n in ours)
    return out


def _own_scenarios(files, base: Path, path: Path) -> tuple[dict, list[str], dict]:
    """The scenarios of a spec's ``scenario_files`` by name (read from the spec's folder),
    the names of the shipped scenarios (data/scenarios.toml, read once here), and the file
    of each of the spec's own scenarios by name (as the spec gives it)."""
    from ansen.scenarios import load_scenarios

    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ValueError(f"{path}: scenario_files must be a list of paths, got {files!r}")
    shipped = load_scenarios()
    own: dict = {}
    where: dict = {}
    for f in files:
        try:
            found = load_scenarios(base / f)
        except ValueError as exc:
            if "tariff" in str(exc) and _is_tariff_file(f):  # the other kind of file
                raise ValueError(f"{path}: scenario_files: {exc}; if it is a tariff file, give "
                                 f"its path as a scenario or as a scenario's tariff "
                                 f"(scenarios = [\"{f}\"]), not in scenario_files") from exc
            raise
        for name, sc in found.items():
            if name in shipped or name in own or name in ("none", *TARIFFS):
                hint = (f" (to label a level of yours {name} for the penetration report, "
                        f"give it another name in the file, e.g. share_NNN, and name it in "
                        f"the spec: {{ name = \"{name}\", scenario = \"share_NNN\" }})"
                        if re.fullmatch(r"(penetration|neighbourhood)_.+", name) else "")
                raise ValueError(f"{path}: scenario_files: {f} names {name!r}, a name the "
                                 "shipped scenarios, the tariffs or another file of the spec "
                                 f"already use; rename it{hint}")
            own[name] = sc
            where[name] = f
    return own, list(shipped), where


def _inline_own(value, own: dict, shipped: list[str], where: str):
    """A spec's scenario with the scenarios of its own files replaced by their parts.

    ``shipped``: the names of the shipped scenarios, which a chain may name before its own.
    """
    def parts(name):
        d = own[name].to_dict()
        return {k: v for k, v in d.items() if k not in ("name", "description")
                and v not in (None, [], {})}

    def refuse_unknown(names):
        known = {"none", *TARIFFS, *shipped, *own}
        if unknown := [n for n in names if isinstance(n, str) and n not in known]:
            label = value.get("name", "") if isinstance(value, dict) else value
            raise ValueError(f"{where}: scenario {label!r}: unknown named scenario(s) {unknown}; "
                             f"known: the spec's scenario_files' {', '.join(own)}; the shipped "
                             f"{', '.join(['none', *TARIFFS, *shipped])}")

    if isinstance(value, str):
        refuse_unknown([value])
        if value in own:
            return {"name": value, **parts(value)}
    if isinstance(value, dict):
        names = value.get("scenario", [])
        names = [names] if isinstance(names, str) else names
        if isinstance(names, list):
            refuse_unknown(names)
        ours = [n for n in names if isinstance(n, str) and n in own] \
            if isinstance(names, list) else []
        if ours and ours == names[-1:] and not set(value) - {"name", "scenario", "tariff"}:
            # one of yours at the end of the chain: the table of its parts
            out = {k: v for k, v in value.items() if k != "scenario"} | parts(names[-1])
            if names[:-1]:
                out["scenario"] = names[:-1]
            return out
        if ours:  # yours within the chain, or before parts of the table's own: each in its
            # place as a table of its parts with its name (derived one after the other)
            return {**value, "scenario": [{"name": n, **parts(n)} if n in ours else n
                                          for n in names]}
    return value


# --------------------------------------------------------------------------- worker side


@functools.cache
def _loaded_code_sha256() -> str:
    """The code SHA-256 of this process, taken once, before its first run imports the models.

    A process runs the code it imported: the files are hashed once, so edits made while a
    sweep runs do not fail the runs of workers that started with the client's code, while a
    worker that started with other code (another install, a restart after an edit) is
    refused. Clients and workers both use this.
    """
    from ansen.provenance import code_fingerprint

    return code_fingerprint()


def _derive(village, scenario: dict, name: str = "sweep"):
    """The derived village of a scenario; its warnings ride along to the runs on it."""
    return _carrying_warnings(lambda: apply_scenario(village, scenario, name)[0])


def _check_tariff(village, scenario: dict, where: str = "sweep scenario") -> None:
    """Refuse to run a village under another tariff than the one its recipe states."""
    from ansen.scenarios import recipe_chain, stated_tariff
    from ansen.tariffs import regime_differences, regime_settings

    stated, name = stated_tariff(village), scenario.get("tariff", "net_metering")
    if stated is None:
        return
    differ = regime_differences(stated, tariff(name)) if isinstance(name, dict) else []
    if differ or not isinstance(name, dict) and stated != tariff(name):
        chain = " -> ".join(r["scenario"]["name"] for r in recipe_chain(village))
        fix = (f"set {regime_settings(stated, differ)} in the file (its taxes may differ, "
               "not its rules)" if differ else
               f"give the scenario the tariff its village states (tariff = "
               f"{_tariff_key(stated)!r} in a table, or the scenario {_tariff_key(stated)!r} "
               "for the village alone)")
        raise ValueError(
            f"{where}: tariff {tariff_label(name)!r}, but the village's recipe ({chain}) states "
            f"{stated.label!r}; {fix}")


def _tariff_key(t) -> str:
    """The key of :data:`TARIFFS` that gives the Tariff ``t`` (or its label)."""
    return next((k for k in TARIFFS if tariff(k) == t), t.label)


@contextmanager
def _caught(into: list) -> Iterator[None]:
    """Record the block's warnings into ``into`` as (category, message), each once, instead
    of printing them on the worker: the client says each once for the whole sweep (a
    warning of every run printed once per run, with a worker's source line). The warning
    filters act as set: "error" still raises, "ignore" still ignores."""
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they are
        yield
    for w in caught:
        item = (w.category, str(w.message))
        if item not in into:
            into.append(item)


def _carrying_warnings(make):
    """``make()``, a Dataset that other tasks use, with the warnings of making it in
    ``attrs["sweep_warnings"]``: they ride along to the runs that use it (:func:`_run`)."""
    said: list = []
    with _caught(said):
        ds = make()
    ds.attrs["sweep_warnings"] = said
    return ds


def _baseline(village, scenario: dict, model: str, start: str, end: str):
    """A baseline run (M1 or none) over a period, as run_experiment simulates it; its
    warnings ride along to the runs that use it."""
    import ansen

    _check_tariff(village, scenario)
    return _carrying_warnings(lambda: ansen.simulate(
        village, model, start, end, progress=False,
        tariff=tariff(scenario.get("tariff", "net_metering"))))


def _village_columns(village) -> dict:
    from ansen.data.schema import battery_sites

    sites = battery_sites(village)
    return {"battery_sites": len(sites),
            "battery_kwh_total": float(village["battery_kwh"].values[sites].sum()),
            "battery_kw_total": float(village["battery_kw"].values[sites].sum())}


def _run(village, definition: dict, m1, none) -> dict:
    """Simulate one grid point and compare it with its baselines; return the rows.

    Runs on a worker; only the rows (a small DataFrame) go back to the client.
    """
    code_sha256 = _loaded_code_sha256()
    import ansen
    from ansen.metrics import compare

    wall = time.perf_counter()
    _check_tariff(village, definition["scenario"])
    chosen = tariff(definition["scenario"].get("tariff", "net_metering"))
    model, params = definition["model"], definition["params"]
    said = [w for ds in (village, m1, none) for w in ds.attrs.get("sweep_warnings", [])]
    with _caught(said):
        if model in BASELINES and not params:
            run_ds = m1 if model == "M1" else none
        else:
            run_ds = ansen.simulate(village, model, definition["start"], definition["end"],
                                    tariff=chosen, progress=False, solver=definition["solver"],
                                    **params)
        rows = pd.concat([compare(run_ds, base, tariff=chosen) for base in (m1, none)])
    rows = rows.reset_index(drop=True).drop(columns=["model", "start", "end"])
    attrs = run_ds.attrs
    extra = {**_village_columns(village),
             "solves": int(attrs.get("solves", 0)),
             "solve_seconds": float(attrs.get("solve_seconds", 0.0)),
             "clipped_steps": int(attrs.get("clipped_steps", 0)),
             # what a transformer guard changed (transformer_guard): battery steps, and
             # the set-point energy [kWh]
             "guard_steps": int(attrs.get("guard_steps", 0)),
             "guard_kwh": float(attrs.get("guard_kwh", 0.0)),
             "fallbacks": len(json.loads(attrs.get("fallbacks", "[]") or "[]")),
             # decisions whose forecasts read past their cut-off (a run at the data's start)
             "warmup_decisions": int(attrs.get("warmup_decisions", 0)),
             # decisions whose forecasts reach before the data (the first day stands in)
             "padded_decisions": int(attrs.get("padded_decisions", 0)),
             # how the plans were solved, and for battery classes their certificate: the
             # mean gap of a plan to the per-site optimum [EUR] and the gaps' share of what
             # the batteries are worth to the plans [%] (ansen.controller.certificate)
             "plan_method": str(attrs.get("plan_method", "none")),
             "class_plans_bounded": int(attrs.get("class_plans_bounded", 0)),
             "class_plans_not_bounded": int(attrs.get("class_plans_not_bounded", 0)),
             "class_plan_gap_mean_eur": float(attrs.get("class_plan_gap_mean_eur", np.nan)),
             "class_plan_gap_share_pct": float(attrs.get("class_plan_gap_share_pct", np.nan))}
    return {"rows": rows, "extra": extra, "seconds": time.perf_counter() - wall,
            "finished_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code_sha256": code_sha256, "version": ansen.__version__,
            "warnings": list(dict.fromkeys(said))}


# --------------------------------------------------------------------------- the store


def read_store(path=None, *, params: bool = False) -> pd.DataFrame:
    """The rows of a sweep store.

    Parameters
    ----------
    path : path-like, optional
        The Parquet file (default :data:`EXAMPLE_STORE`).
    params : bool
        Also expand ``params_json`` and ``scenario_json`` into columns
        ``param.<key>`` and ``scenario.<key>``.

    Returns
    -------
    pandas.DataFrame
        One row per run and baseline (:data:`STORE_COLUMNS`); ``attrs["failed"]``:
        the runs of the grids written into it that failed and have not run since
        (run id -> ``label``, ``error``, ``task_key``, ``finished_utc``).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a sweep store.
    """
    import pyarrow.parquet as pq

    path = Path(path) if path else EXAMPLE_STORE
    if not path.is_file():
        raise FileNotFoundError(f"no sweep store at {path}")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise ValueError(f"{path}: not a Parquet file ({exc})") from exc
    if missing := [c for c in ("run_id", "task_key", "baseline") if c not in table.column_names]:
        raise ValueError(f"{path}: not a sweep store (no column(s) {missing})")
    rows = table.to_pandas()
    meta = table.schema.metadata or {}
    rows.attrs["failed"] = json.loads(meta[FAILED_KEY]) if FAILED_KEY in meta else {}
    if params:
        for col, prefix in (("params_json", "param."), ("scenario_json", "scenario.")):
            expanded = pd.DataFrame([json.loads(x) for x in rows[col]], index=rows.index)
            rows = rows.join(expanded.add_prefix(prefix))
    return rows


#: The key of the store's Parquet metadata that holds the failed runs (JSON).
FAILED_KEY = b"ansen_failed"


def _write_store(path: Path, rows: pd.DataFrame, failed: dict | None = None) -> None:
    """Write the rows, and ``failed`` (run id -> record) into the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ansen.io import atomic_path

    if rows.empty and not len(rows.columns):  # only failures: a store without rows
        rows = pd.DataFrame({c: pd.Series(dtype=str) for c in [*DEFINITION_COLUMNS, "task_key"]})
    rows = rows.sort_values(["village", "scenario_json", "start", "end", "model", "params_json",
                             "solver", "baseline"], kind="stable").reset_index(drop=True)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    meta = {**(table.schema.metadata or {}), b"ansen_store_format": STORE_FORMAT.encode(),
            FAILED_KEY: json.dumps(failed or {}, sort_keys=True).encode()}
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _row_frame(task: Task, result: dict, key: str) -> pd.DataFrame:
    rows = result["rows"]
    definition = {
        "run_id": task.run_id, "village": task.village.label, "scenario": task.scenario_name,
        "tariff": tariff_label(task.scenario.get("tariff", "net_metering")), "model": task.model,
        "params": task.params_name, "period": task.period.name, "season": task.period.season,
        "start": task.period.start, "end": task.period.end, "solver": task.solver,
    }
    front = pd.DataFrame([definition] * len(rows))
    front["baseline"] = rows.pop("baseline").astype(str).to_numpy()
    front["scenario_json"] = task.scenario_json
    front["params_json"] = task.params_json
    extra = dict(result["extra"])
    village = pd.DataFrame([{k: extra.pop(k) for k in VILLAGE_COLUMNS}] * len(rows))
    tail = pd.DataFrame([{**extra, "seconds": float(result["seconds"]), "task_key": key,
                          "data_sha256": task.village.sha256,
                          "code_sha256": result["code_sha256"], "version": result["version"],
                          "finished_utc": result["finished_utc"]}] * len(rows))
    return pd.concat([front, village, rows.reset_index(drop=True), tail], axis=1)


def _merge(old: pd.DataFrame | None, new: list[pd.DataFrame], grid_: Grid) -> pd.DataFrame:
    """Old rows minus those replaced (same grid point or task), plus the new rows; labels of
    the grid's points refreshed from the grid.

    The store's columns are the new rows' and those the old rows that stay hold a value in:
    a column of an older version of the package that no row left carries is dropped, so a
    store rerun under new code has the columns that code writes (nothing is lost: every
    value of it was in a replaced row)."""
    frames = [f for f in new if len(f)]
    if not frames:
        rows = old.copy() if old is not None else pd.DataFrame()
    else:
        fresh = pd.concat(frames, ignore_index=True)
        keep = (old[~old["run_id"].isin(fresh["run_id"]) & ~old["task_key"].isin(fresh["task_key"])]
                if old is not None and len(old) else None)
        if keep is not None and len(keep):
            columns = list(dict.fromkeys([*fresh.columns, *(
                c for c in old.columns if keep[c].notna().any())]))
            rows = pd.concat([fresh, keep], ignore_index=True).reindex(columns=columns)
            for col in fresh.columns:  # a count stays an integer where every row holds one
                v = rows[col]
                if (pd.api.types.is_integer_dtype(fresh[col]) and pd.api.types.is_float_dtype(v)
                        and v.notna().all() and (np.mod(v.to_numpy(), 1.0) == 0).all()):
                    rows[col] = v.astype(fresh[col].dtype)
        else:  # nothing kept: the fresh rows, their dtypes untouched
            rows = fresh
    if len(rows):
        tasks = {t.run_id: t for t in grid_.tasks}
        names = {"period": lambda t: t.period.name, "season": lambda t: t.period.season,
                 "params": lambda t: t.params_name, "scenario": lambda t: t.scenario_name}
        for col, name in names.items():
            mapped = rows["run_id"].map(lambda r, name=name: name(tasks[r]) if r in tasks
                                        else None)
            rows[col] = mapped.where(mapped.notna(), rows[col])
    return rows


# --------------------------------------------------------------------------- running


class _Ref:
    """The result of another node (a dask future once submitted)."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key


@dataclass
class _Node:
    key: str
    fn: Callable
    args: tuple
    task: Task | None = None  # set for the run nodes (those that give rows)


def _nodes(tasks: list[Task], code_sha: str, villages: dict,
           loaded: dict | None = None) -> list[_Node]:
    """The task graph in submission order: per village, scenario and period its baselines, then
    its runs (so a cluster finishes one group before holding the baselines of the next).

    ``villages`` gets each village the nodes read, by key: the dataset of ``loaded`` (by
    SHA-256) where it is there, handed over once, else the village's reference."""
    loaded = loaded or {}
    nodes: list[_Node] = []
    derived: dict = {}
    for (sha, recipe, start, end), members in baseline_groups(tasks).items():
        scenario = members[0].scenario
        village_key = f"village-{sha[:16]}"
        if village_key not in villages:
            villages[village_key] = (_Loaded(loaded[sha]) if sha in loaded
                                     else members[0].village)
        derive_recipe = {k: v for k, v in scenario.items() if k != "tariff"}
        if derive_recipe:  # one derived village for every tariff of the same recipe
            dkey = f"scenario-{_sha([sha, derive_recipe])[:16]}"
            if dkey not in derived:
                derived[dkey] = True
                nodes.append(_Node(dkey, _derive, (_Ref(village_key), derive_recipe,
                                                   members[0].scenario_name)))
            source = _Ref(dkey)
        else:
            source = _Ref(village_key)
        base = {}
        for model in BASELINES:
            bkey = f"baseline-{model}-{_sha([sha, recipe, start, end, code_sha])[:16]}"
            nodes.append(_Node(bkey, _baseline, (source, scenario, model, start, end)))
            base[model] = _Ref(bkey)
        for t in members:
            key = t.key(code_sha)
            definition = t.definition()
            nodes.append(_Node(f"run-{key[:16]}", _run,
                               (source, definition, base["M1"], base["none"]), task=t))
    return nodes


def _serial(nodes: list[_Node], villages: dict) -> Iterator[tuple[_Node, object]]:
    """Compute the nodes in order in this process; results are freed after their last use."""
    uses: dict[str, int] = {}
    for n in nodes:
        for a in n.args:
            if isinstance(a, _Ref):
                uses[a.key] = uses.get(a.key, 0) + 1
    values: dict[str, object] = {k: v.load() for k, v in villages.items()}
    errors: dict[str, BaseException] = {}
    for n in nodes:
        refs = [a.key for a in n.args if isinstance(a, _Ref)]
        failed = next((errors[k] for k in refs if k in errors), None)
        if failed is None:
            try:
                value = n.fn(*[values[a.key] if isinstance(a, _Ref) else a for a in n.args])
            except Exception as exc:
                failed = exc
        for k in refs:
            uses[k] -= 1
            if not uses[k]:
                values.pop(k, None)
        if failed is not None:
            errors[n.key] = failed
            if n.task is not None:
                yield n, failed
        elif n.task is not None:
            yield n, value
        else:
            values[n.key] = value


def dask_setup(worker) -> None:
    """Set up a worker of the LocalCluster (dask's preload hook, run in each worker at start).

    With the "spawn" start method the parent's resource tracker keeps a list of the
    semaphores a worker creates (Pyomo creates one at import); a worker ended in the middle
    of a run (Ctrl-C) leaves them to the tracker, which then warns about leaked semaphores.
    A worker starts no processes of its own, so its default start method becomes "fork",
    whose semaphores are unlinked at once and never listed.
    """
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this block (child processes started in it inherit that)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def client(scheduler=None, workers: int | None = None) -> Iterator:
    """A dask.distributed Client for :func:`run`, closed (with its cluster) after the block.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        None: a new ``LocalCluster`` of ``workers`` processes with one thread
        each; an address such as ``"tcp://host:8786"``: that scheduler; a
        Client: used as it is and left open.
    workers : int, optional
        Workers of the LocalCluster (default: the number of cores).
    """
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        n = (os.cpu_count() or 1) if workers is None else int(workers)
        if n < 1:
            raise ValueError(f"workers must be at least 1, got {n}")
        # One single-threaded worker process per core: the LP solvers are single-threaded and
        # Pyomo's model building holds the GIL. The workers start with Ctrl-C ignored (a
        # terminal sends it to every process of the group): this process cancels the tasks and
        # closes the cluster, which ends them. A run's failure is reported once, by run()
        # (its label and the error's last line): the workers' own error logs (a traceback
        # per failed task) are silenced.
        # the cluster's scratch space (the workers' folders and the client's lock files) in a
        # folder of the run's own, removed afterwards (dask's default is a shared
        # dask-scratch-space in the system's temporary folder)
        import dask

        with (tempfile.TemporaryDirectory(prefix="ansen-dask-") as scratch,
              dask.config.set({"temporary-directory": scratch})):
            with _sigint_ignored():
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL,
                                       preload=["ansen.sweep"])  # runs dask_setup in each worker
            with cluster, Client(cluster) as local:
                yield local
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler {scheduler!r}: give an address such as tcp://host:8786, "
                         "'synchronous', or nothing for a LocalCluster")
    with Client(scheduler) as remote:
        yield remote


def _check_workers(client, code_sha256: str) -> None:
    """Refuse a cluster whose workers run other ansen code than this process."""
    try:
        shas = client.run(_loaded_code_sha256)
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"the workers cannot import ansen ({exc}): install this version of "
                           "ansen where they run") from None
    if other := {w: s for w, s in shas.items() if s != code_sha256}:
        raise RuntimeError(
            f"{len(other)} of {len(shas)} worker(s) run other ansen code (SHA-256 "
            f"{next(iter(other.values()))[:12]}, here {code_sha256[:12]}): install the same "
            "version on the workers, or restart them after changing the code")


class ClusterLost(RuntimeError):
    """The cluster lost what runs needed (a worker died while the village was sent, or every
    worker holding a village or a baseline died): not the runs' failure. The runs finished
    when the loss was seen are written; the same command again runs the rest."""


def _lost(exc: BaseException) -> bool:
    """Whether a run's exception is the cluster losing its work (a cancelled future, which
    this sweep cancels only on its way out), not the run failing."""
    import concurrent.futures

    return isinstance(exc, concurrent.futures.CancelledError)


def _done_runs(runs: dict) -> list[tuple[object, object]]:
    """The futures of ``runs`` that have ended, each with its result or its own error (a run
    that failed), those the cluster lost left out: what a sweep writes when it stops."""
    out = []
    for fut in list(runs):
        if fut.status not in ("finished", "error"):
            continue
        try:
            value = fut.result()
        except Exception as exc:
            if _lost(exc):
                continue
            value = exc
        out.append((fut, value))
    return out


def _distributed(nodes: list[_Node], villages: dict, client) -> Iterator[tuple[_Node, object]]:
    from distributed import as_completed

    _check_workers(client, _loaded_code_sha256())
    futures: dict[str, object] = {}
    for key, village in villages.items():
        # sent once; the scheduler copies it to the workers that need it
        try:
            futures[key] = client.scatter(village.load(), hash=False)
        except OSError as exc:  # the connection closed while sending (a worker died)
            raise ClusterLost(
                f"the cluster lost a connection while the village was sent to it "
                f"({_one_line(exc)}); no run started: check that its workers run and run the "
                "same command again") from None
    runs = {}
    for n in nodes:
        args = [futures[a.key] if isinstance(a, _Ref) else a for a in n.args]
        fut = client.submit(n.fn, *args, key=n.key, retries=0)
        if n.task is None:
            futures[n.key] = fut
        else:
            runs[fut] = n
    # the client holds the runs only: villages and baselines are released by the scheduler
    # once the runs that need them are done
    futures.clear()
    pending = set(runs)
    try:
        for fut in as_completed(list(runs)):
            pending.discard(fut)
            node = runs.pop(fut)  # the worker may forget the result once it is here
            try:
                value = fut.result()
            except Exception as exc:
                if _lost(exc):
                    # the runs already done are written before the sweep stops, whichever
                    # order as_completed would have given them in
                    for done, value in _done_runs(runs):
                        pending.discard(done)
                        yield runs.pop(done), value
                    raise ClusterLost(
                        f"the cluster lost the work of {node.task.label()} and of the runs "
                        f"still pending ({_one_line(exc)}): the workers holding the village "
                        "or a baseline died. The runs finished by then are written; with the "
                        "workers running again, the same command runs only the rest (a run "
                        "that kills its worker, out of memory say, shows its own error with "
                        "--scheduler synchronous)") from None
                value = exc
            yield node, value
    finally:
        if pending:
            client.cancel(list(pending))


def pending(sweep: Grid, store, *, force: bool = False,
            code_sha256: str | None = None) -> list[Task]:
    """The tasks of a grid that a run would compute: those without both rows in the store
    under their current task key (every task with ``force``).

    Raises
    ------
    ValueError
        ``store`` is a folder or a file that is not a sweep store.
    """
    store = Path(store)
    if store.is_dir():
        raise ValueError(f"store {store} is a folder; give a file name such as "
                         f"{store / (sweep.name + '.parquet')}")
    if force or not store.exists():
        return list(sweep.tasks)
    old = read_store(store)
    done = {k for k, b in old.groupby("task_key")["baseline"] if set(BASELINES) <= set(b)}
    code_sha256 = code_sha256 or _loaded_code_sha256()
    return [t for t in sweep.tasks if t.key(code_sha256) not in done]


def check_scenarios(sweep: Grid, loaded: dict | None = None,
                    batteries: dict | None = None) -> dict[str, str]:
    """Derive every village of the grid's scenarios here, in this process, without running.

    Returns the failures: ``"<scenario> on <village>"`` -> the error (empty when every
    scenario fits its villages). What ``ansen sweep --dry-run`` prints; a run reports the
    same failures per run. ``loaded``: villages already read, by SHA-256 (filled here).
    ``batteries``, if given, is filled with ``"<scenario> on <village>"`` -> the derived
    village's battery sites, kWh and kW in all (:func:`_village_columns`): what a share
    or a count of a scenario's recipe became.
    """
    failures: dict[str, str] = {}
    loaded = {} if loaded is None else loaded
    seen: set = set()
    for t in sweep.tasks:
        key = (t.village.sha256, t.scenario_json)
        if key in seen:
            continue
        seen.add(key)
        if t.village.sha256 not in loaded:
            loaded[t.village.sha256] = t.village.load()
        try:
            village, _ = apply_scenario(loaded[t.village.sha256], t.scenario, t.scenario_name)
            _check_tariff(village, t.scenario, f"scenario {t.scenario_name}")
            if batteries is not None:
                batteries[f"{t.scenario_name} on {t.village.label}"] = _village_columns(village)
        except (ValueError, TypeError) as exc:
            failures[f"{t.scenario_name} on {t.village.label}"] = _with_origin(sweep, t,
                                                                               str(exc))
    return failures


def _with_origin(sweep: Grid, t: Task, message: str) -> str:
    """A message about a task's scenario, with where the spec took its parts from (its
    scenario files), said once."""
    origin = sweep.origins.get(t.scenario_name)
    return message + (f" (scenario {t.scenario_name}: {origin})"
                      if origin and origin not in message else "")


def check_periods(sweep: Grid, loaded: dict | None = None) -> dict[str, str]:
    """Whether each village's data cover every period of the grid, without running.

    Returns the failures: ``"period <start>:<end> on <village>"`` -> the error (empty when
    every period is covered). What ``ansen sweep --dry-run`` prints beside
    :func:`check_scenarios`, with which it shares ``loaded`` (villages by SHA-256).
    """
    from ansen.data.schema import DataError, check_coverage

    failures: dict[str, str] = {}
    loaded = {} if loaded is None else loaded
    for t in sweep.tasks:
        where = f"period {t.period.start}:{t.period.end} on {t.village.label}"
        if where in failures:
            continue
        if t.village.sha256 not in loaded:
            loaded[t.village.sha256] = t.village.load()
        try:
            check_coverage(loaded[t.village.sha256], t.period.start, t.period.end)
        except DataError as exc:
            failures[where] = str(exc)
    return failures


def check_tariffs(sweep: Grid) -> dict[str, str]:
    """Whether each run's tariff has its taxes for every year of its period, without running.

    Returns the failures: ``"tariff <name> (scenario <scenario>) over period <start>:<end>"``
    -> the error (empty when every tariff covers its periods; the years are the period's
    local dates, end excluded: ``ansen.simulate`` prices the history before a run as the
    run's first year). What ``ansen sweep --dry-run`` prints, and a run says at its start (those
    runs then fail without running, the others run).
    """
    failures: dict[str, str] = {}
    for t in sweep.tasks:
        where = _tariff_where(t)
        if where in failures:
            continue
        name = t.scenario.get("tariff", "net_metering")
        first = pd.Timestamp(t.period.start)
        last = pd.Timestamp(t.period.end) - pd.Timedelta(1, "ns")
        try:
            tariff(name).check_years(range(first.year, last.year + 1))
        except ValueError as exc:
            failures[where] = str(exc)
    return failures


def _tariff_where(t: Task) -> str:
    """What :func:`check_tariffs` names a task's tariff and period by."""
    return (f"tariff {tariff_label(t.scenario.get('tariff', 'net_metering'))} "
            f"(scenario {t.scenario_name}) "
            f"over period {t.period.start}:{t.period.end}")


def baseline_groups(tasks: Iterable[Task]) -> dict[tuple, list[Task]]:
    """The tasks by what their baselines depend on (village data, scenario, period)."""
    groups: dict[tuple, list[Task]] = {}
    for t in tasks:
        groups.setdefault(t.group, []).append(t)
    return groups


class _Loaded:
    """A village already loaded (by the sweep's period check), in place of its reference."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def load(self):
        """The village, handed over once (the sweep then holds no copy of its own)."""
        data, self.data = self.data, None
        if data is None:
            raise RuntimeError("a loaded village was asked for twice")
        return data


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(sweep, store, *, scheduler=None, workers: int | None = None, force: bool = False,
        prune: bool = False, progress: bool = True, flush_seconds: float = 10.0,
        log=None) -> dict:
    """Run a grid and write its rows into the store.

    Parameters
    ----------
    sweep : Grid or path-like
        A :class:`Grid` or the path of a spec (:func:`load_spec`).
    store : path-like
        The Parquet file (created, or updated with the rows not yet there).
    scheduler : str or distributed.Client, optional
        None: a ``LocalCluster`` on this machine (``workers`` processes, one
        thread each); ``"tcp://host:8786"``: the scheduler of a running
        cluster (its workers need the same version of ansen; the village is
        sent to them); a ``distributed.Client`` to use (left open);
        ``"synchronous"``: everything in this process, one run after another.
    workers : int, optional
        Workers of the LocalCluster (default: the number of cores).
    force : bool
        Rerun the grid's runs whose rows are already in the store.
    prune : bool
        Remove the store's rows of points outside the grid (by default they
        stay: a store can grow by several grids, or by parts of one).
    progress : bool
        Show a progress bar (tqdm) of the runs.
    flush_seconds : float
        Write the store at most this often while runs finish [s] (and always
        at the end).
    log : callable, optional
        Where messages go (default: stderr).

    Returns
    -------
    dict
        ``done`` {label: seconds of the run on its worker}, ``skipped``
        [labels already in the store], ``failed`` {label: message} (runs over a
        period their village's data do not cover are said at the start and fail
        without running; the others run),
        ``store`` path, ``seconds`` wall time of the sweep [s].

    Raises
    ------
    ansen.reproduce.Interrupted
        On Ctrl-C or SIGTERM: pending tasks are cancelled, the cluster is
        closed and the finished rows are written; ``.result`` as above plus
        ``cancelled`` [labels].
    ValueError
        ``store`` is a folder or a file that is not a sweep store.
    """
    from ansen.reproduce import Interrupted

    wall = time.perf_counter()
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    g = sweep if isinstance(sweep, Grid) else load_spec(sweep)
    store = Path(store)
    code_sha = _loaded_code_sha256()
    todo = pending(g, store, force=force, code_sha256=code_sha)
    old = read_store(store) if store.exists() else None
    keys = {t: t.key(code_sha) for t in g.tasks}
    todo_set = set(todo)
    skipped = [t.label() for t in g.tasks if t not in todo_set]
    if skipped and progress:
        log(f"{len(skipped)} run(s) of {g.name} already in {store} with the same definition, "
            "data and code (--force, or force=True, reruns them)")
    new: list[pd.DataFrame] = []
    done: dict[str, float] = {}
    failed: dict[str, str] = {}
    # the store's record of failed runs: dropped for those with rows (already in the store,
    # or done now), replaced by this sweep's own failures, kept for the others (outside the
    # grid, or cancelled)
    records = dict(old.attrs.get("failed", {})) if old is not None else {}
    written = dict(records)  # the records the store holds
    for t in g.tasks:
        if t not in todo_set:
            records.pop(t.run_id, None)

    def record(t: Task, message: str) -> None:
        message = _with_origin(g, t, message)  # a scenario file's parts: which
        failed[t.label()] = message
        records[t.run_id] = {"label": t.label(), "error": message, "task_key": keys[t],
                             "finished_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    said: dict[tuple, list[str]] = {}  # the runs' warnings, each said once at the end
    last_flush = time.monotonic()

    def write(rows: pd.DataFrame) -> None:
        """The rows into the store, with the failure records as they are now."""
        nonlocal written
        _write_store(store, rows, records)
        written = dict(records)

    if old is not None and len(old):
        # rows of the grid's runs under another label (a village or tariff file whose folder
        # moved: the same data and definition, so the same task key, another run id) are the
        # grid's: relabelled, so that they count as its points (and --prune keeps them)
        by_key = {keys[t]: t for t in g.tasks}
        ids_now = old["task_key"].map(lambda k: by_key[k].run_id if k in by_key else None)
        moved = ids_now.notna() & (ids_now != old["run_id"])
        if moved.any():
            old = old.copy()
            tasks_moved = [by_key[k] for k in old.loc[moved, "task_key"]]
            old.loc[moved, "village"] = [t.village.label for t in tasks_moved]
            old.loc[moved, "tariff"] = [tariff_label(t.scenario.get("tariff", "net_metering"))
                                        for t in tasks_moved]
            old.loc[moved, "scenario_json"] = [t.scenario_json for t in tasks_moved]
            old.loc[moved, "run_id"] = ids_now[moved]
            n_moved = old.loc[moved, "run_id"].nunique()
            # a run also under its right label keeps those rows
            old = pd.concat([old[~moved], old[moved]]).drop_duplicates(
                ["run_id", "baseline"], keep="first").reset_index(drop=True)
            log(f"{n_moved} run(s) in {store} under another village or tariff-file path with "
                f"the same data and definition: relabelled as {g.name}'s")
            write(old)
    if old is not None and prune:
        ids = {t.run_id for t in g.tasks}
        kept = old[old["run_id"].isin(ids)]
        outside = [k for k in records if k not in ids]  # failed runs outside the grid too
        if len(kept) < len(old) or outside:
            log(f"removed {old['run_id'].nunique() - kept['run_id'].nunique()} run(s) and "
                f"{len(outside)} failure record(s) outside {g.name} from {store}")
            for k in outside:
                del records[k]
            write(kept)
            old = kept
    if old is not None and not todo:
        refreshed = _merge(old, [], g)  # names of periods or sets may have changed
        if not refreshed[LABEL_COLUMNS].equals(old[LABEL_COLUMNS]) or records != written:
            write(refreshed)

    def flush(final: bool = False) -> None:
        nonlocal last_flush
        if new or (final and records != written):
            write(_merge(read_store(store) if store.exists() else None, new, g))
            new.clear()
        last_flush = time.monotonic()

    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt) \
        if threading.current_thread() is threading.main_thread() else None
    bar = None
    try:
        loaded: dict = {}  # the villages the runs read, each loaded once
        if todo:  # periods a village's data do not cover: said now, failed without running
            uncovered = check_periods(Grid(g.name, tuple(todo)), loaded)
            for where, msg in uncovered.items():
                log(f"{where} is not in the data: {msg}; its runs fail, the others run "
                    "(ansen sweep --dry-run checks a spec without running it)")
            for t in list(todo):
                msg = uncovered.get(f"period {t.period.start}:{t.period.end} on "
                                    f"{t.village.label}")
                if msg is not None:
                    record(t, f"DataError: {msg}")
                    todo.remove(t)
        if todo:  # years a tariff has no taxes for: said now, failed without running
            untaxed = check_tariffs(Grid(g.name, tuple(todo)))
            for where, msg in untaxed.items():
                log(f"{where}: {msg}; its runs fail, the others run "
                    "(ansen sweep --dry-run checks a spec without running it)")
            for t in list(todo):
                msg = untaxed.get(_tariff_where(t))
                if msg is not None:
                    record(t, f"ValueError: {msg}")
                    todo.remove(t)
        if todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=g.name, unit="run", disable=not progress,
                       file=sys.stderr, dynamic_ncols=True)
            villages: dict = {}
            nodes = _nodes(todo, code_sha, villages, loaded)
            del loaded  # the sweep holds no copy of its own: _Loaded hands each over once
            with _execution(nodes, villages, scheduler, workers) as results:
                for node, value in results:
                    t = node.task
                    if isinstance(value, BaseException):
                        record(t, _one_line(value))
                        (bar.write if progress else log)(
                            f"FAILED {t.label()}: {failed[t.label()]}")
                    elif value["code_sha256"] != code_sha:
                        record(t, f"the worker runs other ansen code (SHA-256 "
                                  f"{value['code_sha256'][:12]}, here {code_sha[:12]}): install "
                                  "the same version on the workers")
                        (bar.write if progress else log)(f"FAILED {t.label()}: "
                                                         f"{failed[t.label()]}")
                    else:
                        new.append(_row_frame(t, value, keys[t]))
                        done[t.label()] = float(value["seconds"])
                        records.pop(t.run_id, None)
                        for category, message in value.get("warnings", []):
                            said.setdefault((category, message), []).append(t.label())
                    bar.update(1)
                    if time.monotonic() - last_flush >= flush_seconds:
                        flush()
    except KeyboardInterrupt as exc:
        flush(final=True)
        finished = set(done) | set(failed)
        result = {"done": done, "skipped": skipped, "failed": failed, "store": store,
                  "seconds": time.perf_counter() - wall,
                  "cancelled": [t.label() for t in todo if t.label() not in finished]}
        raise Interrupted(result) from exc
    except Exception:
        flush(final=True)  # what finished is kept
        raise
    finally:
        if bar is not None:
            bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    flush(final=True)  # the rows first: a warning made an error below must not lose them
    for (category, message), labels in said.items():
        where = labels[0] if len(labels) == 1 else f"{len(labels)} runs, e.g. {labels[0]}"
        warnings.warn(f"{message} ({where})", category, stacklevel=2)
    return {"done": done, "skipped": skipped, "failed": failed, "store": store,
            "seconds": time.perf_counter() - wall}


@contextmanager
def _execution(nodes, villages, scheduler, workers) -> Iterator[Iterable]:
    if scheduler == "synchronous":
        yield _serial(nodes, villages)
        return
    with client(scheduler, workers) as dask_client:
        results = _distributed(nodes, villages, dask_client)
        try:
            yield results
        finally:
            results.close()  # cancels what is still pending (Ctrl-C, an error)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --------------------------------------------------------------------------- tables


#: Measures of the cross-model table, each positive when the model does better than the
#: baseline: column -> title with unit.
TABLE_METRICS = {
    "mv_peak_reduction_mean_pct": "MV peak reduction, mean of weeks [%]",
    "transformer_variance_reduction_pct": "transformer variance reduction [%]",
    "saving_eur_per_household_month": "saving per household [EUR/month]",
    "transformer_extreme_removed_pct": "extreme transformer peaks removed [% of the baseline's]",
}


def provenance(rows: pd.DataFrame) -> pd.DataFrame:
    """Where a store's rows come from: one line per village data, code, version and solver.

    Returns
    -------
    pandas.DataFrame
        Index: village, data and code SHA-256 (first 12 hex digits), package
        version, solver; columns ``runs``, ``run_minutes`` (their summed wall
        time on the workers [min]) and ``last_finished_utc``. More than one
        line for one village means rows of different code or data side by
        side: ``ansen sweep`` again brings the grid's rows up to date.
    """
    t = rows[rows["baseline"] == BASELINES[0]].assign(
        data=rows["data_sha256"].str[:12], code=rows["code_sha256"].str[:12])
    out = t.groupby(["village", "data", "code", "version", "solver"]).agg(
        runs=("run_id", "size"), run_minutes=("seconds", lambda s: round(s.sum() / 60, 1)),
        last_finished_utc=("finished_utc", "max"))
    return out


def _short(definition: str) -> str:
    """A definition told apart in a label: its JSON, or "#" and six hex digits of its
    SHA-256 when the JSON is longer than 40 characters (a scenario's recipe, a long
    parameter set)."""
    return definition if len(definition) <= 40 else \
        "#" + hashlib.sha256(definition.encode()).hexdigest()[:6]


def cross_model_table(rows: pd.DataFrame, baseline: str = "M1") -> pd.DataFrame:
    """One row per run against ``baseline``: period, model and :data:`TABLE_METRICS`.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of a store (:func:`read_store`).
    baseline : {"M1", "none"}

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` ("NAME (START to END)", the spec's name of the
        period and its local dates, END the day after the last; "START to END"
        for a period without a name of its own), ``model`` (the model id, followed
        by the scenario ("as-is" for the village as it is, the spec's "none"),
        village and solver where the rows hold more than one,
        and the parameter set where a model has more than one; where one name
        stands for several definitions, the definition's JSON, or "#" and six hex
        digits of its SHA-256 when the JSON is longer than 40 characters),
        ``run_id`` and the measures; sorted by start date, period and model.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    t = rows[rows["baseline"] == baseline].copy()
    steps = t["baseline_transformer_extreme_steps"].astype(float).replace(0, np.nan)
    t["transformer_extreme_removed_pct"] = 100.0 * (
        1 - t["transformer_extreme_steps"].astype(float) / steps)
    label = t["model"].astype(str)
    for name, definition in (("scenario", "scenario_json"), ("params", "params_json"),
                             ("village", "village"), ("solver", "solver")):
        # a parameter set is the model's own: named where it varies for that model; the
        # village a run is on (scenario, village, solver) wherever the table holds more than
        # one, so that no row reads as the village as it is when it is not
        varies = (t.groupby("model")[definition].transform("nunique") > 1 if name == "params"
                  else pd.Series(t[definition].nunique() > 1, index=t.index))
        # one name for several definitions (a parameter set edited since): the JSON too
        ambiguous = t.groupby(["model", name])[definition].transform("nunique") > 1
        shown = t[name].astype(str)
        if name == "scenario":  # the sweep's "none" is the village as it is, not no battery
            shown = shown.where(shown != "none", "as-is")
        part = shown.where(~ambiguous, shown + " " + t[definition].astype(str).map(_short))
        label = label.where(~varies, label + " " + part)
    # the spec's name of the period with its dates (start, and the day after the last)
    dates = t["start"].astype(str) + " to " + t["end"].astype(str)
    named = t["period"].astype(str)
    unnamed = (named == "") | (named == dates) | (
        named == t["start"].astype(str) + ":" + t["end"].astype(str))
    period = dates.where(unnamed, named + " (" + dates + ")")
    out = pd.DataFrame({"period": period, "model": label, "run_id": t["run_id"],
                        "start": t["start"].astype(str)})
    if out.duplicated(["period", "model"]).any():  # a pivot would average them
        raise ValueError("rows of different runs share a model label and period; select the "
                         "rows of one grid (e.g. by run_id) first")
    for col in TABLE_METRICS:
        out[col] = t[col].astype(float)
    out = out.sort_values(["start", "period", "model"], kind="stable")
    return out.drop(columns="start").reset_index(drop=True)


def markdown(table: pd.DataFrame, baseline: str = "M1", title: str = "Sweep") -> str:
    """The table as Markdown: one grid model x period per measure."""
    models = list(dict.fromkeys(sorted(table["model"])))
    periods = list(dict.fromkeys(table["period"]))
    lines = [f"# {title}: every model in every period, against {baseline}", "",
             f"Each cell: the model over that period against {baseline} over the same period "
             "(same village, scenario and data), from the rows of the sweep store.", ""]
    for col, heading in TABLE_METRICS.items():
        grid_ = table.pivot_table(index="model", columns="period", values=col,
                                  dropna=False).reindex(index=models, columns=periods)
        lines += [f"## {heading}", "", "| model | " + " | ".join(grid_.columns) + " |",
                  "|---" * (len(grid_.columns) + 1) + "|"]
        for m, row in grid_.iterrows():
            cells = ["n/a" if pd.isna(v) else f"{v:.2f}" for v in row.to_numpy()]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_report(table: pd.DataFrame, folder, *, baseline: str = "M1",
                 title: str = "Sweep") -> list[Path]:
    """Write sweep.csv, sweep.md and sweep.png/.svg of :func:`cross_model_table` into ``folder``.

    Returns
    -------
    list of pathlib.Path
        The files written (atomically; figures without dates).
    """
    import matplotlib.pyplot as plt

    from ansen import plots
    from ansen.io import atomic_path, write_table

    folder = Path(folder)
    files = [write_table(table.set_index("period"), folder / "sweep.csv")]
    with atomic_path(folder / "sweep.md") as tmp:
        tmp.write_text(markdown(table, baseline, title))
    files.append(folder / "sweep.md")
    plots.set_theme()
    axes = plots.sweep_heatmaps(table, TABLE_METRICS, baseline=baseline, title=title)
    fig = np.ravel(axes)[0].figure
    files += plots.write_figure(fig, folder / "sweep")
    plt.close(fig)
    return files

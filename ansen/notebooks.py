"""Executing the package's notebooks: the kernel, a quiet shutdown, deterministic files.

:func:`execute` runs a notebook with papermill in a kernel of this Python
(:func:`kernel_name`) and, unlike papermill's defaults,

- uses CurveZMQ transport encryption when the kernel supports it (ipykernel
  warns "running over TCP without encryption" otherwise);
- shuts the kernel down with a shutdown request instead of an interrupt
  followed by one (jupyter_client interrupts first, and ipykernel logs
  "KeyboardInterrupt caught in kernel" when the interrupt lands in a
  message handler);
- writes the executed notebook deterministically (:func:`normalize`), so a
  rerun that computes the same results gives a byte-identical file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["KERNELSPEC", "NOTEBOOKS", "execute", "install_kernel", "kernel_name", "normalize"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: The kernel the notebooks name: registered by ``make setup`` inside the venv
#: (``python -m ipykernel install --sys-prefix --name ansen``).
KERNELSPEC = {"name": "ansen", "display_name": "Python (ansen)", "language": "python"}

#: Cell and notebook metadata that change from run to run without the results changing.
VOLATILE_NOTEBOOK = ("papermill", "widgets")
VOLATILE_CELL = ("execution", "papermill", "ExecuteTime", "collapsed", "scrolled")


def kernel_name() -> str:
    """The name of a Jupyter kernel that runs this Python interpreter.

    ``ansen`` when the kernel registered by ``make setup`` starts this
    interpreter, else ``python3`` (jupyter_client starts a ``python``
    kernelspec with the current interpreter).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNELSPEC["name"])
    except NoSuchKernel:
        return "python3"
    exe = Path(spec.argv[0])
    same = exe.is_absolute() and exe.absolute() == Path(sys.executable).absolute()
    return KERNELSPEC["name"] if same else "python3"


def kernel_manager(name: str | None = None):
    """A kernel manager for :func:`execute` (encrypted transport where supported)."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name=name or kernel_name())
    if zmq.has("curve"):
        km.transport_encryption = "auto"  # used when the kernelspec declares support
    return km


#: Added to the kernel's command line by :func:`install_kernel`: without it a kernel that
#: papermill or Jupyter start the usual way (no CurveZMQ keys, an interrupt before the
#: shutdown) logs "running over TCP without encryption" and "KeyboardInterrupt caught in
#: kernel" to the terminal. Errors in cells still reach the notebook and its caller.
QUIET = "--IPKernelApp.log_level=CRITICAL"


def install_kernel() -> Path:
    """Register the ``ansen`` kernel of this Python inside its environment, quiet.

    ``python -m ipykernel install --sys-prefix --name ansen``, then :data:`QUIET` added to
    the kernelspec's command line (kernel.json written atomically). ``make setup`` runs it
    (``python -m ansen.notebooks --install-kernel``). Returns the kernelspec folder.
    """
    import json

    from ipykernel.kernelspec import install

    from ansen.io import atomic_path

    folder = Path(install(kernel_name=KERNELSPEC["name"], display_name=KERNELSPEC["display_name"],
                          prefix=sys.prefix))
    spec = json.loads((folder / "kernel.json").read_text())
    if QUIET not in spec["argv"]:
        spec["argv"].append(QUIET)
    with atomic_path(folder / "kernel.json") as tmp:
        tmp.write_text(json.dumps(spec, indent=1) + "\n")
    return folder


async def _shutdown(km, wait: float = 5.0) -> None:
    if km.has_kernel:
        await km.request_shutdown()
        await km.finish_shutdown(waittime=wait)
    await km.cleanup_resources()


def stop_kernel(km) -> None:
    """Shut a kernel down without interrupting it first; kill it if it does not exit."""
    from jupyter_core.utils import run_sync

    run_sync(_shutdown)(km)


def kill_kernel(km) -> None:
    """End a kernel at once with everything it started (its own process group)."""
    import signal

    proc = getattr(getattr(km, "provisioner", None), "process", None)
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        km.cleanup_connection_file()
    except Exception:  # best effort while exiting
        pass


def execute(notebook: str | os.PathLike, output: str | os.PathLike, parameters: dict, *,
            cwd: str | os.PathLike | None = None, km=None, progress: bool = False,
            stderr=None) -> Path:
    """Execute a notebook with papermill and write it deterministically.

    Parameters
    ----------
    notebook, output : path-like
        Input notebook and executed notebook.
    parameters : dict
        Values for the ``parameters`` cell (use paths relative to ``cwd``, so
        that no absolute path is written into the notebook).
    cwd : path-like, optional
        Working directory of the kernel (default: the folder of ``output``).
    km : jupyter_client kernel manager, optional
        Default :func:`kernel_manager`; pass one to be able to kill the
        kernel from a signal handler.
    progress : bool
        Show papermill's progress bar.
    stderr : file object, optional
        Where to copy what the notebook's cells write to stderr as it comes (their
        progress lines and warnings; e.g. ``sys.stderr``); it stays in the notebook too.

    Returns
    -------
    pathlib.Path
        ``output``, also when execution failed (the exception is re-raised
        after the notebook was written).
    """
    import papermill as pm

    output = Path(output)
    cwd = Path(cwd) if cwd is not None else output.parent
    km = km or kernel_manager()
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=parameters, cwd=str(cwd),
                            kernel_name=km.kernel_name, km=km, progress_bar=progress,
                            log_output=False, stderr_file=stderr)
    finally:
        stop_kernel(km)
        if output.exists():
            normalize(output, roots={cwd: "."})
    return output


def _join_streams(outputs: list) -> list:
    """The outputs with each run of stream outputs to one stream (stdout, stderr) joined."""
    joined: list = []
    for out in outputs:
        last = joined[-1] if joined else None
        if (out.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == out.get("name")):
            last["text"] = last["text"] + out["text"]
        else:
            joined.append(out)
    return joined


def _replace_roots(text: str, roots: list[tuple[str, str]]) -> str:
    for old, new in roots:
        text = text.replace(old, new)
    return text


def normalize(path: str | os.PathLike, roots: dict | None = None) -> Path:
    """Rewrite an executed notebook without what changes between identical runs.

    Removed: execution timestamps and papermill timings (cell and notebook
    metadata), the Python version in ``language_info``; cell ids become
    ``cell-00``, ``cell-01``, ...; the kernelspec becomes :data:`KERNELSPEC`.
    Consecutive stream outputs of a cell to the same stream are joined into one
    (how the kernel happened to send the lines in pieces differs between runs).
    In outputs, absolute paths of this machine are written relative: each key
    of ``roots`` (a folder) by its value, then the repository as ``<repo>``,
    this Python's prefix as ``<python>`` and the home folder as ``~``.
    Everything else (sources, outputs, execution counts) is kept.

    Returns
    -------
    pathlib.Path
        ``path``, rewritten atomically.
    """
    import nbformat

    from ansen.io import atomic_path

    path = Path(path)
    pairs = {str(Path(k).resolve()): v for k, v in (roots or {}).items()}
    pairs.setdefault(str(NOTEBOOKS.parent), "<repo>")
    pairs.setdefault(sys.prefix, "<python>")
    pairs.setdefault(os.path.expanduser("~"), "~")
    ordered = sorted(pairs.items(), key=lambda kv: -len(kv[0]))
    nb = nbformat.read(path, as_version=4)
    for key in VOLATILE_NOTEBOOK:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        for key in VOLATILE_CELL:
            cell.metadata.pop(key, None)
        if not cell.metadata.get("tags", True):
            cell.metadata.pop("tags")
        if "outputs" in cell:
            cell["outputs"] = _join_streams(cell["outputs"])
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _replace_roots(out["text"], ordered)
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    out["data"][mime] = _replace_roots(value, ordered)
            if "traceback" in out:
                out["traceback"] = [_replace_roots(x, ordered) for x in out["traceback"]]
            if "evalue" in out:
                out["evalue"] = _replace_roots(out["evalue"], ordered)
    text = nbformat.writes(nb)
    with atomic_path(path) as tmp:
        tmp.write_text(text if text.endswith("\n") else text + "\n")
    return path


def rebuild(names=("data_overview", "experiment", "freshness", "summary", "sweep")) -> list[Path]:
    """Execute the committed notebooks of ``notebooks/`` in place with their default parameters.

    Each runs in a scratch working directory (so the experiment notebook's
    default output folder does not land in the repository) and is written
    back deterministically (:func:`normalize`). This is ``make notebooks``.
    """
    import shutil
    import tempfile

    out = []
    with tempfile.TemporaryDirectory(prefix="ansen-notebooks-") as tmp:
        for name in names:
            executed = Path(tmp) / f"{name}.ipynb"
            execute(NOTEBOOKS / f"{name}.ipynb", executed, {}, cwd=tmp)
            shutil.copyfile(executed, NOTEBOOKS / f"{name}.ipynb")
            out.append(NOTEBOOKS / f"{name}.ipynb")
            print(f"executed {out[-1].relative_to(NOTEBOOKS.parent)}")
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["--install-kernel"]:
        print(f"kernel 'ansen' of {sys.executable} in {install_kernel()}")
        sys.exit(0)
    rebuild(sys.argv[1:] or ("data_overview", "experiment", "freshness", "summary", "sweep",
                             "penetration"))

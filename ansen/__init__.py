"""ansen: open reproduction package of the Ansen home-battery pilot."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ansen")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "simulate"]


def __getattr__(name):
    # simulate pulls in Pyomo; import it only when asked for
    if name == "simulate":
        from ansen.simulator import simulate

        return simulate
    raise AttributeError(f"module 'ansen' has no attribute {name!r}")

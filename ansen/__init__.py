"""ansen: open reproduction package of the Ansen home-battery pilot."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ansen")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

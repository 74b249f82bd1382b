"""Shared fixtures: a tiny valid village built through the public schema."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ansen.data import from_arrays

EXAMPLE_EXPORT = Path(__file__).parent / "data" / "example_export"


def tiny(days: int = 2, start: str = "2025-06-02",
         minutes: int = 15) -> "xarray.Dataset":  # noqa: F821
    """Three households, two transformers, ``days`` days of ``minutes``-minute steps."""
    t = pd.date_range(start, periods=24 * 60 // minutes * days, freq=f"{minutes}min")
    hour = (t.hour + t.minute / 60).to_numpy()
    sun = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None)
    load = np.column_stack([0.3 + 0.4 * (hour > 17), 0.2 + 0.1 * np.cos(hour), 0.5 + 0 * hour])
    pv = np.column_stack([3.0 * sun, 0 * sun, 2.0 * sun])
    return from_arrays(
        t, load, pv,
        household_transformer=["T1", "T1", "T2"],
        transformer_kva=[250.0, 160.0],
        transformer_rest_kw=np.full((len(t), 2), 2.0),
        price_eur_per_kwh=0.1 - 0.05 * sun,
        battery_kwh=[10.0, 0.0, 10.0], battery_kw=[5.0, 0.0, 5.0], battery_eff=[0.95, 1, 0.95],
        name="tiny",
    )


def cli_command(*args: str) -> list[str]:
    """The command that runs ``ansen *args`` in a child that stops on SIGINT as from a
    terminal: a test suite started in the background of a non-interactive shell ignores
    SIGINT, and its children inherit that (the Ctrl-C tests then failed for the suite's
    start, not the code). The child sets the handler itself (no ``preexec_fn``, which is
    unsafe while the test process runs threads)."""
    import sys

    return [sys.executable, "-c", "import signal, sys; "
            "signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from ansen.cli import main; sys.exit(main(sys.argv[1:]))", *map(str, args)]


@pytest.fixture
def village():
    return tiny()

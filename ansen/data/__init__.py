"""Village data: schema and validation, readers and writers, the synthetic village.

Public API
----------
load(path)          read a NetCDF village or a folder of exports, validated
load_default()      the shipped synthetic Ansen village
validate(ds)        check a Dataset against the schema, raise DataError
save(ds, path)      atomic NetCDF write
synthesize(seed)    rebuild the synthetic village (needs the ``synth`` extra)
summary(ds)         annual figures of a village
from_arrays(...)    build a validated village from plain arrays
"""

from ansen.data.build import from_arrays
from ansen.data.io import DEFAULT_PATH, load, load_default, read_folder, save
from ansen.data.schema import VARIABLES, DataError, local_time, step_hours, validate
from ansen.data.summary import summary

__all__ = [
    "DEFAULT_PATH",
    "VARIABLES",
    "DataError",
    "from_arrays",
    "load",
    "load_default",
    "local_time",
    "read_folder",
    "save",
    "step_hours",
    "summary",
    "synthesize",
    "validate",
]


def synthesize(seed: int = 2024, spec=None):
    """Build the synthetic Ansen village (see :mod:`ansen.data.synthetic`)."""
    from ansen.data.synthetic import synthesize as _synthesize

    return _synthesize(seed=seed, spec=spec)

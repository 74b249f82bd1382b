"""Every steering-model parameter by name: its type and range, checked when a model is made.

A value of the wrong type (the text ``"1.0"`` for a price, a list for a
share) or outside its range (a negative shadow price, which would make the
LP unbounded; a threshold below zero) is refused with a :class:`ValueError`
that names the model, the parameter, the value and what it should be.
Whole numbers given as floats (``7.0``, as TOML and JSON write them) are
accepted where a whole number is asked for.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

__all__ = ["PARAMETERS", "Param", "check"]


@dataclass(frozen=True)
class Param:
    """What a parameter may be.

    Attributes
    ----------
    kind : {"number", "whole", "choice"}
    low, high : float, optional
        Range (inclusive unless ``open_low``).
    open_low : bool
        ``low`` itself is not allowed.
    none : bool
        ``None`` is allowed (a default computed by the model).
    choices : tuple of str
        For ``kind="choice"``.
    unit : str
        For the message.
    """

    kind: str = "number"
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    none: bool = False
    choices: tuple = ()
    unit: str = ""

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = "a whole number" if self.kind == "whole" else "a number"
        if self.low is not None and self.high is not None:
            what += f" in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"
        elif self.low is not None:
            what += f" {'>' if self.open_low else '>='} {self.low:g}"
        if self.unit:
            what += f" [{self.unit}]"
        return what + (" or None" if self.none else "")


EUR_PER_KWH = Param(low=0.0, high=100.0, unit="EUR/kWh")
SHARE = Param(low=0.0, high=1.0)

#: Every parameter of the models in ansen.models, by name.
PARAMETERS: dict[str, Param] = {
    "epsilon_eur_per_kwh": EUR_PER_KWH,
    "wear_eur_per_kwh": EUR_PER_KWH,
    "end_value_eur_per_kwh": Param(low=0.0, high=100.0, none=True, unit="EUR/kWh"),
    "meter": Param(kind="choice", choices=("household", "community")),
    "shadow_eur_per_kwh": EUR_PER_KWH,
    "threshold_pu": Param(low=0.0, high=10.0, open_low=True, unit="of the rating"),
    "mv_shadow_eur_per_kwh": EUR_PER_KWH,
    "mv_threshold_kw": Param(low=0.0, none=True, unit="kW"),
    "mv_threshold_pu": Param(low=0.0, high=10.0, open_low=True,
                             unit="of the largest forecast MV load"),
    "mv_peak_eur_per_kw": Param(low=0.0, high=1e4, unit="EUR/kW"),
    "peak_weight": Param(low=0.0, high=1e4, unit="h"),
    "segments": Param(kind="whole", low=1, high=50),
    "segment_pu": Param(low=0.0, high=10.0, open_low=True, unit="of the rating"),
    "flex_share": SHARE,
    "ev_flex_share": SHARE,
    "response": SHARE,
    "red_hours": Param(low=0.0, high=24.0, unit="h"),
    "green_hours": Param(low=0.0, high=24.0, unit="h"),
    "scope": Param(kind="choice", choices=("community", "village")),
}


def check(owner: str, name: str, value, spec: Param | None = None):
    """Return ``value`` (a whole-number float as int) if it fits ``spec``, else raise ValueError.

    ``owner`` names the model (or the function) in the message.
    """
    spec = spec or PARAMETERS.get(name)
    if spec is None:
        return value
    bad = f"{owner}: {name} must be {spec.describe()}, got {value!r}"
    if value is None:
        if spec.none:
            return value
        raise ValueError(bad)
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ValueError(bad)
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(bad + (" (a text, not a number)" if isinstance(value, str) else ""))
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(bad)
    if spec.kind == "whole":
        if value != int(value):
            raise ValueError(bad)
        value = int(value)
    if spec.low is not None and (value < spec.low or (spec.open_low and value == spec.low)):
        raise ValueError(bad)
    if spec.high is not None and value > spec.high:
        raise ValueError(bad)
    return value

"""The controller: what it knows (information), how it plans (planner), what it does (real time).

- :mod:`ansen.controller.information`: per data stream, what is known when
  (grid data age, own meters, day-ahead prices, weather forecasts);
- :mod:`ansen.controller.planner`: forecasts and the steering LP, day-ahead
  plans and intraday re-plans over a window;
- :mod:`ansen.controller.realtime`: set points applied within the batteries'
  limits (optionally held to the plan's meter exchange, or with a guard on each
  transformer's load), rule models step by step.

:func:`ansen.simulate` puts them together over a run.
"""

from ansen.controller.information import Information, KnownData
from ansen.controller.planner import Planner, Prices
from ansen.controller.realtime import (
    REALTIME,
    Fleet,
    apply_rule,
    apply_rule_guarded,
    apply_setpoints,
    guard_setpoints,
    meter_rule,
)

__all__ = ["REALTIME", "Fleet", "Information", "KnownData", "Planner", "Prices", "apply_rule",
           "apply_rule_guarded", "apply_setpoints", "guard_setpoints", "meter_rule"]

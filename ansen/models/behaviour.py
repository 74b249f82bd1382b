"""``M6`` "energy flash mob": M4 plus code red / code green messages.

Each local day the residents get a message with *code red* slots (the
``red_hours`` with the highest forecast village transformer load: the
evening peak) and *code green* slots (the ``green_hours`` with the lowest,
i.e. the largest feed-in at sunny middays). A responding household moves a
share of its flexible load out of red into green slots of the same day,
spread evenly over the green slots; its daily energy is unchanged:

.. math::

    \\Delta L_{h,t} = -r\\,F_{h,t}\\,[t \\in R_d] + \\frac{r \\sum_{s \\in R_d} F_{h,s}}{|G_d|}\\,[t \\in G_d]

with the flexible load :math:`F = f\\,(L - L^{ev} - L^{hp}) + f^{ev} L^{ev}`
(washing machine, dryer, dishwasher as a share ``flex_share`` of appliance
use; a share ``ev_flex_share`` of EV charging) and :math:`r` the expected
share of households acting on a message (``response``). The slots come from
the forecast made at the decision before the day; the shift is applied to the
actual load. The LP sees the forecast load shifted by the same rule.

Parameter defaults are assumptions, not pilot figures: ``flex_share`` 0.15,
``ev_flex_share`` 0.5, ``response`` 0.5 (the report says participation held up
over the six weeks but gives no rate), 3 red and 3 green hours. ``scope``:
``"community"`` (the battery households, default) or ``"village"`` (all).
"""

from __future__ import annotations

import numpy as np

from ansen.models.cost import ECONOMY, EPSILON, LOCAL, LocalCongestion

__all__ = ["FlashMob", "code_slots", "shift_load"]

BEHAVIOUR = {"flex_share": 0.15, "ev_flex_share": 0.5, "response": 0.5, "red_hours": 3.0,
             "green_hours": 3.0, "scope": "community"}


def code_slots(forecast_kw: np.ndarray, red_steps: int, green_steps: int):
    """Code red and green masks for one day from a forecast load (import positive)."""
    order = np.argsort(forecast_kw, kind="stable")
    red = np.zeros(len(forecast_kw), dtype=bool)
    green = np.zeros(len(forecast_kw), dtype=bool)
    green[order[:green_steps]] = True
    red[order[::-1][:red_steps]] = True
    red &= ~green
    return red, green


def shift_load(load: np.ndarray, flexible: np.ndarray, red: np.ndarray, green: np.ndarray,
               response: float) -> np.ndarray:
    """Move ``response`` x flexible load out of red into green steps (one day, time first).

    Energy per household (column) is conserved; the load stays >= 0.
    """
    if not red.any() or not green.any():
        return load
    moved = response * np.where(red[:, None], flexible, 0.0)
    out = load - moved
    out[green] += moved.sum(axis=0) / green.sum()
    return out


class FlashMob(LocalCongestion):
    """``M6``: M4 plus behavioural response to code red / code green messages."""

    id = "M6"
    name = "energy flash mob (M4 + behaviour)"
    defaults = {**EPSILON, **ECONOMY, "meter": "household", **LOCAL, **BEHAVIOUR}
    behaviour = True

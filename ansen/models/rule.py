"""Steering by rule, without an optimiser: ``none`` and ``M1`` (self-consumption).

Both act in real time on the actual (not forecast) household exchange, as the
pilot's M1 batteries did.

``none``: :math:`P_{b,t} = 0`.

``M1`` (maximum self-consumption, the report's baseline "nulmeting"):
charge from the household's own PV surplus, discharge to cover its own
deficit, within the power limit and the state-of-charge bounds (applied by
the simulator's real-time layer):

.. math::

    P^{set}_{b,t} = PV_{b,t} - L_{b,t}
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ansen.models.base import SteeringModel

__all__ = ["NoBattery", "SelfConsumption"]


class NoBattery(SteeringModel):
    """``none``: the batteries stay idle (the village without batteries)."""

    id = "none"
    name = "no battery"
    defaults: ClassVar[dict] = {}

    def rule(self, net0: np.ndarray) -> np.ndarray:
        return np.zeros_like(net0)


class SelfConsumption(SteeringModel):
    """``M1``: each battery follows its own household's surplus and deficit."""

    id = "M1"
    name = "maximum self-consumption"
    defaults: ClassVar[dict] = {}

    def rule(self, net0: np.ndarray) -> np.ndarray:
        return -net0

"""The real-time layer: what the batteries actually do with a plan or a rule.

It applies set points to the actual data, step by step, within each
battery's power limit and state-of-charge bounds; forecast error therefore
shows in the results (a battery full earlier than planned clips its set
point). Rule models (``none``, ``M1``) act here on each step's actual net
exchange.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Fleet", "apply_setpoints", "apply_rule"]


class Fleet:
    """The battery sites' fixed data (arrays of shape (B,)).

    Attributes
    ----------
    capacity, power, efficiency, soc_min : [kWh], [kW], [-] one-way, [kWh]
    """

    def __init__(self, capacity, power, efficiency, soc_min):
        self.capacity = np.asarray(capacity, dtype=float)
        self.power = np.asarray(power, dtype=float)
        self.efficiency = np.asarray(efficiency, dtype=float)
        self.soc_min = np.asarray(soc_min, dtype=float)


def apply_setpoints(setpoint: np.ndarray, soc0: np.ndarray, capacity: np.ndarray,
                    power: np.ndarray, efficiency: np.ndarray, soc_min: np.ndarray,
                    dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Battery power within limits, and the state of charge.

    Parameters
    ----------
    setpoint : (n, B) requested battery power [kW], charge positive
    soc0 : (B,) state of charge before the first step [kWh]
    capacity, power, efficiency, soc_min : (B,) [kWh], [kW], [-], [kWh]
    dt : step length [h]

    Returns
    -------
    power : (n, B) applied battery power [kW], charge positive
    soc : (n, B) state of charge at the end of each step [kWh]

    Notes
    -----
    .. math::

        P_t = \\min(\\max(P^{set}_t, -\\bar P, -(E_{t-1} - \\underline E)\\eta/\\Delta t),
                   \\bar P, (\\bar E - E_{t-1})/(\\eta \\Delta t))

        E_t = E_{t-1} + \\eta P^+_t \\Delta t - P^-_t \\Delta t / \\eta

    A set point that is feasible passes unchanged.
    """
    n = len(setpoint)
    out = np.empty_like(setpoint, dtype=float)
    socs = np.empty_like(setpoint, dtype=float)
    soc = np.asarray(soc0, dtype=float).copy()
    for i in range(n):
        room_charge = np.maximum(capacity - soc, 0.0) / (efficiency * dt)
        room_discharge = np.maximum(soc - soc_min, 0.0) * efficiency / dt
        p = np.clip(setpoint[i], -power, power)
        p = np.minimum(p, room_charge)
        p = np.maximum(p, -room_discharge)
        soc = soc + np.where(p > 0, p * efficiency * dt, p / efficiency * dt)
        soc = np.clip(soc, soc_min, capacity)  # remove rounding residue only
        out[i] = p
        socs[i] = soc
    return out, socs


def apply_rule(rule, actual_net: np.ndarray, soc0: np.ndarray, fleet: Fleet,
               dt: float) -> tuple[np.ndarray, np.ndarray]:
    """A rule model in real time: each step's set point from that step's actual net exchange.

    ``rule(net)`` maps the (B,) net exchange without battery [kW] to set points.
    """
    n, b = actual_net.shape
    power, socs = np.empty((n, b)), np.empty((n, b))
    soc = np.asarray(soc0, dtype=float)
    for i in range(n):
        p, s = apply_setpoints(rule(actual_net[i])[None, :], soc, fleet.capacity, fleet.power,
                               fleet.efficiency, fleet.soc_min, dt)
        power[i], socs[i] = p[0], s[0]
        soc = s[0]
    return power, socs

"""The real-time layer: what the batteries actually do with a plan or a rule.

It applies set points to the actual data, step by step, within each
battery's power limit and state-of-charge bounds; forecast error therefore
shows in the results (a battery full earlier than planned clips its set
point). Rule models (``none``, ``M1``) act here on each step's actual net
exchange.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Fleet", "REALTIME", "apply_setpoints", "apply_rule", "meter_rule"]

#: How the real-time layer treats a plan's set points (``simulate(realtime=...)``):
#: ``"setpoint"`` applies them as they are (within the battery's limits); ``"meter"``
#: also holds each household's meter to what the plan expected of it
#: (:func:`meter_rule`).
REALTIME = ("setpoint", "meter")


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


def meter_rule(setpoint: np.ndarray, forecast_net: np.ndarray,
               actual_net: np.ndarray) -> np.ndarray:
    """Set points moved so that no meter imports or exports more than its plan expected.

    The plan expected meter exchange :math:`m_t = \\hat n_t + P^{set}_t` (forecast net
    exchange without battery plus the set point, import positive). With the actual net
    exchange :math:`n_t` the set point would give :math:`n_t + P^{set}_t`; the rule keeps
    that within :math:`[\\min(m_t, 0), \\max(m_t, 0)]`:

    .. math::

        P_t = \\min(\\max(P^{set}_t,\\ \\min(m_t, 0) - n_t),\\ \\max(m_t, 0) - n_t)

    So surplus the forecast missed is charged instead of exported, load it missed is
    served from the battery (or by charging less) instead of imported, and a meter the
    plan meant to import (charging from the grid at a cheap hour, say) or export
    (selling at a high price) keeps doing so up to the planned amount. Each change moves
    a meter towards zero, never away; with a perfect forecast nothing changes. The
    battery's limits are applied after (:func:`apply_setpoints`), and the next re-plan
    starts from the state of charge that results.

    Parameters
    ----------
    setpoint, forecast_net, actual_net : (n, B) [kW]
        The plan's battery power (charge positive), the forecast and the actual net
        exchange without battery (import positive) of each battery's household.

    Returns
    -------
    (n, B) set points [kW]
    """
    setpoint = np.asarray(setpoint, dtype=float)
    actual_net = np.asarray(actual_net, dtype=float)
    meter = np.asarray(forecast_net, dtype=float) + setpoint
    return np.clip(setpoint, np.minimum(meter, 0.0) - actual_net,
                   np.maximum(meter, 0.0) - actual_net)

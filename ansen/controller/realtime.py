"""The real-time layer: what the batteries actually do with a plan or a rule.

It applies set points to the actual data, step by step, within each
battery's power limit and state-of-charge bounds; forecast error therefore
shows in the results (a battery full earlier than planned clips its set
point). Rule models (``none``, ``M1``) act here on each step's actual net
exchange. Two optional real-time rules move a plan's set points first: each
household's meter held to its plan (:func:`meter_rule`), and each transformer's
load held within a share of its rating (:func:`guard_setpoints`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Fleet", "REALTIME", "apply_setpoints", "apply_rule", "apply_rule_guarded",
           "guard_setpoints", "meter_rule", "power_limits"]

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


def power_limits(soc: np.ndarray, capacity: np.ndarray, power: np.ndarray,
                 efficiency: np.ndarray, soc_min: np.ndarray, dt: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The battery power each battery can hold for one step from ``soc`` [kWh]: the lowest
    (discharge, <= 0) and the highest (charge, >= 0) [kW], by its power and by the energy
    its state of charge leaves between ``soc_min`` and ``capacity``."""
    high = np.minimum(power, np.maximum(capacity - soc, 0.0) / (efficiency * dt))
    low = -np.minimum(power, np.maximum(soc - soc_min, 0.0) * efficiency / dt)
    return low, high


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
        p = np.clip(setpoint[i], *power_limits(soc, capacity, power, efficiency, soc_min, dt))
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


def apply_rule_guarded(rule, actual_net: np.ndarray, soc0: np.ndarray, fleet: Fleet,
                       dt: float, base_kw: np.ndarray, site_transformer: np.ndarray,
                       limit_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`apply_rule` with the transformer guard of :func:`guard_setpoints` on each
    step's set points (M1, and the fallback M1, under ``simulate(transformer_guard=...)``).

    Returns power, state of charge and the guard's change, as :func:`guard_setpoints`.
    """
    n, b = actual_net.shape
    power, socs, moved = np.empty((n, b)), np.empty((n, b)), np.empty((n, b))
    soc = np.asarray(soc0, dtype=float)
    for i in range(n):
        p, s, m = guard_setpoints(rule(actual_net[i])[None, :], soc, fleet, dt,
                                  base_kw[i:i + 1], site_transformer, limit_kw)
        power[i], socs[i], moved[i] = p[0], s[0], m[0]
        soc = s[0]
    return power, socs, moved


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


def _share(need: np.ndarray, room: np.ndarray, tr: np.ndarray, k: int) -> np.ndarray:
    """Each battery's part of its transformer's ``need`` (K,), in proportion to its ``room``
    (B,) and at most all of it [kW]."""
    total = np.bincount(tr, weights=room, minlength=k)
    share = np.divide(np.minimum(need, total), total, out=np.zeros(k), where=total > 0)
    return room * share[tr]


def guard_setpoints(setpoint: np.ndarray, soc0: np.ndarray, fleet: Fleet, dt: float,
                    base_kw: np.ndarray, site_transformer: np.ndarray,
                    limit_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Set points applied with a real-time guard on each transformer's load.

    Step by step, each set point is first held within its battery's limits
    (:func:`apply_setpoints`). Where a transformer's load with the batteries,
    :math:`L_{k,t} = B_{k,t} + \\sum_{b \\in k} P_{b,t}`, would then import more than
    its limit :math:`G_k`, its batteries together lower their power by
    :math:`\\min(L_{k,t} - G_k, R^-_{k,t})`; where it would export more, they raise it by
    :math:`\\min(-G_k - L_{k,t}, R^+_{k,t})`. The change goes first to the batteries that
    work against the limit (charging into an import excess, discharging into an export
    excess), in proportion to that power, so that none charges while another discharges
    for it; what remains, to all of the transformer's batteries in proportion to their
    room (what each can still do that way in this step, by power and state of charge).
    :math:`R^\\pm_{k,t}` is the transformer's sum of both.

    A transformer within its limit is left as planned, and in the step it acts in the
    guard moves a load only towards the limit. It cannot hold a load the batteries are
    too small for (midday feed-in of a village full of PV), and it is greedy: it spends
    stored energy on the excess of this step, which the plan may have kept for a later,
    larger one, so over a day a guarded transformer's peak can be higher than without
    the guard (the planner does not know the limit).

    The guard reads the transformer's load of the step it acts in, as a battery's own
    inverter reads its meter: it assumes a live measurement on the transformer (the
    pilot's grid data were a week old; seed 001 calls real-time insight into the local
    grid load "still a challenge").

    Parameters
    ----------
    setpoint : (n, B) [kW]
        The plan's (or a rule's) battery power, charge positive.
    soc0 : (B,) [kWh]
        State of charge before the first step.
    fleet : Fleet
    dt : float [h]
    base_kw : (n, K) [kW]
        Each transformer's load without the batteries (import positive; with the
        behaviour of M6).
    site_transformer : (B,) int
        Each battery's transformer (an index into K).
    limit_kw : (K,) [kW]
        The guard's limit per transformer, finite and >= 0 (0 holds every transformer
        at zero exchange as far as its batteries can).

    Returns
    -------
    power : (n, B) applied battery power [kW], charge positive
    soc : (n, B) state of charge at the end of each step [kWh]
    moved : (n, B) [kW]
        What the guard added to each battery's power, after the battery's limits
        (so ``power - moved`` is the set point within them).

    Raises
    ------
    ValueError
        A limit that is negative or not finite, or arrays of other shapes.
    """
    setpoint = np.asarray(setpoint, dtype=float)
    base_kw = np.asarray(base_kw, dtype=float)
    limit_kw = np.asarray(limit_kw, dtype=float)
    n, b = setpoint.shape
    k = len(limit_kw)
    tr = np.asarray(site_transformer, dtype=int)
    if not np.all(np.isfinite(limit_kw)) or (limit_kw < 0).any():
        raise ValueError(f"guard_setpoints: limit_kw must be finite and >= 0 [kW], got "
                         f"{limit_kw.tolist()}")
    if base_kw.shape != (n, k) or tr.shape != (b,) or (b and (tr.min() < 0 or tr.max() >= k)):
        raise ValueError(f"guard_setpoints: base_kw must be (steps, transformers) = {(n, k)} "
                         f"and site_transformer {b} indices below {k}; got {base_kw.shape} "
                         f"and {tr.shape}")
    power, socs, moved = np.empty((n, b)), np.empty((n, b)), np.zeros((n, b))
    soc = np.asarray(soc0, dtype=float).copy()
    for i in range(n):
        # within the battery's limits first, as apply_setpoints holds them
        low, high = power_limits(soc, fleet.capacity, fleet.power, fleet.efficiency,
                                 fleet.soc_min, dt)
        p = planned = np.clip(setpoint[i], low, high)
        load = base_kw[i] + np.bincount(tr, weights=p, minlength=k)
        over = np.maximum(load - limit_kw, 0.0)   # import beyond the limit
        under = np.maximum(-limit_kw - load, 0.0)  # export beyond it
        if over.any() or under.any():
            # first less charging into an import excess, less discharging into an export one
            less_charge = _share(over, np.maximum(p, 0.0), tr, k)
            less_discharge = _share(under, np.maximum(-p, 0.0), tr, k)
            p = p - less_charge + less_discharge
            over = over - np.bincount(tr, weights=less_charge, minlength=k)
            under = under - np.bincount(tr, weights=less_discharge, minlength=k)
            # then discharge (charge) more, by each battery's room
            p = p - _share(np.maximum(over, 0.0), p - low, tr, k) \
                + _share(np.maximum(under, 0.0), high - p, tr, k)
            p = np.clip(p, low, high)  # rounding only
            moved[i] = p - planned
        step, s = apply_setpoints(p[None, :], soc, fleet.capacity, fleet.power,
                                  fleet.efficiency, fleet.soc_min, dt)
        power[i], socs[i] = step[0], s[0]
        soc = s[0]
    return power, socs, moved

"""Exact plans for batteries that each pay only their own meter: dynamic programming.

When a cost model has no grid term that couples the batteries (M0, and M2
with household meters), the fleet LP of :mod:`ansen.models.cost` is one
small LP per battery. Each is a *single-storage* problem with a convex
piecewise-linear cost per step, and such a problem is solved exactly, with
no LP solver, by dynamic programming over the state of charge: the cost to
reach a state of charge is a convex piecewise-linear function of it, and
one step of the recursion only merges two sorted lists of slopes. This
module does that for every battery of the fleet at once (numpy over the
batteries, a loop over the steps), so a plan for 140 batteries costs a few
times one for ten, not fourteen times (benchmarks/RESULTS.md: M0 94 ms per
simulated day at 140 sites, 21-43 ms at ten).

Notes
-----
For battery :math:`b` and step :math:`t` (the module docstring of
:mod:`ansen.models.cost` has the LP), let :math:`y = \\Delta t\\,(\\eta P^{ch}
- P^{dis}/\\eta)` be the change of the state of charge [kWh]. The LP's
cost of a step, minimised over the powers that give the same :math:`y`,

.. math::

    f_{b,t}(y) = \\min \\{ g_{b,t}(P^{ch}, P^{dis}) :
        \\Delta t\\,(\\eta P^{ch} - P^{dis}/\\eta) = y,\\ P \\text{ within bounds} \\},

    g_{b,t} = a^{ch} P^{ch} + a^{dis} P^{dis} + s \\max(0,\\ n^0 + P^{ch} - P^{dis}),

is convex and piecewise linear: :math:`g` is linear on each cell of the box
of bounds cut by the meter's kink :math:`n^0 + P^{ch} - P^{dis} = 0`, so
:math:`f` is the lower convex hull of the points :math:`(y(v), g(v))` of the
cells' vertices :math:`v` (at most six: four corners, and the two points
where the kink enters and leaves the box). Here :math:`a^{ch} = \\Delta t\\,(c^{exp} +
\\omega + \\epsilon)`, :math:`a^{dis} = \\Delta t\\,(\\omega + \\epsilon - c^{exp})`
and :math:`s = \\Delta t\\,(c^{imp} - c^{exp}) \\ge 0`. The hull is the LP's
own relaxation: where a negative price makes charging and discharging at
once pay, the hull has that point too, exactly as the LP does, and the
planner holds directions the same way (:mod:`ansen.controller.planner`).

Forward, the cost of ending step :math:`t` at state of charge :math:`E`,

.. math::

    J_t(E) = \\min_y \\big( J_{t-1}(E - y) + f_{b,t}(y) \\big) - v_{b,t} E,
    \\quad E \\in [\\underline E_b, \\bar E_b],

is an infimal convolution of two convex piecewise-linear functions: the
segments of both, merged in the order of their slopes, then cut to the
bounds of the state of charge (:math:`v_{b,t}` is the value of energy left
in store, non-zero at the horizon's last step). Backward, the state of
charge at the end minimises :math:`J_\\tau`, and each step's :math:`y` is
the part of the merged segments up to that state of charge that came from
:math:`f_{b,t}`. The powers follow from :math:`y` on the hull. The optimum
is the LP's (tests compare both on random batteries, prices, bounds and
negative prices); among equal optima the two may choose differently.

Cost: about :math:`N (S + 5) \\log(S + 5)` per battery and plan for
:math:`N` steps, :math:`S` segments of :math:`J` (tens, as the state of
charge spans a few steps of full power) and at most five of each
:math:`f_{b,t}` (a sort of both per step).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["StepCosts", "SeparableRunner", "plan_cost", "solve_storage", "solve_storage_blocks",
           "step_costs"]

#: Slope of an unused segment slot: sorts after every real one (its width is 0).
_UNUSED = 1e30
#: Widths and differences of state of charge below this [kWh] are rounding.
_TOL = 1e-12
#: Vertices of a step's cost: four corners of the box of powers, two ends of the kink.
_POINTS = 6


class StepCosts:
    """The cost of each step as a convex piecewise-linear function of the change of
    the state of charge (module docstring), for B batteries and N steps.

    Attributes
    ----------
    y_low : (B, N) smallest change of the state of charge [kWh]
    g_low : (B, N) its cost [EUR]
    slopes, widths : (B, N, 5) the hull's segments from ``y_low`` upwards
        [EUR/kWh], [kWh] (unused ones: width 0, slope very large)
    charge, discharge : (B, N, 6) the powers [kW] at the hull's vertices
    """

    def __init__(self, y_low, g_low, slopes, widths, charge, discharge):
        self.y_low, self.g_low = y_low, g_low
        self.slopes, self.widths = slopes, widths
        self.charge, self.discharge = charge, discharge

    def powers(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Charge and discharge power [kW] (B, N) that give the changes ``y`` at least cost."""
        u = y - self.y_low
        ends = np.cumsum(self.widths, axis=2)
        seg = np.minimum((ends <= u[..., None]).sum(axis=2), self.widths.shape[2] - 1)
        start = np.take_along_axis(ends - self.widths, seg[..., None], 2)[..., 0]
        width = np.take_along_axis(self.widths, seg[..., None], 2)[..., 0]
        frac = np.clip(np.divide(u - start, width, out=np.zeros_like(u), where=width > 0),
                       0.0, 1.0)

        def along(v):
            a = np.take_along_axis(v, seg[..., None], 2)[..., 0]
            b = np.take_along_axis(v, seg[..., None] + 1, 2)[..., 0]
            return a + frac * (b - a)

        return along(self.charge), along(self.discharge)


def step_costs(charge_bounds, discharge_bounds, net0, a_charge, a_discharge, spread,
               efficiency, dt_h) -> StepCosts:
    """Each step's cost as a function of the change of the state of charge (module docstring).

    Parameters
    ----------
    charge_bounds, discharge_bounds : pair of (B, N) arrays
        Lower and upper bounds of the charge and discharge power [kW].
    net0 : (B, N) the household's net exchange without battery [kW]
    a_charge, a_discharge : (B, N) cost of a kW charged or discharged over the step [EUR/kW]
    spread : (B, N) import minus export price times the step [EUR/kW], >= 0
    efficiency : (B,) one-way efficiency
    dt_h : float, step [h]
    """
    clo, chi = (np.asarray(x, dtype=float) for x in charge_bounds)
    dlo, dhi = (np.asarray(x, dtype=float) for x in discharge_bounds)
    n0 = np.asarray(net0, dtype=float)
    if n0.ndim != 2:
        raise ValueError(f"step_costs: net0 must be (batteries, steps), got shape {n0.shape}")
    shape = n0.shape
    # the vertices: four corners, then where the kink n0 + c - d = 0 enters and leaves the
    # box (c in [max(clo, dlo - n0), min(chi, dhi - n0)], d = c + n0)
    c_in, c_out = np.maximum(clo, dlo - n0), np.minimum(chi, dhi - n0)
    crosses = c_in <= c_out
    c_in, c_out = np.where(crosses, c_in, clo), np.where(crosses, c_out, clo)
    # the vertices along the first axis, the cells (battery and step) along the second:
    # every operation below then runs over all cells at once (twice as fast as the cells
    # first, with the same arithmetic)
    c = np.stack([clo, chi, clo, chi, c_in, c_out])
    d = np.stack([dlo, dlo, dhi, dhi, np.where(crosses, c_in + n0, dlo),
                  np.where(crosses, c_out + n0, dlo)])
    g = (np.asarray(a_charge) * c + np.asarray(a_discharge) * d
         + np.asarray(spread) * np.maximum(0.0, n0 + c - d))
    eta = np.asarray(efficiency, dtype=float).reshape(-1, *([1] * (n0.ndim - 1)))
    y = dt_h * (eta * c - d / eta)
    P = _POINTS
    y, g, c, d = (v.reshape(P, -1) for v in (y, g, c, d))
    n = y.shape[1]
    cells = np.arange(n)
    # by the change of charge, then cost, then throughput: of vertices with the same change
    # and cost the hull keeps the one that moves least energy (no spurious charge and
    # discharge at once where losses cost nothing)
    order = np.lexsort((c + d, g, y), axis=0)
    y, g, c, d = (v.reshape(-1)[order * n + cells] for v in (y, g, c, d))
    # lower hull by gift wrapping from the leftmost point (at most 5 segments), on the
    # cells whose hull is not closed yet
    idx = np.arange(P)[:, None]
    slopes = np.full((P - 1, n), _UNUSED)
    widths = np.zeros((P - 1, n))
    vertex = np.zeros((P, n), dtype=np.int64)
    active = cells
    cur = np.zeros(n, dtype=np.int64)
    for k in range(P - 1):
        if len(active) == n:  # every cell still open (the first rounds): no copy
            ya, ga = y, g
        else:
            ya, ga = y[:, active], g[:, active]
        at = cur * n + active
        yc, gc = y.reshape(-1)[at], g.reshape(-1)[at]
        dy = ya - yc
        ok = (idx > cur) & (dy > _TOL)
        s = np.full(dy.shape, np.inf)
        np.divide(ga - gc, dy, out=s, where=ok)
        best = s.min(axis=0)
        found = np.isfinite(best)
        near = s <= best + 1e-12 * (1.0 + np.abs(best))
        # the nearest of equal slopes: collinear vertices stay vertices, so a step's powers
        # are interpolated between neighbouring vertices only
        nxt = np.where(near, idx, P).min(axis=0)
        done = active[~found]
        vertex[k + 1:, done] = cur[~found]
        active, nxt, best, yc = active[found], nxt[found], best[found], yc[found]
        if not len(active):
            break
        slopes[k, active] = best
        widths[k, active] = y.reshape(-1)[nxt * n + active] - yc
        vertex[k + 1, active] = nxt
        cur = nxt
    at = vertex * n + cells

    def cells_first(v):  # (m, cells) -> (*shape, m)
        return np.ascontiguousarray(v.T).reshape(*shape, len(v))

    return StepCosts(y[0].reshape(shape), g[0].reshape(shape), cells_first(slopes),
                     cells_first(widths), cells_first(c.reshape(-1)[at]),
                     cells_first(d.reshape(-1)[at]))


def solve_storage(costs: StepCosts, soc0, soc_min, soc_max, value=None):
    """The least-cost changes of the state of charge of B batteries over N steps.

    Parameters
    ----------
    costs : StepCosts
    soc0, soc_min, soc_max : (B,) state of charge before the first step and its bounds [kWh]
    value : (B, N), optional
        Value of a kWh in store at the end of each step [EUR/kWh] (the end value).

    Returns
    -------
    y : (B, N) change of the state of charge per step [kWh]

    Raises
    ------
    ValueError
        When no schedule keeps a battery within its bounds (names the battery and step).
    """
    B, N = costs.y_low.shape
    lo = np.asarray(soc0, dtype=float).copy()
    e_min = np.asarray(soc_min, dtype=float)
    e_max = np.asarray(soc_max, dtype=float)
    slopes = np.zeros((B, 0))
    widths = np.zeros((B, 0))
    rows = np.arange(B)[:, None]
    merged = []  # per step: start of the merged function, widths, and which came from f
    worst = np.full(B, np.inf)  # least room left in the bounds of the state of charge [kWh]
    worst_step = np.zeros(B, dtype=np.int64)
    used_f = int((costs.widths > 0).sum(axis=2).max()) if costs.widths.size else 0
    f_slopes, f_widths = costs.slopes[:, :, :used_f], costs.widths[:, :, :used_f]
    moves = (f_widths > 0).any(axis=(0, 2))  # steps where some battery has a choice
    for t in range(N):
        if moves[t]:
            m_sl = np.concatenate([slopes, f_slopes[:, t]], axis=1)
            order = np.argsort(m_sl, axis=1, kind="stable")
            m_sl = m_sl[rows, order]
            m_wd = np.concatenate([widths, f_widths[:, t]], axis=1)[rows, order]
            from_f = order >= slopes.shape[1]
        else:  # every battery's step is fixed (executed, or padding): the function shifts
            m_sl, m_wd = slopes, widths
            from_f = np.zeros(widths.shape, dtype=bool)
        m_lo = lo + costs.y_low[:, t]
        # cut to the bounds of the state of charge: positions [low, high] above m_lo
        ends = np.cumsum(m_wd, axis=1)
        merged.append((m_lo, m_wd, from_f, ends))
        low = np.maximum(e_min - m_lo, 0.0)
        high = e_max - m_lo
        room = np.minimum((ends[:, -1] if ends.shape[1] else 0.0) - low, high)
        bad = room < worst
        worst = np.where(bad, room, worst)
        worst_step = np.where(bad, t, worst_step)
        kept = np.clip(np.minimum(ends, high[:, None]) - np.maximum(ends - m_wd, low[:, None]),
                       0.0, None)
        lo = np.minimum(m_lo + low, e_max)
        if value is not None:
            m_sl = m_sl - value[:, t, None]
        # drop what was cut (the segments left are one block, in slope order)
        if (t % 4 == 3 or t == N - 1) and kept.shape[1]:
            used = kept > _TOL
            first = np.argmax(used, axis=1)
            last = kept.shape[1] - 1 - np.argmax(used[:, ::-1], axis=1)
            count = np.where(used.any(axis=1), last - first + 1, 0)  # slivers inside kept
            width = int(count.max()) if B else 0
            take = np.minimum(first[:, None] + np.arange(width), kept.shape[1] - 1)
            widths = np.where(np.arange(width) < count[:, None], kept[rows, take], 0.0)
            slopes = np.where(widths > 0, m_sl[rows, take], _UNUSED)
        else:
            widths, slopes = kept, np.where(kept > 0, m_sl, _UNUSED)
    if (worst < -1e-9).any():
        b = int(np.flatnonzero(worst < -1e-9)[0])
        raise ValueError(f"no schedule keeps battery {b} within its state-of-charge bounds "
                         f"(step {int(worst_step[b])} of the plan)")
    # the best final state of charge, then back through the steps
    soc = lo + np.where(slopes < 0.0, widths, 0.0).sum(axis=1)
    y = np.zeros((B, N))
    for t in range(N - 1, -1, -1):
        m_lo, m_wd, from_f, ends = merged[t]
        pos = np.clip(soc - m_lo, 0.0, ends[:, -1] if ends.shape[1] else 0.0)
        inside = np.clip(pos[:, None] - (ends - m_wd), 0.0, m_wd)  # prefix part of each
        y[:, t] = costs.y_low[:, t] + (inside * from_f).sum(axis=1)
        soc = soc - y[:, t]
    return y


def solve_storage_blocks(costs: StepCosts, soc0, soc_min, soc_max, value=None,
                         block: int = 4, info: dict | None = None) -> np.ndarray:
    """:func:`solve_storage`, found first on blocks of ``block`` steps: the same optimal cost.

    First the bounds of the state of charge are held only at the ends of the
    blocks, a relaxation. A block's cost is then the infimal convolution of
    its steps' costs (their segments merged in the order of their slopes), and
    the programme runs over a quarter as many steps when ``block`` is 4 (an
    hour of 15-minute steps). Each block's change is split back among its steps
    (each step takes its segments in that order). A battery whose relaxed plan
    keeps within its bounds at every step has its optimum: the plan is feasible
    and costs the relaxation's optimum, which no feasible plan beats. The
    other batteries are solved step by step (:func:`solve_storage`).

    Where the batteries' prices change within an hour only a little (the
    certificate of class plans under transformer prices) nearly every battery
    passes and this takes half the time of :func:`solve_storage`; where they
    change much (M5's feeder prices per quarter hour) most batteries fail and it
    takes about 40 % longer (benchmarks/RESULTS.md, 2026-12-06). Among equal
    optima it may choose another plan than :func:`solve_storage`, so it serves
    the certificate's bound (a value), not the plans.

    Parameters
    ----------
    costs, soc0, soc_min, soc_max, value : as :func:`solve_storage`
        ``value`` non-zero only at the ends of blocks or at the last step (else
        the steps are solved one by one).
    block : int
        Steps per block, at least 1.
    info : dict, optional
        Receives ``by_steps``: how many batteries were solved step by step (all
        of them where the relaxation had no plan; None where it was not tried:
        ``block`` < 2, fewer than two blocks of steps, values inside a block).

    Returns
    -------
    y : (B, N) change of the state of charge per step [kWh]
    """
    B, N = costs.y_low.shape
    k = int(block)
    valued = np.flatnonzero((np.asarray(value) != 0).any(axis=0)) if value is not None \
        else np.zeros(0, dtype=np.int64)
    if info is not None:
        info["by_steps"] = None
    if k < 2 or B == 0 or N < 2 * k or not np.all(((valued + 1) % k == 0)
                                                  | (valued == N - 1)):
        return solve_storage(costs, soc0, soc_min, soc_max, value)
    H, S = -(-N // k), costs.slopes.shape[2]
    pad = H * k - N

    def blocked(x, fill):
        if pad:
            x = np.concatenate([x, np.full((B, pad, *x.shape[2:]), fill)], axis=1)
        return x.reshape(B, H, k, *x.shape[2:])

    slopes = blocked(costs.slopes, _UNUSED).reshape(B, H, k * S)
    order = np.argsort(slopes, axis=2, kind="stable")
    widths = np.take_along_axis(blocked(costs.widths, 0.0).reshape(B, H, k * S), order, 2)
    slopes = np.take_along_axis(slopes, order, 2)
    used = int((widths > 0).sum(axis=2).max())
    widths, slopes, step = widths[..., :used], slopes[..., :used], order[..., :used] // S
    y_low = blocked(costs.y_low, 0.0).sum(axis=2)
    relaxed = StepCosts(y_low, blocked(costs.g_low, 0.0).sum(axis=2), slopes, widths,
                        None, None)
    block_value = None
    if value is not None:
        block_value = np.zeros((B, H))
        block_value[:, valued // k] = np.asarray(value, dtype=float)[:, valued]
    try:
        y_block = solve_storage(relaxed, soc0, soc_min, soc_max, block_value)
    except ValueError:  # no plan even with the bounds held at the blocks' ends only
        if info is not None:
            info["by_steps"] = B
        return solve_storage(costs, soc0, soc_min, soc_max, value)
    # each step's part of its block's change: its segments in the merged order
    u = y_block - y_low
    ends = np.cumsum(widths, axis=2)
    inside = np.clip(u[..., None] - (ends - widths), 0.0, widths)
    y = np.stack([(inside * (step == i)).sum(axis=2) for i in range(k)], axis=2)
    y = y.reshape(B, H * k)[:, :N] + costs.y_low
    soc0, soc_min, soc_max = (np.broadcast_to(np.asarray(x, dtype=float), (B,))
                              for x in (soc0, soc_min, soc_max))
    soc = soc0[:, None] + np.cumsum(y, axis=1)
    # within the bounds to rounding (the programme's own tolerance, 1e-9 kWh)
    out = ((soc < soc_min[:, None] - 1e-9) | (soc > soc_max[:, None] + 1e-9)).any(axis=1)
    if info is not None:
        info["by_steps"] = int(out.sum())
    if out.any():
        part = StepCosts(*(getattr(costs, name)[out] for name in (
            "y_low", "g_low", "slopes", "widths", "charge", "discharge")))
        try:
            y[out] = solve_storage(part, soc0[out], soc_min[out], soc_max[out],
                                   None if value is None else np.asarray(value)[out])
        except ValueError:  # raised again for the whole fleet: the battery's own number
            return solve_storage(costs, soc0, soc_min, soc_max, value)
    return y


def plan_cost(values: dict, charge, discharge, efficiency, dt_h: float, per_kwh: float,
              soc=None) -> float:
    """The cost LP's objective [EUR] of a plan without grid terms (:mod:`ansen.models.cost`).

    Parameters
    ----------
    values : dict
        The LP's parameter values (:meth:`ansen.models.base.LinearModel.parameters`):
        ``net0``, ``spread``, ``export_price``, ``end_value`` (B, N), ``soc0`` (B,),
        ``cost_of_forecast``.
    charge, discharge : (B, N) powers [kW]
    efficiency : (B,) one-way efficiency
    dt_h : step [h]
    per_kwh : wear plus tie-break cost per kWh charged or discharged [EUR/kWh]
    soc : (B, N), optional
        The state of charge at the end of each step [kWh] (default: from the powers).
    """
    v = values
    eta = np.asarray(efficiency, dtype=float)[:, None]
    net = v["net0"] + charge - discharge
    if soc is None:
        soc = np.asarray(v["soc0"], dtype=float)[:, None] + np.cumsum(
            dt_h * (eta * charge - discharge / eta), axis=1)
    return float(dt_h * (v["spread"] * np.maximum(net, 0.0)
                         + v["export_price"] * (charge - discharge)
                         + per_kwh * (charge + discharge)).sum()
                 + float(v["cost_of_forecast"]) - (v["end_value"] * soc).sum())


class SeparableRunner:
    """Solves the fleet LP of a cost model without grid terms by :func:`solve_storage`.

    A drop-in for :class:`ansen.models.LPRunner` in the planner: the same
    parameter values (:meth:`ansen.models.base.LinearModel.parameters`), the
    same bounds of the charge and discharge columns, the same solution vector
    (charges of every battery and step, then discharges) and objective.
    """

    solver = "dp"

    def __init__(self, steer, ctx):
        self.steer, self.ctx = steer, ctx
        steer.ctx = ctx  # as steer.build(ctx) does: parameters() reads it
        B, N = ctx.n_sites, ctx.n_steps
        self.bounds = (np.zeros(2 * B * N), np.repeat(np.asarray(ctx.power_kw, float), N)
                       .reshape(1, B * N).repeat(2, axis=0).ravel())
        self.solve_seconds = 0.0
        self.first_solve_seconds = 0.0
        self.n_solves = 0
        self.n_reused = 0
        self.n_mip = 0
        self._values: dict = {}
        self._last = None

    def solve(self, values: dict | None = None, lower=None, upper=None, from_step: int = 0):
        """As :meth:`ansen.models.LPRunner.solve`; parameter values by name, (B, N) arrays."""
        start = time.perf_counter()
        ctx, B, N = self.ctx, self.ctx.n_sites, self.ctx.n_steps
        changed = set()  # names of the parameters that differ from the last call's
        for name, value in (values or {}).items():
            value = np.array(value, dtype=float)
            old = self._values.get(name)
            if from_step and old is not None and value.ndim == 2:
                value[:, :from_step] = old[:, :from_step]
            if old is None or not np.array_equal(old, value):
                changed.add(name)
            self._values[name] = value
        lo = self.bounds[0] if lower is None else np.asarray(lower, dtype=float)
        hi = self.bounds[1] if upper is None else np.asarray(upper, dtype=float)
        # a constant of the objective moves no optimum: the last plan stands while only it
        # changed and the bounds only narrowed around that plan
        if changed <= {"cost_of_forecast"} and self._last is not None:
            moved = (lo != self.bounds[0]) | (hi != self.bounds[1])
            x_old, obj_old, constant = self._last
            if ((lo[moved] >= self.bounds[0][moved]).all()
                    and (hi[moved] <= self.bounds[1][moved]).all()
                    and (x_old[moved] >= lo[moved] - 1e-9).all()
                    and (x_old[moved] <= hi[moved] + 1e-9).all()):
                self.bounds = (lo.copy(), hi.copy())
                self.n_reused += 1
                self.solve_seconds += time.perf_counter() - start
                shift = float(self._values["cost_of_forecast"]) - constant
                return x_old.copy(), obj_old + shift
        self._last = None  # until this solve succeeds
        self.bounds = (lo.copy(), hi.copy())
        v = self._values
        p = self.steer.params
        dt = ctx.dt_h
        per_kwh = p["wear_eur_per_kwh"] + p["epsilon_eur_per_kwh"]
        lo2, hi2 = lo.reshape(2, B, N), hi.reshape(2, B, N)
        export = v["export_price"]
        costs = step_costs((lo2[0], hi2[0]), (lo2[1], hi2[1]), v["net0"],
                           dt * (export + per_kwh), dt * (per_kwh - export),
                           dt * v["spread"], ctx.efficiency, dt)
        y = solve_storage(costs, v["soc0"], ctx.soc_min_kwh, ctx.capacity_kwh, v["end_value"])
        charge, discharge = costs.powers(y)
        x = np.concatenate([charge.ravel(), discharge.ravel()])
        soc = np.asarray(v["soc0"], dtype=float)[:, None] + np.cumsum(y, axis=1)
        obj = plan_cost(v, charge, discharge, ctx.efficiency, dt, per_kwh, soc)
        elapsed = time.perf_counter() - start
        self.solve_seconds += elapsed
        if not self.n_solves:
            self.first_solve_seconds = elapsed
        self.n_solves += 1
        self._last = (x, obj, float(v["cost_of_forecast"]))
        return x.copy(), obj

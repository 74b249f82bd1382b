"""The planner: forecast what the information model allows, solve the steering LP.

A plan covers a *window* from a day-ahead decision to the end of the known
day-ahead prices (:class:`ansen.controller.Information`); intraday re-plans
solve the same window again, with the steps already executed held at what
the batteries did (the state of charge now is therefore the measured one)
and the newest forecasts for the rest. Keeping the window's index fixed lets
the solver start from the previous basis. Steps of the LP after the window's
end are padding, held at zero battery power.

Executable plans: the real-time layer applies one power per battery and
step. Where an LP optimum charges and discharges one battery in the same
step (it pays when energy has a negative value: at negative prices the
losses burn energy that one is paid to take, and a grid term can reward
absorbing a feed-in peak), the planner holds those steps to one direction
and solves again, until no step does both:

- ``directions="net"`` (default): every free step of a battery that did
  both is held to the direction of its net power in that LP (charge only or
  discharge only), and the window solved again as an LP (once more for any
  other battery that then does both). The holds stay for the re-plans of
  the window. Fast; the objective can be above the best schedule with one
  direction per step, by at most its distance to the LP bound, which the
  run reports (``attrs["direction_gap"]``). Measured on the shipped
  village, M5 with 6-day-old data over 19 May - 2 June 2025 (where M5
  most wants to absorb feed-in it cannot store): 0.016 % above the exact
  plans' objective, the same MV peak and cost figures, 40 times faster.
- ``directions="exact"``: a MIP with a binary per such step (and per step of
  that battery with a negative price): charge or discharge, never both; the
  best schedule with one direction per step (a test compares it with
  enumerating all directions on a small case). 0.5-5 s a MIP on the shipped
  village, so for checks rather than year-long runs.

Between steps a battery may still alternate, which is executable. Windows
without such steps stay pure LPs.

Battery classes (``fleet="classes"``): the LP plans one battery per *class*
instead of one per site, and each site follows its class's plan in
proportion to its power rating. A class holds the sites on one transformer
whose batteries have the same efficiency, the same power per kWh and
reserve per kWh and, for a model that uses each site's prices, the same
marginal prices over the run (with net metering: the same annual position).
The class battery has the summed capacity, power, reserve and state of
charge; the class's households are metered as one (their forecast net
exchanges summed). With equal states of charge per kWh (the simulator starts
every battery at ``soc_initial`` and the proportional set points keep them
equal) the split plan is feasible for every battery. Where they differ
(after a fallback rule ran, say), each battery gets its share as far as its
state of charge allows and the rest goes to the class's others
(``split_shortfall_kwh`` counts what none could take). Then:

- M3, whose objective depends only on transformer sums and throughput, and
  the cost models with a community meter (``meter="community"``: M2, M4, M5,
  M6, M4+M5), whose meter sums every site's net exchange, reach the per-site
  LP's optimum (the classes are an exact aggregation: a feasible class plan
  split in proportion is feasible per site, and per-site plans summed are a
  feasible class plan of the same objective); the plan chosen among equal
  optima, and so who does the work, may differ. Where that optimum charges
  and discharges at once, the direction holds then act on class batteries,
  so the held plans may differ from per-site ones, either way (measured on
  E06, M3 winter 2024/25: the class plans' objective summed over the run
  1.8 % lower). ``method="auto"`` plans these classes by itself with
  ``directions="net"``;
- the cost models with household meters (M0, M2, M4, M5, M6, M4+M5)
  approximate: the class meter nets one household's export against another's import inside the class,
  where each pays its own meter's prices, and every battery of a class
  follows the same plan per kW, where per-site plans let one battery take
  its own household's surplus while another covers its own household's
  evening. Grid terms (transformer, MV) see the same sums as before. What
  this costs in grid effect and household cost is measured in
  ``benchmarks/classes.py`` (figures in benchmarks/RESULTS.md). For M4, M5,
  M6 and M4+M5 every class plan solved is bounded against the per-site LP's
  optimum for the same decision (:mod:`ansen.controller.certificate`,
  ``class_bounds``): a lower bound from the class LP's dual prices and the
  per-site objective of the plan the sites get.

The LP then has a few class batteries instead of one per site, so 140
battery sites plan about as fast as ten.
"""

from __future__ import annotations

import time

import numpy as np

from ansen.controller.realtime import apply_setpoints
from ansen.models import HorizonInputs, LPRunner
from ansen.models.storage_dp import SeparableRunner

__all__ = ["Planner", "Prices"]

#: Simultaneous charge and discharge below this power [kW] is solver noise.
SIMULTANEOUS_KW = 1e-6
MAX_ROUNDS = 20
DIRECTIONS = ("net", "exact")
FLEETS = ("sites", "classes")
METHODS = ("auto", "lp", "dp")


def dp_refusal(steer, directions: str) -> str | None:
    """Why ``plan_method="dp"`` cannot plan ``steer`` with ``directions`` (None: it can)."""
    separable = bool(getattr(steer, "separable", False))
    if separable and directions == "net":
        return None
    return ("plan_method='dp' solves only models whose LP separates per battery (M0, and M2 "
            f"with meter='household') with directions='net'; {steer.id}"
            + (f" with directions={directions!r}" if separable else
               " does not separate (grid terms or one community meter couple its batteries), "
               "so it") + " needs plan_method='lp' or 'auto'")


def battery_classes(ctx, prices: Prices, by_prices: bool = True) -> tuple[np.ndarray, object]:
    """Group battery sites into classes planned as one battery (module docstring).

    Parameters
    ----------
    ctx : ansen.models.Context
        The per-site context.
    prices : Prices
        Marginal prices of the run; sites share a class only if their import
        and export prices are equal at every step.
    by_prices : bool
        Whether prices tell classes apart (False for a model that does not use
        the sites' own prices: M3, a community meter).

    Returns
    -------
    group : (B,) int
        The class of each site, classes numbered in the order of their first site.
    ansen.models.Context
        One battery per class: summed capacity, power and reserve [kWh, kW], the
        class's efficiency and transformer; ``sites`` the class's sites joined by "+".
    """
    import hashlib
    from dataclasses import replace

    capacity = np.asarray(ctx.capacity_kwh, dtype=float)
    if ctx.n_sites == 0 or (capacity <= 0).any() or (np.asarray(ctx.power_kw) <= 0).any():
        raise ValueError("battery classes need battery sites with capacity and power > 0")
    classes: dict[tuple, int] = {}
    group = np.empty(ctx.n_sites, dtype=np.int64)
    for b in range(ctx.n_sites):  # numbered in the order of their first site
        key = (int(ctx.site_transformer[b]), float(ctx.efficiency[b]),
               round(float(ctx.power_kw[b] / capacity[b]), 12),
               round(float(ctx.soc_min_kwh[b] / capacity[b]), 12),
               hashlib.blake2b(np.ascontiguousarray(prices.import_site[:, b]).tobytes()
                               + np.ascontiguousarray(prices.export_site[:, b]).tobytes())
               .hexdigest() if by_prices else "")
        group[b] = classes.setdefault(key, len(classes))
    n = len(classes)
    lead = np.unique(group, return_index=True)[1]

    def total(x):
        return np.bincount(group, weights=np.asarray(x, dtype=float), minlength=n)

    names = tuple("+".join(str(ctx.sites[b]) for b in np.flatnonzero(group == g))
                  if len(ctx.sites) else str(g) for g in range(n))
    return group, replace(ctx, capacity_kwh=total(ctx.capacity_kwh), power_kw=total(ctx.power_kw),
                          efficiency=np.asarray(ctx.efficiency, dtype=float)[lead],
                          soc_min_kwh=total(ctx.soc_min_kwh),
                          site_transformer=np.asarray(ctx.site_transformer)[lead], sites=names)


class Prices:
    """Marginal prices per step for the sites' meters (T, B) and one community meter (T,)."""

    def __init__(self, import_site, export_site, import_community, export_community):
        self.import_site = np.asarray(import_site, dtype=float)
        self.export_site = np.asarray(export_site, dtype=float)
        self.import_community = np.asarray(import_community, dtype=float)
        self.export_community = np.asarray(export_community, dtype=float)


class Planner:
    """Forecast and solve for one LP steering model over a run.

    Parameters
    ----------
    steer : ansen.models.base.LinearModel
    ctx : ansen.models.Context
        ``ctx.n_steps`` is the LP's length: the longest window of the run.
    solver : {"highs", "glpk"}
    forecasts : ansen.forecast.Forecasts or ansen.weather.WeatherForecasts
    prices : Prices
    behaviour : optional
        M6's load shift (:class:`ansen.simulator._Behaviour`), applied to the
        forecasts the LP sees.
    block : int
        Data steps per LP step (``ctx.dt_h`` is the LP's step): the plan is
        made in blocks and each block's power applied to its data steps.
    lookahead : int, optional
        A re-plan solves only when inputs of the next ``lookahead`` LP steps
        changed (or the batteries did other than planned); None: any change.
    fleet : {"sites", "classes"}
        One LP battery per site (default) or per class of sites (module docstring).
    bounds : bool
        Bound each approximate class plan against the per-site optimum
        (:mod:`ansen.controller.certificate`; default True).
    method : {"auto", "lp", "dp"}
        How the plan's LP is solved: ``"lp"`` by ``solver``; ``"dp"`` battery by
        battery by dynamic programming (:mod:`ansen.models.storage_dp`: the same
        optimum, for a model whose LP separates per battery, ``steer.separable``,
        with ``directions="net"``); ``"auto"`` (default): ``"dp"`` where it applies,
        else the LP, on battery classes where they are an exact aggregation
        (``steer.exact_classes``: M3, the cost models with ``meter="community"``).
    """

    def __init__(self, steer, ctx, solver: str, forecasts, prices: Prices,
                 behaviour=None, sites=None, site_transformer=None, directions: str = "net",
                 block: int = 1, lookahead: int | None = None, fleet: str = "sites",
                 method: str = "auto", bounds: bool = True):
        if fleet not in FLEETS:
            raise ValueError(f"fleet must be one of {FLEETS}, got {fleet!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if directions not in DIRECTIONS:
            raise ValueError(f"directions must be one of {DIRECTIONS}, got {directions!r}")
        refusal = dp_refusal(steer, directions)
        dp_applies = refusal is None
        if method == "dp" and not dp_applies:
            raise ValueError(refusal)
        self.method = "dp" if dp_applies and method != "lp" else "lp"
        exact = bool(getattr(steer, "exact_classes", False))
        if (method == "auto" and fleet == "sites" and exact and directions == "net"
                and ctx.n_sites > 1):
            # an exact aggregation of the LP: the same LP optimum, far fewer batteries (with
            # directions="exact" the MIP's binaries per class are not those per site)
            fleet = "classes"
        #: How the plans are solved, for the run's attrs.
        self.method_label = self.method + (
            "" if fleet == "sites" else " on classes (exact LP)" if exact else " on classes")
        self.fleet = fleet
        self.group = None  # class of each site (fleet="classes")
        self.split_shortfall_kwh = 0.0  # class plans the sites could not follow [kWh]
        if fleet == "classes":
            self.group, lp_ctx = battery_classes(ctx, prices,
                                                 by_prices=getattr(steer, "site_prices", True))
            self._onehot = np.zeros((ctx.n_sites, lp_ctx.n_sites))
            self._onehot[np.arange(ctx.n_sites), self.group] = 1.0
            self._share = ctx.power_kw / lp_ctx.power_kw[self.group]
            self._lead = np.unique(self.group, return_index=True)[1]  # a site of each class
            self._dt = ctx.dt_h / max(1, int(block))  # the data's step [h]
            self.site_ctx = ctx
            ctx = lp_ctx
        self.steer, self.ctx = steer, ctx
        self.block = int(block)  # data steps per LP step
        self.lookahead = lookahead  # LP steps whose change makes a re-plan solve (None: all)
        self.kept = 0  # re-plans that kept the last plan
        self._last = None
        self.forecasts, self.prices = forecasts, prices
        self.behaviour = behaviour
        self.sites = np.asarray(sites if sites is not None else [], dtype=int)
        self.site_transformer = site_transformer
        if self.method == "dp":
            self.model = None
            self.runner = SeparableRunner(steer, ctx)
        else:
            self.model = steer.build(ctx)
            m, B, N = self.model, ctx.n_sites, ctx.n_steps
            variables = ([m.charge[b, t] for b in range(B) for t in range(N)]
                         + [m.discharge[b, t] for b in range(B) for t in range(N)])
            self.runner = LPRunner(m, variables, solver)
        self.directions = directions
        #: Bounds of the per-site optimum for each class plan solved (certificate module):
        #: (lower, upper, idle) [EUR], idle: the per-site objective with the batteries idle
        #: from the decision on; plans where no bound applies are counted in ``not_bounded``.
        self.class_bounds: list[tuple[float, float]] = []
        self.not_bounded = 0
        self.bound_seconds = 0.0  # time spent on the bounds [s]
        self._bound = None  # the ClassBound, made at the first class solve
        self._certify = bool(bounds) and fleet == "classes" and not exact and self.method == "lp"
        if self._certify:
            import copy

            self._site_steer = copy.copy(steer)
            self._site_steer.ctx = self.site_ctx
        self._solved = False  # whether the last _plan solved (not a kept plan)
        self._duals: list = []  # the class LP's (costs, row bounds, duals) of the last plan
        self.direction_binaries = 0  # steps held to one direction
        self._window, self._held = -1, None  # directions held in the current window
        self.direction_gap = 0.0  # objective above the LP bound where steps were held
        self.objectives: list[float] = []
        self.forecast_net = None  # set by inputs()

    def inputs(self, ws: int, we: int, now: int, soc_ws: np.ndarray,
               sites: bool = False) -> HorizonInputs:
        """The LP's inputs for the window [ws, we) at decision step ``now``.

        With LP steps of ``block`` data steps, every series is averaged over
        each block (the LP's step length is ``ctx.dt_h``). ``sites``: per site
        even when the LP plans battery classes (``soc_ws`` then per site).
        """
        N, r = self.ctx.n_steps, self.block
        nv = we - ws
        net0, tr0, mv0 = self.forecasts.horizon(ws, nv, now)
        if self.behaviour is not None:
            net0, tr0, mv0 = self._shifted(ws, nv, now, net0, tr0, mv0)
        #: Each site's forecast net exchange without battery [kW] (we - ws, B), data steps,
        #: of the last inputs made: what the real-time layer's meter rule compares with.
        self.forecast_net = net0
        p = self.prices
        n_plan = -(-nv // r)

        def pad(x):
            x = np.asarray(x, dtype=float)
            if r > 1:  # block means (the last block may be short: mean of what it has)
                starts = np.arange(0, nv, r)
                x = np.add.reduceat(x, starts, axis=0) / np.diff(np.r_[starts, nv]).reshape(
                    -1, *([1] * (x.ndim - 1)))
            return np.concatenate([x, np.zeros((N - n_plan, *x.shape[1:]))]) if n_plan < N \
                else x

        imp, exp = p.import_site[ws:we], p.export_site[ws:we]
        if self.group is not None and not sites:  # the classes: summed meters, their prices
            net0 = net0 @ self._onehot
            imp, exp = imp[:, self._lead], exp[:, self._lead]
        return HorizonInputs(net0=pad(net0), transformer0=pad(tr0), mv0=pad(mv0),
                             import_price=pad(imp), export_price=pad(exp), soc0=soc_ws,
                             n_valid=n_plan, n_done=(now - ws) // r,
                             community_import_price=pad(p.import_community[ws:we]),
                             community_export_price=pad(p.export_community[ws:we]))

    def _shifted(self, ws, nv, now, net0, tr0, mv0):
        """M6: the forecasts with the behavioural shift of the scope households.

        The shift moves load within each local day (red to green slots), so it is taken
        over the whole days the window touches, as the actual load's is, and then cut to
        the window (a window opened at 13:00 holds only the afternoon of its first day).
        """
        b = self.behaviour
        cutoff = (self.forecasts.known.own_cutoff(now) if b.scope_is_fleet
                  else self.forecasts.known.grid_cutoff(now))
        a, e = ws, ws + nv
        if b.day[a] >= 0:
            a = int(np.flatnonzero(b.day == b.day[a])[0])
        if b.day[e - 1] >= 0:
            e = int(np.flatnonzero(b.day == b.day[e - 1])[-1]) + 1
        fc_load = self.forecasts.series(b.load, a, e - a, cutoff)
        fc_flex = self.forecasts.series(b.flexible, a, e - a, cutoff)
        shift = (b.apply(fc_load, fc_flex, a) - fc_load)[ws - a:ws - a + nv]
        net0, tr0 = net0.copy(), tr0.copy()
        pos = {h: j for j, h in enumerate(self.sites)}
        for j, h in enumerate(b.scope):
            if h in pos:
                net0[:, pos[h]] += shift[:, j]
        np.add.at(tr0.T, b.scope_transformer, shift.T)
        return net0, tr0, mv0 + shift.sum(axis=1)

    def plan(self, ws: int, we: int, now: int, soc_ws: np.ndarray,
             executed: np.ndarray, steps: int | None = None,
             soc_now: np.ndarray | None = None) -> np.ndarray:
        """Battery set points [kW] (we - now, B) for the rest of the window [ws, we).

        ``executed`` (now - ws, B): the powers the batteries applied since ``ws``;
        ``soc_ws``: the state of charge at ``ws`` [kWh], per site; ``steps``: only
        the next so many set points are needed (battery classes split only those);
        ``soc_now``: the state of charge now [kWh], per site (default: from ``soc_ws``
        and ``executed``).

        Raises
        ------
        ansen.models.SolveError
            No optimum.
        """
        if self.group is None:
            return self._plan(ws, we, now, soc_ws, executed)
        executed = np.asarray(executed, dtype=float).reshape(-1, len(self.group))
        soc_ws = np.asarray(soc_ws, dtype=float)
        # each class's charge and discharge summed apart: sites of a class that went opposite
        # ways (the real-time layer's meter rule) then still add up to the class's state of
        # charge (its efficiency is theirs)
        plan = self._plan(ws, we, now, soc_ws @ self._onehot, executed @ self._onehot,
                          parts=(np.maximum(executed, 0.0) @ self._onehot,
                                 np.maximum(-executed, 0.0) @ self._onehot))
        if self._certify and self._solved:
            start = time.perf_counter()
            self._bound_plan(ws, we, now, soc_ws, executed)
            self.bound_seconds += time.perf_counter() - start
        n = len(plan) if steps is None else min(int(steps), len(plan))
        c = self.site_ctx
        if soc_now is not None:
            soc = np.asarray(soc_now, dtype=float)
        elif len(executed):
            soc = apply_setpoints(executed, soc_ws, c.capacity_kwh, c.power_kw, c.efficiency,
                                  c.soc_min_kwh, self._dt)[1][-1]
        else:
            soc = soc_ws
        per_kwh = soc / c.capacity_kwh
        if np.allclose(per_kwh, per_kwh[self._lead][self.group], rtol=0.0, atol=1e-9):
            return plan[:n, self.group] * self._share  # in proportion: feasible for each
        return self._split(plan[:n], soc)

    def _bound_plan(self, ws, we, now, soc_ws, executed) -> None:
        """Bound the per-site LP's optimum for the class plan just solved (certificate module).

        Only where the sites follow their class in proportion (states of charge per
        kWh equal at the window's start, every step so far in proportion): then each
        site's share of the class plan is a feasible per-site plan.
        """
        from ansen.controller.certificate import ClassBound, coupling_layout

        c, g, r = self.site_ctx, self.group, self.block
        per_kwh = soc_ws / c.capacity_kwh
        ex = executed
        if r > 1 and len(ex):
            ex = ex.reshape(-1, r, len(g)).mean(axis=1)
        in_step = ex.T  # (B, done)
        share = self._share[:, None]
        if not (np.allclose(per_kwh, per_kwh[self._lead][g], rtol=0.0, atol=1e-9)
                and np.allclose(in_step, (ex @ self._onehot).T[g] * share, atol=1e-9)):
            self.not_bounded += 1
            return
        if self._bound is None:
            layout = coupling_layout(self.model, self.runner.lp)
            if layout is None:
                self._certify = False
                return
            p = self.steer.params
            self._bound = ClassBound(layout, self.runner.lp, g, c,
                                     p["wear_eur_per_kwh"] + p["epsilon_eur_per_kwh"])
        inputs = self.inputs(ws, we, now, soc_ws, sites=True)
        values = self._site_steer.parameters(inputs)
        _, last_inputs, x = self._last
        done, nv = last_inputs.n_done, last_inputs.n_valid
        B, N = len(g), self.ctx.n_steps
        lo, hi = np.zeros((2, B, N)), np.zeros((2, B, N))
        lo[0, :, :done] = hi[0, :, :done] = np.maximum(in_step, 0.0)
        lo[1, :, :done] = hi[1, :, :done] = np.maximum(-in_step, 0.0)
        hi[:, :, done:nv] = c.power_kw[None, :, None]
        # the best of the bounds at the dual values of the LP before and after holding
        # directions (any dual values give a bound; the first are usually the better)
        lower = max(self._bound.lower(values, lo, hi, *d) for d in self._duals)
        cost, row_lower, row_upper, _ = self._duals[0]
        charge, discharge = x[0][g] * share, x[1][g] * share
        upper = self._bound.upper(values, charge, discharge, cost, row_lower, row_upper)
        # the batteries idle from now on (what they did so far kept): what the plan is worth
        idle = self._bound.upper(values, lo[0], lo[1], cost, row_lower, row_upper)
        self.class_bounds.append((lower, upper, idle))

    def _split(self, plan: np.ndarray, soc: np.ndarray) -> np.ndarray:
        """Each class's power [kW] (n, G) split among its sites (n, B) whose states of charge
        per kWh differ (after a fallback rule, say), step by step.

        Each site gets its share in proportion to power as far as its state of charge
        allows; what it cannot take or give goes to the class's other sites in
        proportion to what they still can. What none can is left out and counted in
        ``split_shortfall_kwh``.
        """
        c, g, G = self.site_ctx, self.group, self.ctx.n_sites
        eta, dt = c.efficiency, self._dt
        out = np.zeros((len(plan), len(g)))
        soc = soc.copy()
        for i in range(len(plan)):
            charge = plan[i][g] > 0.0
            room = np.where(charge, (c.capacity_kwh - soc) / (eta * dt),
                            (soc - c.soc_min_kwh) * eta / dt)
            can = np.clip(np.minimum(c.power_kw, room), 0.0, None)
            x = np.minimum(np.abs(plan[i][g]) * self._share, can)
            left = np.clip(np.abs(plan[i]) - np.bincount(g, x, G), 0.0, None)
            rest = can - x
            rest_sum = np.bincount(g, rest, G)
            more = np.minimum(1.0, np.divide(left, rest_sum, out=np.zeros(G),
                                             where=rest_sum > 0))[g] * rest
            x += more
            self.split_shortfall_kwh += float(
                np.clip(left - np.bincount(g, more, G), 0.0, None).sum() * dt)
            out[i] = np.where(charge, x, -x)
            soc += np.where(charge, eta * x * dt, -x * dt / eta)
        return out

    def _plan(self, ws, we, now, soc_ws, executed, parts=None):
        """:meth:`plan` for the LP's batteries (sites or classes).

        ``parts``: the executed charge and discharge [kW] apart (each like ``executed``),
        default from the sign of ``executed``.
        """
        B, N, r = self.ctx.n_sites, self.ctx.n_steps, self.block
        if (now - ws) % r:
            raise ValueError(f"a re-plan {now - ws} steps into a window is not on an LP step of "
                             f"{r} data steps")
        inputs = self.inputs(ws, we, now, soc_ws)
        done, nv = inputs.n_done, inputs.n_valid
        executed = np.asarray(executed, dtype=float)
        if parts is None:
            parts = (np.maximum(executed, 0.0), np.maximum(-executed, 0.0))
        # block means of what the batteries did, each direction apart (a block, or a class
        # whose sites went opposite ways, may hold both)
        parts = [np.asarray(part, dtype=float) for part in parts]
        if r > 1 and done:
            parts = [part.reshape(done, r, B).mean(axis=1) for part in parts]
        kept = self._unchanged_ahead(ws, inputs, executed, parts)
        self._solved = kept is None
        if kept is not None:
            self.kept += 1
            return kept[: we - now]
        values = self.steer.parameters(inputs)
        lower, upper = np.zeros((2, B, N)), np.zeros((2, B, N))
        for d, part in enumerate(parts):
            lower[d, :, :done] = upper[d, :, :done] = part.T
        upper[:, :, done:nv] = self.ctx.power_kw[None, :, None]
        if ws != self._window:  # a new window: no direction held yet
            self._window, self._held = ws, np.zeros((2, B, N), dtype=bool)
        upper[self._held & (np.arange(N) >= done)] = 0.0
        x, obj = self.runner.solve(values, lower.ravel(), upper.ravel(), from_step=done)
        if self._certify:  # the LP's dual values before any direction is held
            self._duals = [self.runner.duals()]
        x = x.reshape(2, B, N)
        free = np.zeros((B, N), dtype=bool)
        free[:, done:nv] = True
        both = self._both(x) & free
        if both.any():
            bound = obj
            if self.directions == "net":
                x, obj = self._hold_directions(x, both, free, values, lower, upper, done)
            else:
                x, obj = self._one_direction(x, both, free, inputs)
            self.direction_gap += obj - bound
            if self._certify and self.directions == "net":  # and those of the held LP
                self._duals.append(self.runner.duals())
        self.objectives.append(obj)
        self._last = (ws, inputs, x)
        plan = (x[0] - x[1]).T[done:nv]
        return np.repeat(plan, r, axis=0)[: we - now] if r > 1 else plan

    def _unchanged_ahead(self, ws, inputs, executed, parts):
        """The last plan's rest, when nothing the next ``lookahead`` steps depend on changed.

        Nothing changed: the same window, the batteries did what the last
        plan said, and every input (forecasts, prices) of the steps from now
        to ``lookahead`` LP steps ahead is what that plan used (changes further
        ahead are taken up at the next solve). None otherwise. ``parts``: the
        executed charge and discharge per LP step; a step that holds both (sites of a
        class, or steps of a block, that went opposite ways) lost energy the net power
        does not show, so the plan is solved again.
        """
        if self.lookahead is None or self._last is None or self._last[0] != ws:
            return None
        _, last, x = self._last
        done, r = inputs.n_done, self.block
        since = slice(last.n_done, done)
        if ((parts[0][since] > 1e-9) & (parts[1][since] > 1e-9)).any():
            return None
        planned = (x[0] - x[1]).T[last.n_done:done]  # what the batteries were to do since
        executed = np.asarray(executed, dtype=float)[last.n_done * r:]
        if r > 1 and len(executed):
            executed = executed.reshape(-1, r, executed.shape[1]).mean(axis=1)
        if inputs.n_valid != last.n_valid or not np.allclose(executed, planned, atol=1e-9):
            return None
        ahead = slice(done, min(done + self.lookahead, inputs.n_valid))
        for name in ("net0", "transformer0", "mv0", "import_price", "export_price",
                     "community_import_price", "community_export_price"):
            a, b = getattr(inputs, name), getattr(last, name)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a[ahead],
                                                                                   b[ahead])):
                return None
        plan = (x[0] - x[1]).T[done:inputs.n_valid]
        return np.repeat(plan, r, axis=0) if r > 1 else plan

    @staticmethod
    def _both(x: np.ndarray) -> np.ndarray:
        return (x[0] > SIMULTANEOUS_KW) & (x[1] > SIMULTANEOUS_KW)

    def _hold_directions(self, x, both, free, values, lower, upper, done):
        """Hold every free step of each battery that did both to the direction of its net
        power in the LP (charge only where the net is >= 0, else discharge only); solve again.

        One more LP per round; a battery whose steps are all held cannot do both again,
        so the rounds end (at most one per battery).
        """
        B, N = self.ctx.n_sites, self.ctx.n_steps
        upper = upper.copy()
        held = np.zeros(B, dtype=bool)
        for _ in range(B):
            batteries = both.any(axis=1) & ~held
            held |= batteries
            steps = free & batteries[:, None]
            self.direction_binaries += int(steps.sum())
            charge = x[0] >= x[1]
            self._held[1] |= steps & charge
            self._held[0] |= steps & ~charge
            upper[self._held & free[None]] = 0.0
            x, obj = self.runner.solve(values, lower.ravel(), upper.ravel(), from_step=done)
            x = x.reshape(2, B, N)
            both = self._both(x) & free
            if not both.any():
                return x, obj
        raise RuntimeError(  # pragma: no cover - every battery held: none can do both
            "planner: simultaneous charge and discharge left with every battery held")

    def _one_direction(self, x, both, free, inputs):
        """Solve with one direction per step where the LP charged and discharged at once.

        Binaries (charge or discharge) on those steps and on every free step
        of a site whose marginal price is negative (where burning energy pays),
        more where the solution still does both, until it does neither.
        """
        B, N = self.ctx.n_sites, self.ctx.n_steps
        negative = ((inputs.import_price < 0) | (inputs.export_price < 0)).T  # (B, N)
        chosen = both | (negative & free & both.any(axis=1, keepdims=True))
        index = np.arange(B * N).reshape(B, N)
        power = np.broadcast_to(self.ctx.power_kw[:, None], (B, N))
        for _ in range(MAX_ROUNDS):
            self.direction_binaries += int(chosen.sum())
            x, obj = self.runner.solve_directions(index[chosen], B * N + index[chosen],
                                                  power[chosen])
            x = x.reshape(2, B, N)
            left = self._both(x) & free & ~chosen
            if not left.any():
                return x, obj
            chosen |= left
        raise RuntimeError(  # pragma: no cover - each round adds binaries
            f"planner: simultaneous charge and discharge left after {MAX_ROUNDS} rounds")

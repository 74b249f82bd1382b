"""Cost-minimising steering: M0, M2, M4, M5 and the two-layer M4+M5.

All share the objective of the households' energy cost under a
:class:`ansen.tariffs.Tariff` at each household's marginal prices
(:math:`c^{imp}_{b,t} \\ge c^{exp}_{b,t}`: with net metering they depend on
whether the household imports more than it exports over the year), plus
battery wear and minus the value of the energy left at the horizon's end,
and differ in the grid terms added:

.. math::

    \\min \\sum_{b,t} \\Delta t\\,(c^{imp}_{b,t} I_{b,t} - c^{exp}_{b,t} X_{b,t})
        + (\\omega + \\epsilon) \\sum_{b,t} \\Delta t\\,(P^{ch}_{b,t} + P^{dis}_{b,t})
        - \\sum_b V_b E_{b,\\tau} + G,
    \\quad I_{b,t} - X_{b,t} = n_{b,t},\\ I, X \\ge 0

- :math:`\\omega` = ``wear_eur_per_kwh``: battery wear per kWh charged or
  discharged (:data:`WEAR_EUR_PER_KWH`, derivation there; 0 switches it off);
  :math:`\\epsilon` = ``epsilon_eur_per_kwh`` (1e-4) breaks ties.
- :math:`V_b`: value of a kWh left in store at the last step :math:`\\tau` of
  the horizon, ``end_value_eur_per_kwh`` or by default the price at which it
  would be used, discharged after the horizon to displace imports:
  :math:`V_b = \\max(0,\\ \\eta_b\\,(\\overline{c^{imp}_b} - \\omega))` per kWh
  stored (discharged later it delivers :math:`\\eta_b` kWh, each worth the
  import price it displaces less the wear of discharging it), with
  :math:`\\overline{c^{imp}_b}` the mean import price of the horizon's last
  24 hours (the latest prices known). Without it every plan empties the
  batteries at its end, selling what the next day would have used.
- :math:`G`: the model's grid terms below (0 for M0 and M2).

M0, individual arbitrage (beyond the pilot: what market-steered home batteries do today)
    each household's own meter, no grid term.

M2, neighbourhood coordination
    The batteries are steered as one for the community's cost. With
    ``meter="household"`` (default: each household is billed on its own
    meter, as the law has it in 2024-25) the community's cost is the sum of
    the households' bills; nothing couples the batteries, so M2 plans what M0
    plans, and the pilot's "surplus of A covers the deficit of B
    (administratively)" is a settlement between households
    (:mod:`ansen.settlement`). ``meter="community"`` optimises one virtual
    meter :math:`I_t - X_t = \\sum_b n_{b,t}` at the community's prices (an
    energy-sharing contract); the bills are still computed per household, so
    what such a plan costs the households shows in the metrics.

M4, M2 + a shadow price :math:`\\lambda^{tr}` [EUR/kWh] on transformer load
beyond a congestion threshold :math:`\\theta_k = \\theta^{pu} S_k` (rating
:math:`S_k`, power factor 1), in both directions:
    .. math:: G = \\lambda^{tr} \\sum_{k,t} \\Delta t\\, u_{k,t},
              \\quad u_{k,t} \\ge L^{tr}_{k,t} - \\theta_k,\\ u_{k,t} \\ge -L^{tr}_{k,t} - \\theta_k,
              \\ u \\ge 0

M5, M2 + a shadow price :math:`\\lambda^{mv}` [EUR/kWh] on forecast MV load
beyond a threshold :math:`\\theta^{mv}` and a peak price :math:`\\pi^{mv}`
[EUR/kW] on the horizon's largest absolute MV load :math:`z`:
    .. math:: G = \\lambda^{mv} \\sum_t \\Delta t\\, v_t + \\pi^{mv} z,
              \\quad v_t \\ge \\pm L^{mv}_t - \\theta^{mv},\\ v \\ge 0,\\ z \\ge \\pm L^{mv}_t

    :math:`\\theta^{mv}` is ``mv_threshold_kw`` or, if that is None,
    ``mv_threshold_pu`` times the largest absolute forecast MV load of the
    horizon. The forecast's data age is the simulator's ``data_lag``.

M4+M5, the report's recommended two layers: the M4 terms always on, the M5
terms on top.

Parameter defaults of the grid terms are assumptions (the report gives no
values); they make the grid terms outweigh price spreads when the grid is
congested.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ansen.models.base import Context, HorizonInputs, LinearModel

__all__ = [
    "WEAR_EUR_PER_KWH",
    "CommunityCost",
    "IndividualCost",
    "LocalCongestion",
    "RegionalSupport",
    "TwoLayer",
    "wear_cost",
]


def wear_cost(pack_eur_per_kwh: float, full_cycles: float, usable_share: float = 1.0) -> float:
    """Battery wear per kWh charged or discharged [EUR/kWh].

    .. math:: \\omega = \\frac{C}{2\\, N\\, u}

    A pack costing :math:`C` per kWh of nominal capacity lasts :math:`N` full
    cycles of its usable share :math:`u`; a full cycle moves :math:`u` kWh in
    and :math:`u` kWh out per kWh of capacity, so the pack's cost is spread
    over :math:`2 N u` kWh of throughput.
    """
    if pack_eur_per_kwh < 0 or full_cycles <= 0 or not 0 < usable_share <= 1:
        raise ValueError("wear_cost needs pack price >= 0, cycles > 0 and a usable share in (0, 1]")
    return pack_eur_per_kwh / (2.0 * full_cycles * usable_share)


#: Default battery wear [EUR per kWh charged or discharged], from :func:`wear_cost`:
#:
#: - pack price: US$ 115/kWh, the volume-weighted average lithium-ion pack price of
#:   BloombergNEF's 2024 battery price survey (December 2024), i.e. about EUR 106/kWh
#:   at the ECB's 2024 average of 1.082 US$/EUR (the pack, not the installed system:
#:   inverter and installation do not wear with cycling);
#: - cycle life: 2,920 full cycles, the throughput warranty of an LFP home battery
#:   (Alpha-ESS SMILE-B3-Plus: 10 years or 2.92 MWh per usable kWh to 80 % capacity;
#:   BYD Battery-Box LVS 11.88 MWh per 4 kWh module, Huawei LUNA2000 19.23 MWh per
#:   7 kWh module and Tesla Powerwall 2 37.8 MWh per 13.5 kWh are of the same order);
#: - usable share 0.96 of the nominal capacity (Alpha-ESS, same source).
#:
#: About EUR 0.019/kWh, 0.038 per kWh cycled. It is a low estimate: at the retail
#: price of a home battery (ANWB: about EUR 750 per kWh of capacity plus
#: installation, via Keuze.nl) the same cycle life gives EUR 0.13/kWh.
WEAR_EUR_PER_KWH = round(wear_cost(115.0 / 1.082, 2920.0, 0.96), 4)

EPSILON = {"epsilon_eur_per_kwh": 1e-4}
ECONOMY = {"wear_eur_per_kwh": WEAR_EUR_PER_KWH, "end_value_eur_per_kwh": None}
LOCAL = {"shadow_eur_per_kwh": 0.3, "threshold_pu": 0.7}
REGIONAL = {"mv_shadow_eur_per_kwh": 0.3, "mv_threshold_kw": None, "mv_threshold_pu": 0.85,
            "mv_peak_eur_per_kw": 1.0}


class CommunityCost(LinearModel):
    """``M2``: minimise the community's energy cost (household meters by default)."""

    id = "M2"
    name = "neighbourhood coordination"
    defaults = {**EPSILON, **ECONOMY, "meter": "household"}
    individual = False

    @property
    def community_meter(self) -> bool:
        """One virtual meter for the community (``meter="community"``)."""
        return not self.individual and self.params.get("meter") == "community"

    @property
    def separable(self) -> bool:
        """No grid term and household meters: one LP per battery (:mod:`ansen.models.storage_dp`).

        Only M0 and M2 themselves: a subclass may add terms that couple the batteries.
        """
        return not self.community_meter and type(self) in (CommunityCost, IndividualCost)

    @property
    def exact_classes(self) -> bool:
        """With one community meter every term is a sum over the batteries (classes exact).

        Only the models of this package: a subclass may add terms on single batteries.
        """
        return self.community_meter and type(self).__module__ in (
            "ansen.models.cost", "ansen.models.behaviour")

    @property
    def site_prices(self) -> bool:
        """Whether the LP uses each site's own prices (not with a community meter)."""
        return not self.community_meter

    def add_terms(self, m: pyo.ConcreteModel, ctx: Context) -> None:
        # Each meter's cost c_imp I - c_exp X with I - X = n is written with the import
        # alone: X = I - n >= 0, cost = (c_imp - c_exp) I + c_exp n, so that the LP has no
        # export columns (fewer columns, the same optimum); c_exp n0 is a constant.
        T, S, dt = m.TIMESTEPS, m.STORAGES, ctx.dt_h
        if self.community_meter:
            m.spread = pyo.Param(T, mutable=True, initialize=0.0)
            m.export_price = pyo.Param(T, mutable=True, initialize=0.0)
            m.community0 = pyo.Param(T, mutable=True, initialize=0.0)
            m.grid_import = pyo.Var(T, domain=pyo.NonNegativeReals)
            m.meter = pyo.Constraint(T, rule=lambda m, t: (
                m.grid_import[t] - m.fleet[t] >= m.community0[t]))
            m.cost = pyo.Expression(expr=dt * pyo.quicksum(
                m.spread[t] * m.grid_import[t] + m.export_price[t] * m.fleet[t] for t in T))
        else:
            m.spread = pyo.Param(S, T, mutable=True, initialize=0.0)
            m.export_price = pyo.Param(S, T, mutable=True, initialize=0.0)
            m.net0 = pyo.Param(S, T, mutable=True, initialize=0.0)
            m.grid_import = pyo.Var(S, T, domain=pyo.NonNegativeReals)
            m.meter = pyo.Constraint(S, T, rule=lambda m, b, t: (
                m.grid_import[b, t] - m.battery[b, t] >= m.net0[b, t]))
            m.cost = pyo.Expression(expr=dt * pyo.quicksum(
                m.spread[b, t] * m.grid_import[b, t]
                + m.export_price[b, t] * (m.charge[b, t] - m.discharge[b, t])
                for b in S for t in T))
        m.cost_of_forecast = pyo.Param(mutable=True, initialize=0.0)  # dt sum c_exp n0
        m.end_value = pyo.Param(S, T, mutable=True, initialize=0.0)
        m.stored_value = pyo.Expression(expr=sum(m.end_value[b, t] * m.soc[b, t]
                                                 for b in S for t in T))
        grid = self.add_grid_terms(m, ctx)
        per_kwh = self.params["wear_eur_per_kwh"] + self.params["epsilon_eur_per_kwh"]
        m.objective = pyo.Objective(expr=m.cost + m.cost_of_forecast + per_kwh * m.throughput
                                    - m.stored_value + grid)

    def add_grid_terms(self, m: pyo.ConcreteModel, ctx: Context):
        return 0.0

    def end_values(self, inputs: HorizonInputs, price: np.ndarray) -> np.ndarray:
        """Value of a kWh in store at the horizon's end per site [EUR/kWh] (module docstring)."""
        fixed = self.params["end_value_eur_per_kwh"]
        if fixed is not None:
            return np.full(self.ctx.n_sites, float(fixed))
        n = inputs.n_valid
        last = price[max(0, n - round(24 / self.ctx.dt_h)):n]
        if not len(last):
            return np.zeros(self.ctx.n_sites)
        mean = last.mean(axis=0) if last.ndim == 2 else np.full(self.ctx.n_sites, last.mean())
        return np.maximum(0.0, self.ctx.efficiency * (mean - self.params["wear_eur_per_kwh"]))

    def input_values(self, inputs: HorizonInputs) -> dict[str, np.ndarray]:
        if (inputs.export_price > inputs.import_price + 1e-12).any():
            raise ValueError("export price above import price: the cost LP would be unbounded "
                             "(check the tariff's feed-in share and fee)")
        n, b = inputs.net0.shape
        if self.community_meter:
            imp, exp = inputs.community_import_price, inputs.community_export_price
            if imp is None or exp is None:
                raise ValueError(f"{self.id} with meter='community' needs the community's "
                                 "prices (HorizonInputs.community_import_price/export_price)")
            net0 = inputs.net0.sum(axis=1)
            values = {"spread": np.asarray(imp) - np.asarray(exp), "export_price": exp,
                      "community0": net0}
            constant = float((np.asarray(exp) * net0).sum())
            end = self.end_values(inputs, np.asarray(imp))
        else:
            values = {"spread": (inputs.import_price - inputs.export_price).T,
                      "export_price": inputs.export_price.T, "net0": inputs.net0.T}
            constant = float((inputs.export_price * inputs.net0).sum())
            end = self.end_values(inputs, inputs.import_price)
        values["cost_of_forecast"] = np.array(self.ctx.dt_h * constant)
        end_value = np.zeros((b, n))
        if inputs.n_valid > 0:
            end_value[:, inputs.n_valid - 1] = end
        values["end_value"] = end_value
        values.update(self.grid_values(inputs))
        return values

    def grid_values(self, inputs: HorizonInputs) -> dict[str, np.ndarray]:
        return {}


class IndividualCost(CommunityCost):
    """``M0``: each household minimises its own cost (day-ahead arbitrage)."""

    id = "M0"
    name = "individual price arbitrage"
    defaults = {**EPSILON, **ECONOMY}
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


def _regional_values(inputs: HorizonInputs, params: dict) -> dict[str, np.ndarray]:
    fixed = params["mv_threshold_kw"]
    threshold = (float(fixed) if fixed is not None
                 else params["mv_threshold_pu"] * float(np.abs(inputs.mv0[: inputs.n_valid]).max()))
    return {"mv0": inputs.mv0, "mv_threshold": np.array(threshold)}


class LocalCongestion(CommunityCost):
    """``M4``: community cost + shadow price on transformer load above a threshold."""

    id = "M4"
    name = "community and grid balance"
    defaults = {**EPSILON, **ECONOMY, "meter": "household", **LOCAL}

    def add_grid_terms(self, m, ctx):
        return _add_local(m, ctx, self.params)

    def grid_values(self, inputs):
        return {"transformer0": inputs.transformer0.T}


class RegionalSupport(CommunityCost):
    """``M5``: community cost + shadow prices on forecast MV load."""

    id = "M5"
    name = "regional grid support"
    defaults = {**EPSILON, **ECONOMY, "meter": "household", **REGIONAL}

    def add_grid_terms(self, m, ctx):
        return _add_regional(m, ctx, self.params)

    def grid_values(self, inputs):
        return _regional_values(inputs, self.params)


class TwoLayer(CommunityCost):
    """``M4+M5``: local capacity management always on, regional support on top."""

    id = "M4+M5"
    name = "two layers: local base, regional service"
    defaults = {**EPSILON, **ECONOMY, "meter": "household", **LOCAL, **REGIONAL}

    def add_grid_terms(self, m, ctx):
        return _add_local(m, ctx, self.params) + _add_regional(m, ctx, self.params)

    def grid_values(self, inputs):
        return {"transformer0": inputs.transformer0.T, **_regional_values(inputs, self.params)}

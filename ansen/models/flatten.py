"""``M3``: local congestion management on the grid operator's command.

The batteries follow the grid operator's forecast of the local transformer
load and flatten it; household cost plays no part (which is why the report
finds household finances negative, above all in winter). LP form: a convex
piecewise-linear penalty on the deviation from a flat target (a linear
stand-in for the variance the report measures) plus a peak term, per
transformer :math:`k`:

.. math::

    \\min \\sum_k \\Big( \\sum_{t,s} \\Delta t\\,(2s+1)(d^+_{k,t,s} + d^-_{k,t,s})
        + w\\,\\hat L_k \\Big) + \\epsilon \\sum (P^{ch} + P^{dis}) \\Delta t

    L^{tr}_{k,t} - \\bar L_k = \\sum_s (d^+_{k,t,s} - d^-_{k,t,s}), \\quad
    0 \\le d^\\pm_{k,t,s} \\le \\delta_k \\ (s < S-1), \\quad
    \\hat L_k \\ge \\pm L^{tr}_{k,t}

Segment :math:`s` of width :math:`\\delta_k` = ``segment_pu`` x rating
(0.15) costs :math:`2s+1` per kWh, the slopes of :math:`x^2` between segment
ends, so large deviations cost more than small ones; the last of ``segments``
(4) is unbounded. ``segments=1`` gives the plain L1 deviation. The flat
target :math:`\\bar L_k` is the mean of the forecast transformer load without
batteries over the horizon (its part inside the run); ``peak_weight``
:math:`w` [h] (4: a kW of peak counts as much as four hours of a kW of
deviation). All three values are assumptions. The variance reduction the
report quotes (-27 %) is measured afterwards by :mod:`ansen.metrics`. The
target is set at each day-ahead decision and kept for the re-plans of that
window (the grid operator's target for the day; re-plans follow it with the
newest forecasts).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ansen.models.base import Context, HorizonInputs, LinearModel

__all__ = ["FlattenTransformer"]


class FlattenTransformer(LinearModel):
    """``M3``: flatten the forecast transformer load."""

    id = "M3"
    site_prices = False  # household cost plays no part

    @property
    def exact_classes(self) -> bool:
        """Only transformer sums and throughput: classes are exact (this class only; a
        subclass may add terms on single batteries)."""
        return type(self) is FlattenTransformer
    name = "grid-operator command (flatten transformer)"
    defaults = {"peak_weight": 4.0, "segments": 4, "segment_pu": 0.15,
                "epsilon_eur_per_kwh": 1e-4}

    def add_terms(self, m: pyo.ConcreteModel, ctx: Context) -> None:
        self._target = None
        T, K = m.TIMESTEPS, m.TRANSFORMERS
        n_seg = int(self.params["segments"])
        m.SEGMENTS = pyo.RangeSet(0, n_seg - 1)
        width = self.params["segment_pu"] * np.asarray(ctx.transformer_kva, dtype=float)

        def seg_bounds(m, k, t, s):
            return (0.0, None if s == n_seg - 1 else float(width[k]))

        m.transformer0 = pyo.Param(K, T, mutable=True, initialize=0.0)
        m.target = pyo.Param(K, mutable=True, initialize=0.0)
        m.above = pyo.Var(K, T, m.SEGMENTS, bounds=seg_bounds)
        m.below = pyo.Var(K, T, m.SEGMENTS, bounds=seg_bounds)
        m.peak = pyo.Var(K, domain=pyo.NonNegativeReals)
        m.deviation = pyo.Constraint(K, T, rule=lambda m, k, t: (
            m.fleet_on_transformer[k, t]
            - pyo.quicksum(m.above[k, t, s] - m.below[k, t, s] for s in m.SEGMENTS)
            == m.target[k] - m.transformer0[k, t]))
        m.peak_import = pyo.Constraint(K, T, rule=lambda m, k, t: (
            m.peak[k] - m.fleet_on_transformer[k, t] >= m.transformer0[k, t]))
        m.peak_export = pyo.Constraint(K, T, rule=lambda m, k, t: (
            m.peak[k] + m.fleet_on_transformer[k, t] >= -m.transformer0[k, t]))
        slope = {s: 2.0 * s + 1.0 for s in range(n_seg)}  # x^2 sampled at segment ends
        m.objective = pyo.Objective(
            expr=ctx.dt_h * pyo.quicksum(slope[s] * (m.above[k, t, s] + m.below[k, t, s])
                                         for k in K for t in T for s in m.SEGMENTS)
            + self.params["peak_weight"] * pyo.quicksum(m.peak[k] for k in K)
            + self.params["epsilon_eur_per_kwh"] * m.throughput
        )

    def input_values(self, inputs: HorizonInputs) -> dict[str, np.ndarray]:
        if inputs.n_done == 0 or self._target is None:  # the day-ahead target of the window
            self._target = inputs.transformer0[: inputs.n_valid].mean(axis=0)
        target = self._target
        tr0 = inputs.transformer0.copy()
        tr0[inputs.n_valid :] = target  # padding beyond the plan: no deviation without action
        return {"transformer0": tr0.T, "target": target}

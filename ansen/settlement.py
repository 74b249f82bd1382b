"""Settling a community's energy cost among its households (M2 and after).

Under M2 the batteries are steered as one and the community is billed as one
virtual meter: the surplus of household A covers the deficit of B. The
report finds the result "very unequal per household" and calls for an
internal settlement model. :func:`settle` offers three rules, so the unequal
outcome is visible and its correction can be compared:

``individual``
    each household pays what its own meter would cost (no settlement);
``pro_rata``
    the community cost :math:`C` is shared in proportion to consumption,
    :math:`C_h = C\\,E_h / \\sum_j E_j`;
``counterfactual``
    each household pays its own cost in a counterfactual run (e.g. M1, its
    own battery for itself) minus a share of the community's saving
    :math:`S = \\sum_j C^{cf}_j - C` in proportion to consumption,
    :math:`C_h = C^{cf}_h - S\\,E_h / \\sum_j E_j`; nobody is worse off than in
    the counterfactual as long as :math:`S \\ge 0`.

Community cost with internal netting, over the battery households:

.. math::

    C = \\sum_t \\Delta t\\,(c^{imp}_t N^+_t - c^{exp}_t N^-_t),
    \\quad N_t = \\sum_{h} n_{h,t}
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from ansen.data.schema import battery_sites, step_hours
from ansen.tariffs import Tariff, household_costs, import_export

__all__ = ["RULES", "community_cost", "settle"]

RULES = ("individual", "pro_rata", "counterfactual")


def community_cost(run: xr.Dataset, tariff: Tariff | None = None) -> float:
    """Energy cost of the battery households as one virtual meter [EUR] (no fixed costs)."""
    tariff = tariff or Tariff()
    n = run["net_kw"].values[:, battery_sites(run)].sum(axis=1)
    imp, exp = import_export(n)
    cimp, cexp = tariff.prices(run)
    return float(((imp * cimp - exp * cexp) * step_hours(run)).sum())


def settle(run: xr.Dataset, rule: str = "pro_rata", *, tariff: Tariff | None = None,
           counterfactual: xr.Dataset | None = None) -> pd.DataFrame:
    """Each battery household's share of the energy cost of a run [EUR].

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`ansen.simulate`.
    rule : {"individual", "pro_rata", "counterfactual"}
        See the module docstring.
    tariff : Tariff, optional
    counterfactual : xarray.Dataset, optional
        The run each household is compared with (needed by ``counterfactual``,
        optional otherwise: adds the column ``saving_eur``).

    Returns
    -------
    pandas.DataFrame
        Index household; columns ``consumption_kwh``, ``cost_eur`` (over the
        run), ``cost_eur_per_month`` and, with a counterfactual,
        ``counterfactual_eur`` and ``saving_eur``.
    """
    if rule not in RULES:
        raise ValueError(f"unknown settlement rule {rule!r}; known: {', '.join(RULES)}")
    if rule == "counterfactual" and counterfactual is None:
        raise ValueError("the counterfactual rule needs a counterfactual run (e.g. M1)")
    s = battery_sites(run)
    ids = run["household"].values[s]
    h = step_hours(run)
    energy = run["load_kw"].values[:, s].sum(axis=0) * h
    weight = energy / energy.sum()
    own = household_costs(run, tariff, fixed=False).iloc[:, s].sum().to_numpy()
    total = community_cost(run, tariff)
    cf = (household_costs(counterfactual, tariff, fixed=False).iloc[:, s].sum().to_numpy()
          if counterfactual is not None else None)
    if rule == "individual":
        cost = own
    elif rule == "pro_rata":
        cost = total * weight
    else:
        cost = cf - (cf.sum() - total) * weight
    months = run.sizes["time"] * h / (365.25 * 24 / 12)
    out = pd.DataFrame({"consumption_kwh": energy, "cost_eur": cost,
                        "cost_eur_per_month": cost / months}, index=pd.Index(ids, name="household"))
    if cf is not None:
        out["counterfactual_eur"] = cf
        out["saving_eur"] = cf - cost
    return out

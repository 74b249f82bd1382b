"""Settling a community's cost among its households (M2 and after): who pays what.

Who pays what, to whom:

- **To the supplier**, every household pays its own bill, on its own meter
  (:func:`ansen.tariffs.household_costs`). With net metering (until 2026) the
  supply part is settled per step at the day-ahead price and the energy tax
  on the household's net consumption over the year: a household that
  exports more than it imports pays no energy tax and earns the day-ahead
  price for its surplus. Without net metering (from 2027) every imported kWh
  pays supply, energy tax and VAT, every exported kWh earns the feed-in
  compensation. In both regimes the community's cost is the sum of these
  bills: Dutch law of 2024-25 has no shared meter for a village, so the
  pilot's "surplus of A covers the deficit of B (administratively)" moves no
  money at the supplier.
- **Inside the community**, a settlement rule moves money between the
  households so that steering for the community (M2, M4, M5, M6, M4+M5) is
  fair to each. :func:`settle` offers three rules:

``individual``
    each household keeps its own bill (no transfers);
``pro_rata``
    the community's cost :math:`C = \\sum_h C_h` is shared in proportion to
    consumption, :math:`C^{set}_h = C\\,E_h / \\sum_j E_j`;
``counterfactual``
    each household pays its own bill in a counterfactual run (e.g. M1, its
    own battery for itself) minus a share of the community's saving
    :math:`S = \\sum_j C^{cf}_j - C` in proportion to consumption,
    :math:`C^{set}_h = C^{cf}_h - S\\,E_h / \\sum_j E_j`. Nobody is worse off
    than in the counterfactual as long as :math:`S \\ge 0`; when the
    community as a whole lost money (:math:`S < 0`) every household is, and
    the table says so (``worse_off``, and ``attrs["community_saving_eur"]``).

Energy tax and VAT are due on each meter as above whatever the internal
settlement: the transfers are payments between neighbours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import HOURS_PER_MONTH, battery_sites, step_hours
from ansen.tariffs import Tariff, check_default_tariff, household_costs, import_export

__all__ = ["RULES", "community_cost", "settle", "virtual_meter_cost"]

RULES = ("individual", "pro_rata", "counterfactual")


def community_cost(run: xr.Dataset, tariff: Tariff | None = None) -> float:
    """Energy cost of the battery households [EUR]: the sum of their own bills (no fixed costs)."""
    return float(household_costs(run, tariff, fixed=False).iloc[:, battery_sites(run)]
                 .to_numpy().sum())


def virtual_meter_cost(run: xr.Dataset, tariff: Tariff | None = None) -> float:
    """What the battery households would pay as one meter with per-step netting [EUR].

    The cost an energy-sharing contract would bill (the pilot's administrative
    netting); not what households pay under Dutch law of 2024-25. Prices of a
    net importer (:meth:`ansen.tariffs.Tariff.prices`).
    """
    if tariff is None:
        check_default_tariff(run, "run")
    tariff = tariff or Tariff()
    n = run["net_kw"].values[:, battery_sites(run)].sum(axis=1)
    imp, exp = import_export(n)
    cimp, cexp = tariff.prices(run)
    return float(((imp * cimp - exp * cexp) * step_hours(run)).sum())


def settle(run: xr.Dataset, rule: str = "pro_rata", *, tariff: Tariff | None = None,
           counterfactual: xr.Dataset | None = None) -> pd.DataFrame:
    """Each battery household's share of the community's energy cost of a run [EUR].

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`ansen.simulate`.
    rule : {"individual", "pro_rata", "counterfactual"}
        See the module docstring.
    tariff : Tariff, optional
        Default :class:`ansen.tariffs.Tariff` (); refused for a run simulated
        under another tariff (pass the one it ran under).
    counterfactual : xarray.Dataset, optional
        The run each household is compared with (needed by ``counterfactual``,
        optional otherwise: adds the comparison columns).

    Returns
    -------
    pandas.DataFrame
        Index household; columns ``consumption_kwh``, ``own_bill_eur`` (its
        supplier bill in the run), ``cost_eur`` (after settlement),
        ``transfer_eur`` (``cost_eur - own_bill_eur``: paid to (+) or received
        from (-) the neighbours), ``cost_eur_per_month`` and, with a
        counterfactual, ``counterfactual_eur``, ``saving_eur`` (counterfactual
        minus settled cost) and ``worse_off`` (settled cost above the
        counterfactual by more than a cent). ``attrs``: ``rule``, ``tariff``,
        ``community_cost_eur``, and with a counterfactual
        ``community_saving_eur`` and ``worse_off`` (the number of households).
    """
    if rule not in RULES:
        raise ValueError(f"unknown settlement rule {rule!r}; known: {', '.join(RULES)}")
    if rule == "counterfactual" and counterfactual is None:
        raise ValueError("the counterfactual rule needs a counterfactual run (e.g. M1)")
    if tariff is None:  # a run steered under another tariff is billed under it, or refused
        check_default_tariff(run, "run")
        if counterfactual is not None:
            check_default_tariff(counterfactual, "counterfactual")
    tariff = tariff or Tariff()
    s = battery_sites(run)
    if not len(s):
        raise ValueError("settle: the run has no battery households; a settlement shares "
                         "what their batteries earn or cost among them")
    ids = run["household"].values[s]
    h = step_hours(run)
    energy = run["load_kw"].values[:, s].sum(axis=0) * h
    weight = energy / energy.sum() if energy.sum() > 0 else np.full(len(s), 1.0 / len(s))
    own = household_costs(run, tariff, fixed=False).iloc[:, s].sum().to_numpy()
    total = float(own.sum())
    cf = (household_costs(counterfactual, tariff, fixed=False).iloc[:, s].sum().to_numpy()
          if counterfactual is not None else None)
    if rule == "individual":
        cost = own
    elif rule == "pro_rata":
        cost = total * weight
    else:
        cost = cf - (cf.sum() - total) * weight
    months = run.sizes["time"] * h / HOURS_PER_MONTH
    out = pd.DataFrame({"consumption_kwh": energy, "own_bill_eur": own, "cost_eur": cost,
                        "transfer_eur": cost - own, "cost_eur_per_month": cost / months},
                       index=pd.Index(ids, name="household"))
    out.attrs.update(rule=rule, tariff=tariff.label, community_cost_eur=total)
    if cf is not None:
        out["counterfactual_eur"] = cf
        out["saving_eur"] = cf - cost
        out["worse_off"] = out["saving_eur"] < -0.01
        out.attrs.update(community_saving_eur=float(cf.sum() - total),
                         worse_off=int(out["worse_off"].sum()))
    return out

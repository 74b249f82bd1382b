"""Dutch small-consumer electricity tariffs and household costs.

A dynamic contract passes the day-ahead price through:

.. math::

    c^{imp}_t = (p_t + m + \\tau_y)(1 + v)

with :math:`p_t` the day-ahead price, :math:`m` the supplier margin,
:math:`\\tau_y` the energy tax of year :math:`y` and :math:`v` VAT (all
EUR/kWh excl. VAT). Feed-in is compensated

- with net metering (salderingsregeling, until 31 December 2026): at the same
  price, :math:`c^{exp}_t = c^{imp}_t` (per-step netting; exact as long as a
  household imports more than it exports over the year, which the report
  period's households do on average);
- without net metering (from 1 January 2027): at a share of the day-ahead
  price minus a feed-in fee, :math:`c^{exp}_t = s\\,p_t - f` (no tax, no VAT).

Monthly fixed costs: supplier standing charge, the grid operator's capacity
tariff, minus the annual energy-tax reduction (excl. VAT, so times
:math:`1+v`) spread over 12 months.

References
----------
Belastingdienst, energy tax rates 2024-2026, and shared/dutch-context.md:
energy tax 2024 EUR 0.1088/kWh, 2025 EUR 0.10154/kWh, 2026 EUR 0.0916/kWh
(excl. VAT); tax reduction 2025 EUR 524.95 excl. VAT; VAT 21 %; Enexis
capacity tariff 2024 about EUR 426/yr for 3x25 A; net metering ends
1 January 2027 (Kamerstuk 36611).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["Tariff", "household_costs", "import_export"]

#: Energy tax on electricity, EUR/kWh excl. VAT, first consumption band (source above).
ENERGY_TAX = {2024: 0.1088, 2025: 0.10154, 2026: 0.0916}
#: Annual energy-tax reduction, EUR excl. VAT. 2025: source above. 2024 and 2026:
#: assumption (the 2025 value), not checked here.
TAX_REDUCTION = {2024: 524.95, 2025: 524.95, 2026: 524.95}


@dataclass(frozen=True)
class Tariff:
    """A dynamic small-consumer contract (EUR; per kWh excl. VAT unless stated).

    Attributes
    ----------
    net_metering : bool
        Feed-in netted at the import price (True until the end of 2026).
    supplier_margin_eur_per_kwh : float
        Supplier mark-up on the day-ahead price (assumption: 0.02).
    vat : float
        VAT rate (0.21).
    feed_in_share : float
        Without net metering: compensation as share of the day-ahead price.
    feed_in_fee_eur_per_kwh : float
        Without net metering: fee deducted per exported kWh (assumption: 0.0).
    standing_eur_per_month : float
        Supplier standing charge incl. VAT (assumption: 6.0).
    network_eur_per_month : float
        Grid operator capacity tariff incl. VAT (Enexis 2024 ~426/yr for 3x25 A).
    energy_tax : dict
        Energy tax per calendar year.
    tax_reduction_eur_per_year : dict
        Annual energy-tax reduction per calendar year, excl. VAT.
    """

    net_metering: bool = True
    supplier_margin_eur_per_kwh: float = 0.02
    vat: float = 0.21
    feed_in_share: float = 1.0
    feed_in_fee_eur_per_kwh: float = 0.0
    standing_eur_per_month: float = 6.0
    network_eur_per_month: float = 426.0 / 12
    energy_tax: dict = field(default_factory=lambda: dict(ENERGY_TAX))
    tax_reduction_eur_per_year: dict = field(default_factory=lambda: dict(TAX_REDUCTION))

    @classmethod
    def after_net_metering(cls, **changes) -> Tariff:
        """The tariff from 2027: no net metering, feed-in at the day-ahead price."""
        return replace(cls(net_metering=False), **changes)

    def _tax(self, years: np.ndarray) -> np.ndarray:
        missing = sorted({int(y) for y in np.unique(years)} - set(self.energy_tax))
        if missing:
            raise ValueError(f"Tariff has no energy tax for year(s) {missing}")
        return np.vectorize(self.energy_tax.get)(years)

    def import_price(self, price_eur_per_kwh, years) -> np.ndarray:
        """All-in import price [EUR/kWh incl. VAT] per step."""
        p = np.asarray(price_eur_per_kwh, dtype=float)
        tax = self._tax(np.asarray(years))
        return (p + self.supplier_margin_eur_per_kwh + tax) * (1.0 + self.vat)

    def export_price(self, price_eur_per_kwh, years) -> np.ndarray:
        """Compensation per exported kWh [EUR/kWh] per step."""
        if self.net_metering:
            return self.import_price(price_eur_per_kwh, years)
        p = np.asarray(price_eur_per_kwh, dtype=float)
        return self.feed_in_share * p - self.feed_in_fee_eur_per_kwh

    def fixed_eur_per_month(self, year: int) -> float:
        """Standing charge + network tariff - tax reduction, incl. VAT [EUR/month]."""
        reduction = self.tax_reduction_eur_per_year[year] * (1.0 + self.vat) / 12.0
        return self.standing_eur_per_month + self.network_eur_per_month - reduction

    def prices(self, ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Import and export prices [EUR/kWh] on the steps of a village or run."""
        from ansen.data.schema import local_time

        years = local_time(ds).year.to_numpy()
        p = ds["price_eur_per_kwh"].values
        return self.import_price(p, years), self.export_price(p, years)


def import_export(net_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a net exchange [kW] (import positive) into import and export (both >= 0)."""
    net = np.asarray(net_kw, dtype=float)
    return np.maximum(net, 0.0), np.maximum(-net, 0.0)


def household_costs(run: xr.Dataset, tariff: Tariff | None = None, *,
                    fixed: bool = True) -> pd.DataFrame:
    """Cost per household and month [EUR] of a run (or a village: net = load - PV).

    .. math::

        C_{h,m} = \\sum_{t \\in m} (c^{imp}_t\\, n^+_{h,t} - c^{exp}_t\\, n^-_{h,t})\\,\\Delta t
                  + F_m

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`ansen.simulate` (uses ``net_kw``) or a village
        (uses ``load_kw - pv_kw``).
    tariff : Tariff, optional
        Default :class:`Tariff` () (dynamic, net metering).
    fixed : bool
        Add the monthly fixed costs :math:`F_m` (months with only part of
        their days in the run get the part of the fixed costs).

    Returns
    -------
    pandas.DataFrame
        Index: month (local, as ``YYYY-MM``); columns: households.
    """
    from ansen.data.schema import local_time, step_hours

    tariff = tariff or Tariff()
    net = run["net_kw"].values if "net_kw" in run else (run["load_kw"] - run["pv_kw"]).values
    imp, exp = import_export(net)
    cimp, cexp = tariff.prices(run)
    h = step_hours(run)
    energy = (imp * cimp[:, None] - exp * cexp[:, None]) * h
    local = local_time(run)
    month = local.strftime("%Y-%m")
    out = pd.DataFrame(energy, index=month, columns=run["household"].values).groupby(level=0).sum()
    if fixed:
        steps = pd.Series(1.0, index=month).groupby(level=0).sum()
        per_month = pd.Series(local.days_in_month.to_numpy() * 24.0 / h, index=month)
        share = steps / per_month.groupby(level=0).first()
        years = pd.Series(local.year.to_numpy(), index=month).groupby(level=0).first()
        fixed_costs = [tariff.fixed_eur_per_month(int(years[m])) * share[m] for m in out.index]
        out = out.add(np.asarray(fixed_costs)[:, None])
    out.index.name = "month"
    return out

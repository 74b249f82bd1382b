"""Dutch small-consumer electricity tariffs, net metering as the law has it, household bills.

A dynamic contract settles the *supply* part of every step at the day-ahead
price :math:`p_t`; the energy tax :math:`\\tau_y` of year :math:`y` (and the
VAT :math:`v` on it) depends on the metering regime. All prices below are
EUR/kWh, the model parameters excl. VAT.

Supply part, every step (both regimes):

.. math::

    s^{imp}_t = (p_t + m)(1 + v), \\qquad
    s^{exp}_t = (\\varphi\\, p_t - f)(1 + v\\,[\\text{feed-in VAT}])

with the supplier margin :math:`m` on imports, the feed-in share
:math:`\\varphi` of the day-ahead price and a feed-in fee :math:`f`.

Net metering (salderingsregeling, art. 31c Elektriciteitswet 1998 and art. 50
Wbm; until 31 December 2026): the energy tax is due on the household's *net*
consumption over the calendar year, :math:`N_{h,y} = \\sum_{t \\in y} (I_{h,t} -
X_{h,t})\\Delta t`, and only if it is positive:

.. math::

    T_{h,y} = \\tau_y (1 + v) \\max(N_{h,y}, 0).

A household that imports more than it exports over the year (a *net
importer*) thus gets the tax back on every exported kWh; a *net exporter*
pays no energy tax at all and its surplus earns only the supply part
:math:`s^{exp}_t`, which is the feed-in compensation of a dynamic contract
(the hourly day-ahead price; Frank Energie and Tibber, "Salderen en
terugleveren", and Energyhouse describe this settlement). Per step this is
exact with the household's position :math:`w_{h,y} = [N_{h,y} > 0]`:

.. math::

    c^{imp}_{h,t} = s^{imp}_t + w_{h,y}\\,\\tau_y(1+v), \\qquad
    c^{exp}_{h,t} = s^{exp}_t + w_{h,y}\\,\\tau_y(1+v),

and summing :math:`c^{imp} I - c^{exp} X` over a whole year gives the
supply part plus :math:`T_{h,y}` exactly. These are also the *marginal*
prices a household's battery faces, and the prices the cost models optimise
(:meth:`Tariff.marginal_prices`): a net exporter's marginal kWh is worth the
day-ahead price, not the retail price.

Without net metering (from 1 January 2027, Kamerstuk 36611): every imported
kWh pays :math:`s^{imp}_t + \\tau_y(1+v)`, every exported kWh earns
:math:`s^{exp}_t` (without VAT: a household is paid no VAT on feed-in; DELTA
Energie, "Terugleveren", for contracts running into 2027). The law sets the
compensation at no less than 50 % of the agreed bare supply price until
1 January 2030 (amendment Grinwis c.s., Kamerstuk 36611 nr. 17); a dynamic
contract that passes the day-ahead price on (:math:`\\varphi = 1`) pays more
than that when prices are positive. ``Tariff.after_net_metering(
feed_in_share=0.5)`` is the legal minimum, read with two judgements: the
"bare supply price" of a dynamic contract is taken as the day-ahead price
alone; read as the day-ahead price plus the supplier's margin
(``supplier_margin_eur_per_kwh``, excl. VAT), the minimum is half that margin
higher (EUR 0.01/kWh at the default margin). At a negative price the minimum
is taken as half that negative price (the household pays it); the amendment
does not say how a negative price is treated.

The annual position :math:`N_{h,y}` of a run that covers only part of a year
comes from :func:`annual_net_kwh`: the run's own steps, the village's data
without battery for the other days of the year, and for days of the year
outside the data the same calendar days of another year (see there).

Monthly fixed costs: supplier standing charge, the grid operator's capacity
tariff, minus the annual energy-tax reduction (excl. VAT, so times
:math:`1+v`) spread over 12 months.

References
----------
Energy tax (excl. VAT, first band): 2024 EUR 0.1088 (Vattenfall, "Tarieven
energiebelasting 2024"; Meijburg & Co, Promemorie 2024), 2025 EUR 0.10154,
2026 EUR 0.0916 (Solar Duurzaam Nederland FAQ: 2026 EUR 0.1108 incl. VAT);
tax reduction 2025 EUR 524.95 excl. VAT; VAT 21 %. Net metering: Memorie van
toelichting Kamerstuk 35594 nr. 3 (art. 31c E-wet, art. 50 Wbm: netting over
the year, at most down to the imported amount); Stedin, "Hoe wordt mijn
opgewekte energie verrekend". Dynamic settlement: Frank Energie, "Saldering
bij dynamische contracten"; Tibber, "Salderen en terugleveren bij Tibber".
End of net metering and the 50 % minimum until 2030: Kamerstuk 36611 nr. 3
and nr. 17 (Eerste Kamer, nota 36611 D, 6 December 2024). Enexis capacity
tariff 2024 about EUR 426/yr for 3x25 A.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "ENERGY_TAX",
    "NET_METERING_LAST_YEAR",
    "REGIME",
    "TAX_REDUCTION",
    "Tariff",
    "annual_net_kwh",
    "check_default_tariff",
    "household_costs",
    "import_export",
    "last_year_net_kwh",
    "read_tariff",
    "regime_differences",
    "regime_settings",
]

#: The last calendar year of net metering (it ends on 31 December 2026, Kamerstuk 36611).
NET_METERING_LAST_YEAR = 2026
#: Energy tax on electricity, EUR/kWh excl. VAT, first consumption band (source above).
ENERGY_TAX = {2024: 0.1088, 2025: 0.10154, 2026: 0.0916}
#: Annual energy-tax reduction, EUR excl. VAT. 2025: source above. 2024 and 2026:
#: assumption (the 2025 value), not checked here.
TAX_REDUCTION = {2024: 524.95, 2025: 524.95, 2026: 524.95}


def _years_hint(tariff) -> str:
    """How to bill a year the tariff does not know (the end of its error message)."""
    tax, reduction = sorted(tariff.energy_tax), sorted(tariff.tax_reduction_eur_per_year)
    known = sorted(set(tax) & set(reduction))

    def years(y):
        return ", ".join(map(str, y)) or "none"

    knows = (f"it knows {years(known)}" if tax == reduction else
             f"it knows both for {years(known)} (energy_tax: {years(tax)}; "
             f"tax_reduction_eur_per_year: {years(reduction)})")
    return (f"; {knows}. A tariff file of one's own (ansen compare --tariff FILE.toml, a sweep "
            "scenario's tariff; ansen.tariffs.read_tariff) gets the year in its energy_tax "
            "and tax_reduction_eur_per_year, in Python a Tariff(energy_tax={..., year: EUR/kWh "
            "excl. VAT}, tax_reduction_eur_per_year={..., year: EUR excl. VAT}), with the "
            "figures of the Belastingdienst's tables; the package ships the Dutch figures it "
            "could cite (ansen.tariffs.ENERGY_TAX, TAX_REDUCTION), and its other commands bill "
            "those years only")


#: The terms of a tariff that make its regime, its rules (net metering, feed-in): a tariff
#: file may give a derived village other taxes than the regime its recipe states, not other
#: rules (``ansen compare --tariff``, a sweep's tariff files).
REGIME = ("net_metering", "feed_in_share", "feed_in_vat", "feed_in_fee_eur_per_kwh")


def regime_differences(stated, chosen) -> list[str]:
    """The :data:`REGIME` terms in which the tariff ``chosen`` differs from ``stated``."""
    return [k for k in REGIME if getattr(stated, k) != getattr(chosen, k)]


def regime_settings(stated, terms) -> str:
    """``terms`` as a tariff file would set them to ``stated``'s ("net_metering = false,
    ...")."""
    return ", ".join(f"{k} = {str(getattr(stated, k)).lower()}" for k in terms)


@dataclass(frozen=True)
class Tariff:
    """A dynamic small-consumer contract (EUR; per kWh excl. VAT unless stated).

    Attributes
    ----------
    net_metering : bool
        Energy tax netted over the calendar year (True until the end of 2026).
    supplier_margin_eur_per_kwh : float
        Supplier mark-up on the day-ahead price of imported kWh (assumption: 0.02).
    vat : float
        VAT rate (0.21).
    feed_in_share : float
        Exported kWh earn this share of the day-ahead price (1.0: the price passed
        on, as dynamic contracts do; the law's minimum from 2027 to 2029 is 0.5).
    feed_in_fee_eur_per_kwh : float
        Fee per exported kWh (0: dynamic contracts of 2024-25 charged none per kWh
        in the sources above; fixed-price contracts did, e.g. Eneco EUR 0.115/kWh
        from June 2024, Consumentenbond "Terugleverkosten").
    feed_in_vat : bool
        VAT on the supply part of exported kWh as on imports (True with net
        metering: the bill is netted incl. VAT; False after 2027).
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
    feed_in_vat: bool = True
    standing_eur_per_month: float = 6.0
    network_eur_per_month: float = 426.0 / 12
    energy_tax: dict = field(default_factory=lambda: dict(ENERGY_TAX))
    tax_reduction_eur_per_year: dict = field(default_factory=lambda: dict(TAX_REDUCTION))

    def __post_init__(self):
        for name in ("supplier_margin_eur_per_kwh", "vat", "feed_in_share",
                     "feed_in_fee_eur_per_kwh", "standing_eur_per_month",
                     "network_eur_per_month"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(
                    value):
                raise ValueError(f"Tariff.{name} must be a finite number, got {value!r}")
        if not 0.0 <= self.feed_in_share <= 1.0:
            raise ValueError(f"Tariff.feed_in_share must lie in [0, 1], got {self.feed_in_share}")
        for name in ("supplier_margin_eur_per_kwh", "vat", "feed_in_fee_eur_per_kwh"):
            if getattr(self, name) < 0:
                raise ValueError(f"Tariff.{name} must be >= 0, got {getattr(self, name)}")
        # units: a share, EUR per kWh, EUR per month (21 for a VAT of 21 %, 91.6 for an
        # energy tax in EUR/MWh would bill a hundred times over without a word)
        for name, high, unit in (("vat", 1.0, "a share: 0.21 for 21 %"),
                                 ("supplier_margin_eur_per_kwh", 1.0, "EUR per kWh"),
                                 ("feed_in_fee_eur_per_kwh", 1.0, "EUR per kWh")):
            if getattr(self, name) > high:
                raise ValueError(f"Tariff.{name} = {getattr(self, name)!r} is above {high:g}: "
                                 f"give it as {unit}")
        for name in ("standing_eur_per_month", "network_eur_per_month"):
            if getattr(self, name) < 0:
                raise ValueError(f"Tariff.{name} must be >= 0 (EUR per month), got "
                                 f"{getattr(self, name)}")
        for year, tax in dict(self.energy_tax).items():
            if not 0.0 <= float(tax) <= 1.0:
                raise ValueError(f"Tariff.energy_tax[{year}] = {tax!r}: give it in EUR per kWh "
                                 "excl. VAT, between 0 and 1 (the Dutch 2025 rate: 0.10154)")

    @classmethod
    def after_net_metering(cls, **changes) -> Tariff:
        """The tariff from 2027: no net metering, feed-in at the day-ahead price, no VAT on it."""
        return replace(cls(net_metering=False, feed_in_vat=False), **changes)

    @property
    def label(self) -> str:
        """Short name for tables: ``"net metering"`` or ``"no net metering"``, with the
        feed-in terms where they are not the day-ahead price without VAT (``"no net
        metering, feed-in 50 % of the day-ahead price"``, ``"no net metering, VAT paid on
        feed-in"``)."""
        name = "net metering" if self.net_metering else "no net metering"
        if not self.net_metering and self.feed_in_vat:  # after_net_metering() pays none
            name += ", VAT paid on feed-in"
        if self.feed_in_share != 1.0:
            name += f", feed-in {self.feed_in_share:.0%} of the day-ahead price"
        if self.feed_in_fee_eur_per_kwh:
            name += f", feed-in fee {self.feed_in_fee_eur_per_kwh:g} EUR/kWh"
        return name

    def check_years(self, years) -> None:
        """Refuse (ValueError) years the tariff has no energy tax or tax reduction for."""
        self._tax(np.asarray(list(years)))
        missing = sorted({int(y) for y in years} - set(self.tax_reduction_eur_per_year))
        if missing:
            raise ValueError(f"Tariff has no tax reduction for year(s) {missing}"
                             f"{_years_hint(self)}")

    def _tax(self, years: np.ndarray) -> np.ndarray:
        years = np.asarray(years)
        missing = sorted({int(y) for y in np.unique(years)} - set(self.energy_tax))
        if missing:
            raise ValueError(f"Tariff has no energy tax for year(s) {missing}{_years_hint(self)}")
        return np.vectorize(self.energy_tax.get, otypes=[float])(years)

    def supply_prices(self, price_eur_per_kwh, years) -> tuple[np.ndarray, np.ndarray]:
        """Supply part of an imported and of an exported kWh [EUR/kWh] per step (no energy tax)."""
        p = np.asarray(price_eur_per_kwh, dtype=float)
        self._tax(years)  # refuse years without a tariff here too
        imp = (p + self.supplier_margin_eur_per_kwh) * (1.0 + self.vat)
        exp = (self.feed_in_share * p - self.feed_in_fee_eur_per_kwh) * (
            1.0 + (self.vat if self.feed_in_vat else 0.0))
        return imp, exp

    def tax_price(self, years) -> np.ndarray:
        """Energy tax incl. VAT [EUR/kWh] per step."""
        return self._tax(years) * (1.0 + self.vat)

    def import_price(self, price_eur_per_kwh, years) -> np.ndarray:
        """All-in import price [EUR/kWh incl. VAT] per step."""
        return self.supply_prices(price_eur_per_kwh, years)[0] + self.tax_price(years)

    def export_price(self, price_eur_per_kwh, years, net_importer: bool = True) -> np.ndarray:
        """Value of an exported kWh [EUR/kWh] per step.

        With net metering it depends on the household's annual position: a net
        importer gets the energy tax back on it, a net exporter does not.
        """
        exp = self.supply_prices(price_eur_per_kwh, years)[1]
        if self.net_metering and net_importer:
            exp = exp + self.tax_price(years)
        return exp

    def marginal_prices(self, price_eur_per_kwh, years, net_importer) -> tuple[np.ndarray,
                                                                                np.ndarray]:
        """Import and export price [EUR/kWh] per step and household, shape (T, H).

        Parameters
        ----------
        price_eur_per_kwh, years : (T,) day-ahead price and calendar year per step
        net_importer : (H,) or (T, H) bool
            Whether each household imports more than it exports over the year
            (:func:`last_year_net_kwh` > 0); only used with net metering.
        """
        imp, exp = self.supply_prices(price_eur_per_kwh, years)
        tax = self.tax_price(years)
        w = np.asarray(net_importer, dtype=float)
        w = np.broadcast_to(w, (len(imp), w.shape[-1]))
        if self.net_metering:
            return imp[:, None] + w * tax[:, None], exp[:, None] + w * tax[:, None]
        return np.broadcast_to((imp + tax)[:, None], w.shape).copy(), \
            np.broadcast_to(exp[:, None], w.shape).copy()

    def fixed_eur_per_month(self, year: int) -> float:
        """Standing charge + network tariff - tax reduction, incl. VAT [EUR/month]."""
        if year not in self.tax_reduction_eur_per_year:
            raise ValueError(f"Tariff has no energy-tax reduction for year {year}"
                             f"{_years_hint(self)}")
        reduction = self.tax_reduction_eur_per_year[year] * (1.0 + self.vat) / 12.0
        return self.standing_eur_per_month + self.network_eur_per_month - reduction

    def prices(self, ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        """All-in import and export price [EUR/kWh] per step of a village or run, for a
        net importer (the export price of a net exporter: :meth:`export_price`)."""
        from ansen.data.schema import local_time

        years = local_time(ds).year.to_numpy()
        p = ds["price_eur_per_kwh"].values
        return self.import_price(p, years), self.export_price(p, years)


def import_export(net_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a net exchange [kW] (import positive) into import and export (both >= 0)."""
    net = np.asarray(net_kw, dtype=float)
    return np.maximum(net, 0.0), np.maximum(-net, 0.0)


def _daily_kwh(net_kw: np.ndarray, local: pd.DatetimeIndex, dt_h: float) -> pd.DataFrame:
    """Net energy per local calendar day [kWh], index: naive dates.

    ``attrs["hours"]``: the hours each day holds in the data (steps x step);
    ``attrs["whole"]``: the days held whole (as many hours as the day has, 23 or 25 on a
    change of clock); ``attrs["tz"]``: the time zone of ``local``.
    """
    days = local.tz_localize(None).normalize()
    net = np.asarray(net_kw, dtype=float)
    if not len(days):
        out = pd.DataFrame(np.zeros((0, net.shape[1])))
        out.attrs.update(hours=pd.Series(dtype=float), whole=pd.DatetimeIndex([]), tz=local.tz)
        return out
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    out = pd.DataFrame(np.add.reduceat(net, starts, axis=0) * dt_h, index=days[starts])
    hours = pd.Series(np.diff(np.r_[starts, len(days)]) * dt_h, index=days[starts])
    whole = hours.index[hours.to_numpy() >= _day_hours(hours.index, local.tz).to_numpy() - 1e-9]
    out.attrs.update(hours=hours, whole=whole, tz=local.tz)
    return out


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _day_hours(days: pd.DatetimeIndex, tz) -> pd.Series:
    """Length of each local calendar day [h] (23 or 25 on a change of clock; 24 without tz)."""
    if tz is None or not len(days):
        return pd.Series(24.0, index=days)
    start = days.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    end = (days + pd.Timedelta(days=1)).tz_localize(tz, ambiguous=True,
                                                    nonexistent="shift_forward")
    return pd.Series((end - start) / pd.Timedelta(hours=1), index=days)


def _window_kwh(daily: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> tuple[
        np.ndarray, str]:
    """Net energy over the days [start, end) [kWh] per column, and how it was estimated.

    Days of the window in ``daily`` count as they are, a day the data hold in part
    (the first or last of an export cut at another hour) with the hours it holds. A day
    outside the data takes the mean of the same calendar day (29 February: 28 February)
    over the years the data hold it whole, which may lie after the window (the note says
    for how many calendar days: a stand-in for an annual statement the data do not reach
    back to, not knowledge a household had then). If some hours of the window are still
    unknown (part-days, calendar days in no year of the data), the sum over the known
    hours is scaled to the window's hours; with no hour of the window known (data of a
    few hours outside it), the data's mean power over all their hours is.
    """
    days = pd.date_range(start, end, freq="D", inclusive="left")
    hours, whole = daily.attrs["hours"], daily.attrs["whole"]  # of _daily_kwh
    length = _day_hours(days, daily.attrs["tz"])
    have = daily.index.intersection(days)
    total = daily.loc[have].to_numpy().sum(axis=0)
    part = have.difference(whole)
    missing = days.difference(have)
    if not len(missing) and not len(part):
        return total, "data"

    def calendar(index):
        return index.strftime("%m-%d").str.replace("02-29", "02-28").to_numpy()

    by_day = daily.loc[whole].groupby(calendar(whole)).mean()
    want = pd.Index(calendar(missing))
    found = want.isin(by_day.index)
    total = total + by_day.loc[want[found]].to_numpy().sum(axis=0)
    unknown = int((~found).sum())
    note = f"{_days(len(have))} in the data"
    if len(part):
        note += (f" ({len(part)} of them in part: {hours.loc[part].sum():g} of "
                 f"{length.loc[part].sum():g} h)")
    note += (f", {_days(len(missing) - unknown)} from the same calendar days elsewhere in "
             "the data")
    stand_ins = whole[np.isin(calendar(whole), want[found])]
    after = pd.Series(stand_ins >= end).groupby(calendar(stand_ins))
    later, mixed = after.all(), after.any() & ~after.all()  # per calendar day
    n_later = int(np.isin(want[found], later.index[later]).sum())
    n_mixed = int(np.isin(want[found], mixed.index[mixed]).sum())
    if n_later or n_mixed:  # a stand-in for a statement, taken from days after the window
        parts = ([f"{n_later} of them from days after the window"] if n_later else []) + (
            [f"{n_mixed} in part" if n_later else
             f"{n_mixed} of them in part from days after the window"] if n_mixed else [])
        note += f" ({', '.join(parts)})"
    if unknown or len(part):
        known_h = float(hours.loc[have].sum() + length.loc[missing[found]].sum())
        window_h = float(length.sum())
        if unknown:
            note += f", {unknown} in no year of the data"
        if known_h > 0:
            total = total * window_h / known_h
            note += (f": the sum over the {known_h:g} known hours scaled up to the window's "
                     f"{window_h:g} ({_days(len(days))})")
        else:  # no hour of the window known and no whole day to stand in: the data's mean
            data_h = float(hours.sum())
            if data_h <= 0:
                raise ValueError(f"no data to estimate the net consumption of "
                                 f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")
            total = daily.to_numpy().sum(axis=0) * window_h / data_h
            note += (f": no known hour in the window, so the data's mean power over its "
                     f"{data_h:g} h times the window's {window_h:g} ({_days(len(days))})")
    return total, note


def annual_net_kwh(net_kw: np.ndarray, local: pd.DatetimeIndex, dt_h: float, households,
                   years=None) -> pd.DataFrame:
    """Net consumption :math:`N_{h,y}` per calendar year and household [kWh].

    Parameters
    ----------
    net_kw : (T, H) net exchange [kW], import positive
    local : (T,) tz-aware local time of each step
    dt_h : step length [h]
    households : (H,) household ids (columns)
    years : iterable of int, optional
        Years to estimate (default: every year of ``local``).

    Returns
    -------
    pandas.DataFrame
        Index year, columns households; ``attrs["estimated"]`` says per year how
        the days outside the data were filled (:func:`_window_kwh`).
    """
    daily = _daily_kwh(net_kw, local, dt_h)
    years = sorted({int(y) for y in (years if years is not None else local.year)})
    rows, notes = [], {}
    for y in years:
        total, notes[y] = _window_kwh(daily, pd.Timestamp(y, 1, 1), pd.Timestamp(y + 1, 1, 1))
        rows.append(total)
    out = pd.DataFrame(rows, index=pd.Index(years, name="year"), columns=list(households))
    out.attrs["estimated"] = notes
    return out


def last_year_net_kwh(net_kw: np.ndarray, local: pd.DatetimeIndex, dt_h: float,
                      before) -> tuple[np.ndarray, str]:
    """Each household's net consumption in the 365 days before ``before`` [kWh].

    What a household knows from its last annual statement: positive for a
    net importer. The controller plans with it (:meth:`Tariff.marginal_prices`).
    Days of that window outside the data are filled as in
    :func:`annual_net_kwh` (for the shipped village, a run in the autumn of
    2024 borrows the spring of 2025: a stand-in for a statement the data do
    not reach back to).

    Returns
    -------
    (H,) net consumption [kWh], and a note on how the window was filled.
    """
    daily = _daily_kwh(net_kw, local, dt_h)
    before = pd.Timestamp(before)
    if before.tzinfo is not None:
        before = before.tz_localize(None)
    end = before.normalize()
    return _window_kwh(daily, end - pd.Timedelta(days=365), end)


def check_default_tariff(ds: xr.Dataset, which: str) -> None:
    """Refuse to bill a run under the default tariff when it was simulated under another
    (its ``attrs["params"]`` name the tariff it ran under; a village or a run without them
    passes)."""
    import json

    try:
        used = json.loads(ds.attrs.get("params", "{}")).get("tariff")
    except (TypeError, ValueError, AttributeError):
        return
    if not isinstance(used, dict):
        return
    default = json.loads(json.dumps(dict(Tariff().__dict__), default=str, sort_keys=True))
    if used != default:
        differ = ", ".join(f"{k}={used.get(k)!r}" for k in sorted(default)
                           if used.get(k) != default[k] and not isinstance(default[k], dict))
        raise ValueError(
            f"the {which} ({ds.attrs.get('model', '?')}) was simulated under another "
            f"tariff than the default ({differ or 'other energy tax'}); pass tariff= the "
            "Tariff it ran under, so that the bills use the prices the batteries were steered by")


def household_costs(run: xr.Dataset, tariff: Tariff | None = None, *, fixed: bool = True,
                    annual_net: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cost per household and month [EUR] of a run (or a village: net = load - PV).

    .. math::

        C_{h,m} = \\sum_{t \\in m} (c^{imp}_{h,t}\\, n^+_{h,t} - c^{exp}_{h,t}\\, n^-_{h,t})
                  \\,\\Delta t + F_m

    with the per-household prices of the module docstring: with net metering
    the energy tax follows the household's annual position, so the sum over a
    year is the legal bill (supply part per step, energy tax on the annual
    net consumption only).

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`ansen.simulate` (uses ``net_kw``) or a village
        (uses ``load_kw - pv_kw``).
    tariff : Tariff, optional
        Default :class:`Tariff` () (dynamic, net metering); refused for a run
        simulated under another tariff (:func:`check_default_tariff`).
    fixed : bool
        Add the monthly fixed costs :math:`F_m` (months with only part of
        their days in the run get the part of the fixed costs).
    annual_net : pandas.DataFrame, optional
        Annual net consumption per year and household [kWh]
        (:func:`annual_net_kwh`). Default: the run's ``annual_net_kwh``
        (written by :func:`ansen.simulate`: the run, and the village's data
        for the rest of the year), else estimated from the Dataset itself.

    Returns
    -------
    pandas.DataFrame
        Index: month (local, as ``YYYY-MM``); columns: households.
    """
    from ansen.data.schema import local_time, step_hours

    if tariff is None:
        check_default_tariff(run, "run")
    tariff = tariff or Tariff()
    net = run["net_kw"].values if "net_kw" in run else (run["load_kw"] - run["pv_kw"]).values
    households = run["household"].values
    h = step_hours(run)
    local = local_time(run)
    years = local.year.to_numpy()
    imp, exp = import_export(net)
    if tariff.net_metering:
        if annual_net is None and "annual_net_kwh" in run:
            annual_net = run["annual_net_kwh"].to_pandas()
        if annual_net is None:
            annual_net = annual_net_kwh(net, local, h, households)
        missing = sorted(set(np.unique(years).tolist()) - set(annual_net.index.tolist()))
        if missing:
            raise ValueError(f"annual_net has no row for year(s) {missing}")
        w = (annual_net.loc[years, list(households)].to_numpy() > 0.0)
    else:
        w = np.ones(len(households), dtype=bool)
    cimp, cexp = tariff.marginal_prices(run["price_eur_per_kwh"].values, years, w)
    energy = (imp * cimp - exp * cexp) * h
    month = local.strftime("%Y-%m")
    out = pd.DataFrame(energy, index=month, columns=households).groupby(level=0).sum()
    if fixed:
        steps = pd.Series(1.0, index=month).groupby(level=0).sum()
        per_month = pd.Series(local.days_in_month.to_numpy() * 24.0 / h, index=month)
        share = steps / per_month.groupby(level=0).first()
        first_year = pd.Series(years, index=month).groupby(level=0).first()
        fixed_costs = [tariff.fixed_eur_per_month(int(first_year[m])) * share[m]
                       for m in out.index]
        out = out.add(np.asarray(fixed_costs)[:, None])
    out.index.name = "month"
    return out


def read_tariff(path) -> Tariff:
    """A :class:`Tariff` from a TOML file: a ``[tariff]`` table of its fields.

    ``base = "net_metering"`` (default) or ``"2027"`` (:meth:`Tariff.after_net_metering`)
    is the tariff the other keys change; ``energy_tax`` and
    ``tax_reduction_eur_per_year`` are tables of year = value, which replace the
    base's whole table (a year not given is not billed). For example::

        [tariff]
        base = "2027"
        feed_in_share = 0.5
        energy_tax = { 2027 = 0.0916 }
        tax_reduction_eur_per_year = { 2027 = 524.95 }

    Raises
    ------
    ValueError
        Naming the file and the key: an unknown key, a year that is not one, a value
        the Tariff refuses.
    """
    from dataclasses import fields

    from ansen.io import read_toml

    doc = read_toml(path, "tariff")
    if set(doc) != {"tariff"} or not isinstance(doc["tariff"], dict):
        raise ValueError(f"{path}: a tariff file holds one [tariff] table, found "
                         f"{sorted(doc) or 'nothing'}")
    table = dict(doc["tariff"])
    base = str(table.pop("base", "net_metering"))  # 2027 unquoted reads as a number
    if base not in ("net_metering", "2027"):
        raise ValueError(f"{path}: base must be 'net_metering' or '2027', got {base!r}")
    names = [f.name for f in fields(Tariff)]
    if unknown := sorted(set(table) - set(names)):
        raise ValueError(f"{path}: unknown key(s) {unknown}; a [tariff] table holds base and "
                         f"{', '.join(names)}")
    for name in ("energy_tax", "tax_reduction_eur_per_year"):
        if name not in table:
            continue
        by_year = table[name]
        if not isinstance(by_year, dict) or not by_year:
            raise ValueError(f"{path}: {name} must be a table of year = value, e.g. "
                             f"{name} = {{ 2027 = 0.0916 }}")
        out = {}
        for year, value in by_year.items():
            a_year = str(year).isdigit() and len(str(year)) == 4
            a_value = isinstance(value, (int, float)) and not isinstance(value, bool) \
                and np.isfinite(value) and value >= 0
            if not (a_year and a_value):
                raise ValueError(f"{path}: {name}: {year} = {value!r}; give each year (four "
                                 "digits) a finite value >= 0 (EUR excl. VAT)")
            out[int(year)] = float(value)
        table[name] = out
    for name in ("net_metering", "feed_in_vat"):
        if name in table and not isinstance(table[name], bool):
            raise ValueError(f"{path}: {name} must be true or false, got {table[name]!r}")
    try:
        return replace(Tariff() if base == "net_metering" else Tariff.after_net_metering(),
                       **table)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


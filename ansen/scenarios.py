"""Scenarios: villages derived from a village, each with its recipe.

A :class:`Scenario` says how a village changes: **growth** of PV, heat pumps and
EVs (:class:`Growth`), **battery sites** (:class:`BatterySites`: how many, at
which households, how large), **neighbourhood batteries** at a transformer
(:class:`NeighbourhoodBattery`, the "buurtbatterij" of CE Delft's annex to the Amsterdam storage policy vision (2024)) and the **tariff**
that applies (net metering until 2026, or the rules from 2027).
:func:`derive` (or :meth:`Scenario.apply`) returns a new village Dataset:

- validated with :func:`ansen.data.validate` (the base village too);
- with ``attrs["recipe"]``: JSON of the scenario, what it did to which
  households (``applied``), and the base village's name, source and its own
  recipe, so a village derived from a derived village shows the whole chain
  (:func:`recipe_chain`);
- deterministic: the same base village and scenario give the same village.

The parts are applied in this order, each on the result of the one before:
growth (so that the battery rules see the grown PV), battery sites,
neighbourhood batteries (which may take the total of the battery sites just
placed). The tariff changes no data; :meth:`Scenario.tariff` gives the
:class:`ansen.tariffs.Tariff`, and :func:`tariff_of` finds it in a derived
village's recipe: :func:`ansen.simulate` uses that one when it is given no
tariff, and :func:`ansen.metrics.compare` must be given it.

Homes. Battery sites and growth distinguish *homes* from other connections
(the village hall ``DORPSHUIS`` of the shipped village): as in
:func:`ansen.data.summary.summary`, homes are the households whose id is
``H`` followed by digits (``H001``, :func:`ansen.data.schema.is_home_id`), or
every household when no id is; neighbourhood-battery
connections (ids starting with :data:`NEIGHBOURHOOD_PREFIX`) are never homes
and no other part touches them.

Named scenarios live in ``data/scenarios.toml`` (:func:`load_scenarios`,
:func:`get_scenario`); docs/scenarios.md describes the file and each part.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import (
    BATTERY_EFF_MIN,
    annual_kwh,
    holds_a_year,
    local_time,
    step_hours,
)

__all__ = [
    "DEFAULT_SCENARIOS",
    "NEIGHBOURHOOD_PREFIX",
    "BatterySites",
    "Growth",
    "NeighbourhoodBattery",
    "Scenario",
    "derive",
    "get_scenario",
    "home_ids",
    "load_scenarios",
    "recipe",
    "recipe_chain",
    "stated_tariff",
    "tariff_of",
]

#: The named scenarios shipped with the package.
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios.toml"

#: Household ids of neighbourhood-battery connections start with this.
NEIGHBOURHOOD_PREFIX = "BUURTBATTERIJ"

#: Rules that choose battery sites (:class:`BatterySites`).
RULES = ("largest_pv", "random", "net_exporters", "explicit")
#: Which connections a battery-site rule may choose.
ELIGIBLE = ("homes", "all")
#: What happens to the batteries already at eligible connections.
EXISTING = ("keep", "replace")
#: Sizing of a neighbourhood battery after battery sites of the village.
SAME_AS = ("none", "all_sites", "transformer_sites")
#: Tariff regimes (:meth:`Scenario.tariff`).
TARIFF_REGIMES = ("net_metering", "2027")
#: Feed-in compensation without net metering: the day-ahead price passed on
#: (share 1, the package's dynamic contract) or the legal minimum (share 0.5).
FEED_IN_SHARES = {"day_ahead": 1.0, "legal_minimum": 0.5}
#: ``NeighbourhoodBattery.transformer`` for one battery on every transformer with battery sites.
EACH = "each"
#: Where added heat-pump and EV profiles come from (:class:`Growth`).
PROFILES = ("auto", "village", "synthetic")



# --------------------------------------------------------------------------- checks


def _number(owner: str, name: str, value, *, lo: float | None = None,
            hi: float | None = None, lo_open: bool = False, optional: bool = False):
    """``value`` as float, or ValueError naming ``owner.name``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value):
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r}")
    value = float(value)
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ValueError(f"{owner}.{name} must be {'>' if lo_open else '>='} {lo:g}, got "
                         f"{value:g}")
    if hi is not None and value > hi:
        raise ValueError(f"{owner}.{name} must be <= {hi:g}, got {value:g}")
    return value


def _integer(owner: str, name: str, value, *, lo: int = 0, optional: bool = False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be a whole number, got {value!r}")
    if value < lo:
        raise ValueError(f"{owner}.{name} must be >= {lo}, got {value}")
    return value


def _choice(owner: str, name: str, value, options, *, optional: bool = False):
    if value is None and optional:
        return None
    if value not in options:
        raise ValueError(f"{owner}.{name}: unknown value {value!r}; known: "
                         f"{', '.join(map(repr, options))}")
    return value


def _ids(owner: str, name: str, value) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{owner}.{name} must be a list of ids, got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v:
            raise ValueError(f"{owner}.{name}: ids must be non-empty strings, got {v!r}")
    if len(set(value)) != len(value):
        dup = sorted({v for v in value if value.count(v) > 1})
        raise ValueError(f"{owner}.{name}: duplicate id(s) {dup}")
    return tuple(value)


def _from_dict(cls, data, where: str):
    """An instance of the dataclass ``cls`` from a mapping; unknown keys refused by name."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a table of {cls.__name__} fields, got "
                         f"{type(data).__name__}")
    known = [f.name for f in fields(cls)]
    if unknown := sorted(set(data) - set(known)):
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}")
    required = [f.name for f in fields(cls) if f.default is MISSING
                and f.default_factory is MISSING]
    if missing := [k for k in required if k not in data]:
        raise ValueError(f"{where}: missing key(s) {missing}")
    return cls(**data)


# --------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class BatterySites:
    """Which connections have a battery, and how large it is.

    Attributes
    ----------
    count : int or None
        Number of battery sites among the eligible connections after this part
        (0 up to their number). ``count`` or ``share`` is required except with
        ``rule="explicit"``, where it defaults to the number of sites the list gives.
    share : float or None
        Instead of ``count``: the share of the eligible connections with a
        battery after this part, in [0, 1] (rounded to the nearest whole
        number of sites, halves up; the recipe records the number in
        ``applied["batteries"]["count"]``). For levels that fit any village: ``share=0.5``
        is 70 sites in the shipped village's 140 connections and 15 in a
        village of 30. Refused with ``rule="explicit"``.
    rule : {"largest_pv", "random", "net_exporters", "explicit"}
        How new sites are chosen among the eligible connections without a
        kept battery:

        - ``"largest_pv"``: most installed PV first (``pv_kwp`` [kWp]; ties by
          PV energy over the data, then by the village's order); needs the
          village's ``pv_kwp``;
        - ``"random"``: a random order from ``seed`` (the same seed gives
          nested sets: the first 20 contain the first 10);
        - ``"net_exporters"``: smallest net consumption over the data first
          (:math:`\\sum_t (L - PV)\\Delta t`, the largest net exporters first,
          then the smallest net importers);
        - ``"explicit"``: the households of ``households``.

        Every rule is deterministic; with a fixed order larger counts give
        supersets (nested penetration levels).
    households : tuple of str
        The ids for ``rule="explicit"`` (refused with any other rule).
    eligible : {"homes", "all"}
        ``"homes"``: homes only (module docstring); ``"all"``: every
        connection but neighbourhood batteries (the village hall too).
        Batteries at other connections are left as they are.
    transformers : tuple of str
        If given, only connections on these transformers are eligible.
    existing : {"keep", "replace"}
        ``"keep"``: batteries already at eligible connections stay, with their
        own capacity, power and efficiency, and count towards ``count`` (which
        may then not be smaller than their number); ``"replace"``: they are
        removed and the rule chooses among all eligible connections.
    seed : int
        Seed of ``rule="random"``.
    capacity_kwh : float
        Usable capacity of each new battery [kWh], > 0. Default 10 kWh: the
        pilot's home batteries (NO-GIZMOS, "Thuisbatterijen als publiek goed", 2026).
    power_kw : float
        Charge and discharge power limit of each new battery [kW], > 0.
        Default 5 kW (assumption, as :class:`ansen.data.synthetic.VillageSpec`:
        the inverter of a 10 kWh home battery).
    efficiency : float
        One-way efficiency of each new battery [-], in [0.5, 1]
        (:data:`ansen.data.schema.BATTERY_EFF_MIN`). Default 0.95
        (assumption, as ``VillageSpec``: about 90 % round trip).
    """

    count: int | None = None
    share: float | None = None
    rule: str = "largest_pv"
    households: tuple[str, ...] = ()
    eligible: str = "homes"
    transformers: tuple[str, ...] = ()
    existing: str = "replace"
    seed: int = 0
    capacity_kwh: float = 10.0
    power_kw: float = 5.0
    efficiency: float = 0.95

    def __post_init__(self):
        o = "BatterySites"
        _choice(o, "rule", self.rule, RULES)
        _integer(o, "count", self.count, optional=True)
        object.__setattr__(self, "share", _number(o, "share", self.share, lo=0.0, hi=1.0,
                                                  optional=True))
        if self.share is not None and (self.count is not None or self.rule == "explicit"):
            raise ValueError(f"{o}.share: give count or share, not both, and no share with "
                             "rule 'explicit' (its list gives the sites)")
        if self.count is None and self.share is None and self.rule != "explicit":
            raise ValueError(f"{o}.count: rule {self.rule!r} needs count (a number of sites) "
                             "or share (a share of the eligible connections)")
        object.__setattr__(self, "households", _ids(o, "households", self.households))
        object.__setattr__(self, "transformers", _ids(o, "transformers", self.transformers))
        if self.rule == "explicit" and not self.households:
            raise ValueError(f"{o}.households: rule 'explicit' needs a list of household ids")
        if self.rule != "explicit" and self.households:
            raise ValueError(f"{o}.households: a list of ids is only used with rule "
                             f"'explicit', not {self.rule!r}")
        _choice(o, "eligible", self.eligible, ELIGIBLE)
        _choice(o, "existing", self.existing, EXISTING)
        _integer(o, "seed", self.seed)
        from ansen.data.schema import VARIABLES

        for name, variable in (("capacity_kwh", "battery_kwh"), ("power_kw", "battery_kw")):
            # at most what the data schema finds plausible for one connection
            object.__setattr__(self, name, _number(o, name, getattr(self, name), lo=0.0,
                                                   lo_open=True,
                                                   hi=VARIABLES[variable].plausible_max))
        object.__setattr__(self, "efficiency", _number(o, "efficiency", self.efficiency,
                                                       lo=BATTERY_EFF_MIN, hi=1.0))


@dataclass(frozen=True)
class NeighbourhoodBattery:
    """A battery at a transformer: the "buurtbatterij" of CE Delft's annex to the Amsterdam storage policy vision (2024).

    It is a new connection (household id ``BUURTBATTERIJ_<transformer>``) on
    ``transformer`` with zero load, zero PV and the battery, so that every
    model, the simulator, the metrics and the tariffs treat it as a battery
    site like any other: its power :math:`P_t` enters exactly its transformer,
    :math:`L^{tr}_{k,t} = \\sum_{h \\in k} (L - PV + P)_{h,t} + R_{k,t}`, and the
    MV feeder, :math:`L^{mv}_t = L^{mv,base}_t + \\sum_h P_{h,t}`, and nowhere
    else. A rule model acting on its own exchange (M1) leaves it idle (it has
    no surplus or deficit of its own); the LP models use it.

    Its meter: the connection has its own meter and is billed like a
    household connection under the scenario's tariff
    (:func:`ansen.tariffs.household_costs`): with net metering (until 2026)
    the energy tax falls on its net consumption over the year, i.e. its
    losses, and the supply part per step; from 2027 every imported kWh pays
    the energy tax and every exported kWh earns the feed-in compensation.
    This is an assumption of the package: a real buurtbatterij of more than
    3x80 A (about 55 kW) would have a large-consumer connection with another
    network tariff, and who owns it, who pays its bill and who gets its
    revenue is a settlement question (:mod:`ansen.settlement`; CE Delft, annex to "Beleidsvisie opslag en energyhubs Amsterdam" (2024):
    "Een collectieve batterij vereist een groepscontract", a collective
    battery needs a group contract).

    Attributes
    ----------
    transformer : str
        Transformer id where the battery is connected; ``"each"`` (with
        ``same_as="transformer_sites"``): one such battery on every
        transformer of the village that has battery sites, in the village's
        order (so a scenario fits villages with any transformers).
    same_as : {"none", "all_sites", "transformer_sites"}
        ``"none"``: size from ``capacity_kwh`` and ``power_kw``.
        ``"all_sites"``: the same total capacity [kWh] and power [kW] as all
        battery sites of the village at this point (every connection with a
        battery that is not a neighbourhood battery); ``"transformer_sites"``:
        as the sites on ``transformer``.
    keep_sites : bool
        With ``same_as``: keep the matched batteries (default False: they are
        removed, so the same storage moves from the homes to the
        transformer).
    capacity_kwh, power_kw : float, optional
        Total usable capacity [kWh] and power limit [kW], > 0; only (and then
        both) with ``same_as="none"``.
    efficiency : float, optional
        One-way efficiency [-], in [0.5, 1]. Default: with ``same_as`` the
        capacity-weighted mean of the matched batteries; without, required.
    units : int, optional
        Number of identical connections the battery is split into (ids
        ``BUURTBATTERIJ_T1_1`` ...), each with ``1/units`` of the capacity and
        power. Default: the fewest that keep each within the schema's limits
        for one connection (100 kW, :data:`ansen.data.schema.HOUSEHOLD_MAX_KW`,
        and 1,000 kWh). Identical batteries on one transformer can do together
        exactly what one battery of their total size can (the LP's feasible
        set scales), so the split changes no result.
    id : str, optional
        Household id (with ``units`` > 1 the prefix of ``id_1``...; with
        ``transformer="each"`` of ``id_<transformer>``); default
        ``BUURTBATTERIJ_<transformer>``; must start with
        :data:`NEIGHBOURHOOD_PREFIX`.
    """

    transformer: str
    same_as: str = "none"
    keep_sites: bool = False
    capacity_kwh: float | None = None
    power_kw: float | None = None
    efficiency: float | None = None
    units: int | None = None
    id: str | None = None

    def __post_init__(self):
        o = "NeighbourhoodBattery"
        if not isinstance(self.transformer, str) or not self.transformer:
            raise ValueError(f"{o}.transformer must be a transformer id, got "
                             f"{self.transformer!r}")
        _choice(o, "same_as", self.same_as, SAME_AS)
        if self.transformer == EACH and self.same_as != "transformer_sites":
            raise ValueError(f"{o}.transformer: {EACH!r} (a battery on every transformer with "
                             "battery sites) needs same_as='transformer_sites'")
        if not isinstance(self.keep_sites, bool):
            raise ValueError(f"{o}.keep_sites must be true or false, got {self.keep_sites!r}")
        sized = self.same_as == "none"
        for name in ("capacity_kwh", "power_kw"):
            value = getattr(self, name)
            if sized:
                if value is None:
                    raise ValueError(f"{o}.{name} is needed with same_as='none'")
                object.__setattr__(self, name, _number(o, name, value, lo=0.0, lo_open=True))
            elif value is not None:
                raise ValueError(f"{o}.{name}: give either same_as={self.same_as!r} or a size, "
                                 "not both")
        if sized and self.keep_sites:
            raise ValueError(f"{o}.keep_sites: only used with same_as='all_sites' or "
                             "'transformer_sites'")
        if sized and self.efficiency is None:
            raise ValueError(f"{o}.efficiency is needed with same_as='none'")
        object.__setattr__(self, "efficiency", _number(o, "efficiency", self.efficiency,
                                                       lo=BATTERY_EFF_MIN, hi=1.0,
                                                       optional=True))
        _integer(o, "units", self.units, lo=1, optional=True)
        if self.id is not None and (not isinstance(self.id, str)
                                    or not self.id.startswith(NEIGHBOURHOOD_PREFIX)):
            raise ValueError(f"{o}.id must start with {NEIGHBOURHOOD_PREFIX!r}, got {self.id!r}")


@dataclass(frozen=True)
class Growth:
    """More PV, heat pumps and EVs in the village's homes.

    Shares are of all homes (module docstring): a share *s* adds
    :math:`n = \\lfloor s N_{homes} + 1/2 \\rfloor` installations, at homes
    without one, chosen at random from ``seed`` (one random stream per part,
    so changing one part leaves the others' choices as they were).

    The households' parts and the grid stay consistent: an added heat pump or
    EV adds its power to ``load_kw`` and to ``heat_pump_kw`` / ``ev_kw``
    (created if the village has none; ``load_kw`` contains them, see
    :data:`ansen.data.VARIABLES`); PV changes ``pv_kw`` and ``pv_kwp``.
    ``transformer_rest_kw`` (the connections that are not households of the
    Dataset) is unchanged. The MV feeder changes by the households' net
    change, :math:`\\Delta L^{mv}_t = \\sum_h \\Delta(L - PV)_{h,t}`: this
    assumes ``mv_kw`` contains the village's households, as it does in the
    shipped synthetic village (MV = the village's net load + the rest of the
    feeder) and in a village read from measurements (the MV measurement
    includes them), and that the growth is in this village only, not in the
    rest of the feeder.

    Attributes
    ----------
    pv_scale : float
        Factor [-] >= 0 on the PV (``pv_kw`` and ``pv_kwp``) of homes that have
        PV, applied first (e.g. 1.5: panels added on the same roofs).
    pv_share_added : float
        Share [0, 1] of homes that get PV, among homes without. Each copies
        the per-kWp profile of a random home with PV (its orientation and the
        village's own weather), scaled to ``new_pv_kwp``. Needs ``pv_kwp``.
    new_pv_kwp : float, optional
        Size of each new installation [kWp] > 0; default: the mean of the
        homes' installations (after ``pv_scale``).
    heat_pump_share_added : float
        Share [0, 1] of homes that get a heat pump, among homes without one
        (a home has one when its ``heat_pump_kw`` is not all zero).
    heat_pump_kwh_per_year : float, optional
        Annual electricity use of an added heat pump [kWh/yr]. Copied
        profiles are scaled to it (default: as the donor's); synthetic ones
        are drawn around it (default 3,500 kWh/yr, the synthetic village's
        assumption for an existing rural home,
        :class:`ansen.data.synthetic.VillageSpec`; for all-electric new build
        the energy vision for Reeve, Kampen (2017) gives 1,500 kWh/yr building services of 4,200 kWh/yr in all).
    ev_share_added : float
        Share [0, 1] of homes that get an EV charger, among homes without one.
    ev_kwh_per_year : float, optional
        Annual charging energy of an added EV [kWh/yr], synthetic profiles
        only: sets the sessions per day at 12 kWh per session (default: the
        synthetic village's 0.45 sessions per day, about 1,900 kWh/yr).
    profiles : {"auto", "village", "synthetic"}
        Where added heat-pump and EV profiles come from. ``"village"``: a
        copy of a random home of the village that has one (heat pumps as they
        are, since they follow the village's weather; EV sessions shifted by a
        random whole number of weeks, so that copies of one donor do not
        charge at the same moments). ``"synthetic"``:
        :func:`ansen.data.synthetic.heat_pump_load` (driven by outdoor
        temperature: the village's ``temp_air_degc`` if it has one, else the
        DWD test reference year the synthetic village is built from, on the
        same calendar hour; needs the ``synth`` extra) and
        :func:`ansen.data.synthetic.ev_load`; 15-minute villages only.
        ``"auto"``: ``"village"`` when the village has such a profile, else
        ``"synthetic"``. The recipe records which was used.
    seed : int
        Seed of the random choices.
    """

    pv_scale: float = 1.0
    pv_share_added: float = 0.0
    new_pv_kwp: float | None = None
    heat_pump_share_added: float = 0.0
    heat_pump_kwh_per_year: float | None = None
    ev_share_added: float = 0.0
    ev_kwh_per_year: float | None = None
    profiles: str = "auto"
    seed: int = 0

    def __post_init__(self):
        o = "Growth"
        object.__setattr__(self, "pv_scale", _number(o, "pv_scale", self.pv_scale, lo=0.0))
        for name in ("pv_share_added", "heat_pump_share_added", "ev_share_added"):
            object.__setattr__(self, name, _number(o, name, getattr(self, name), lo=0.0,
                                                   hi=1.0))
        for name in ("new_pv_kwp", "heat_pump_kwh_per_year", "ev_kwh_per_year"):
            object.__setattr__(self, name, _number(o, name, getattr(self, name), lo=0.0,
                                                   lo_open=True, optional=True))
        _choice(o, "profiles", self.profiles, PROFILES)
        _integer(o, "seed", self.seed)


@dataclass(frozen=True)
class Scenario:
    """A recipe to derive a village from another (module docstring).

    Attributes
    ----------
    name : str
        Letters, digits and ``_ . + -`` (it may name a folder or a row).
    description : str
        What the scenario is for, in words.
    growth : Growth, optional
    batteries : BatterySites, optional
    neighbourhood : tuple of NeighbourhoodBattery
        Applied in order.
    tariff_regime : {"net_metering", "2027"}, optional
        ``"net_metering"``: the law until 31 December 2026 (energy tax netted
        over the year); ``"2027"``: no net metering (Kamerstuk 36611). None:
        not stated, the base village's recipe decides (:func:`tariff_of`),
        else net metering (the package default).
    feed_in : {"day_ahead", "legal_minimum"}, optional
        Feed-in compensation with ``tariff_regime="2027"``: the day-ahead
        price passed on (default; what the package's dynamic contract does)
        or the legal minimum of 50 % of the bare supply price until 2030
        (Kamerstuk 36611 nr. 17), as :mod:`ansen.tariffs` has it:
        :meth:`~ansen.tariffs.Tariff.after_net_metering` with
        ``feed_in_share=0.5`` of the day-ahead price. If the bare supply price
        of a dynamic contract is taken to include the supplier's margin, the
        legal minimum is higher by half the margin (0.01 EUR/kWh at the
        default 0.02); the package does not model that.
    """

    name: str
    description: str = ""
    growth: Growth | None = None
    batteries: BatterySites | None = None
    neighbourhood: tuple[NeighbourhoodBattery, ...] = ()
    tariff_regime: str | None = None
    feed_in: str | None = None

    def __post_init__(self):
        from ansen.provenance import SAFE_ID

        o = "Scenario"
        if not isinstance(self.name, str) or not SAFE_ID.fullmatch(self.name):
            raise ValueError(f"{o}.name: {self.name!r} is not a safe name (letters, digits and "
                             "_ . + -, starting with a letter or digit, at most 100 characters)")
        if not isinstance(self.description, str):
            raise ValueError(f"{o}.description must be text, got {self.description!r}")
        where = f"scenario {self.name}"
        if self.growth is not None:
            object.__setattr__(self, "growth", _from_dict(Growth, self.growth,
                                                          f"{where}: growth"))
        if self.batteries is not None:
            object.__setattr__(self, "batteries", _from_dict(BatterySites, self.batteries,
                                                             f"{where}: batteries"))
        nb = self.neighbourhood
        if isinstance(nb, (NeighbourhoodBattery, dict)):
            nb = (nb,)
        if not isinstance(nb, (list, tuple)):
            raise ValueError(f"{o}.neighbourhood must be a list of neighbourhood batteries, got "
                             f"{nb!r}")
        object.__setattr__(self, "neighbourhood", tuple(
            _from_dict(NeighbourhoodBattery, x, f"{where}: neighbourhood #{i + 1}")
            for i, x in enumerate(nb)))
        _choice(o, "tariff_regime", self.tariff_regime, TARIFF_REGIMES, optional=True)
        _choice(o, "feed_in", self.feed_in, tuple(FEED_IN_SHARES), optional=True)
        if self.feed_in is not None and self.tariff_regime != "2027":
            raise ValueError(f"{o}.feed_in: the feed-in compensation is set by the 2027 rules; "
                             f"give tariff_regime='2027' (got {self.tariff_regime!r})")

    @classmethod
    def from_dict(cls, data: dict, where: str = "scenario") -> Scenario:
        """A scenario from a mapping (a TOML table, or :meth:`to_dict`); unknown keys refused."""
        return _from_dict(cls, data, where)

    def to_dict(self) -> dict:
        """Plain data (JSON, TOML): the inverse of :meth:`from_dict`."""
        return json.loads(json.dumps(asdict(self)))

    def tariff(self):
        """The :class:`ansen.tariffs.Tariff` of this scenario.

        ``"net_metering"`` or not stated: ``Tariff()`` (net metering, feed-in
        at the day-ahead price). ``"2027"``: ``Tariff.after_net_metering()``,
        with ``feed_in_share`` 1 (``feed_in="day_ahead"``) or 0.5
        (``"legal_minimum"``). The energy tax of the data's years applies
        (the 2027 rules on 2024-25 data: a counterfactual of those years).
        """
        from ansen.tariffs import Tariff

        if self.tariff_regime == "2027":
            return Tariff.after_net_metering(
                feed_in_share=FEED_IN_SHARES[self.feed_in or "day_ahead"])
        return Tariff()

    def apply(self, village: xr.Dataset) -> xr.Dataset:
        """``derive(village, self)``."""
        return derive(village, self)


# --------------------------------------------------------------------------- derive


def _part_name(part: str) -> str:
    """A growth part as text: "heat pump", "EV", "PV"."""
    return {"ev": "EV", "pv": "PV"}.get(part, part.replace("_", " "))


def home_ids(village: xr.Dataset) -> list[str]:
    """Ids of the homes of a village (module docstring)."""
    from ansen.data.schema import home_flags

    ids = [str(x) for x in village["household"].values]
    others = [h for h in ids if not h.startswith(NEIGHBOURHOOD_PREFIX)]
    flags = home_flags(others, "scenario's homes")
    return [h for h, home in zip(others, flags, strict=True) if home]


#: Attributes that say how a village was made; a derived village keeps its base's in
#: ``recipe["base"]`` and has ``generator = "ansen.scenarios.derive"``.
#: Attributes that describe how a village was made or which data it is: they move into the
#: recipe's ``base`` of a village derived from it (``data_sha256``: set by ``ansen data derive``).
GENERATOR_ATTRS = ("generator", "seed", "spec", "data_sha256")


def derive(village: xr.Dataset, scenario: Scenario | str) -> xr.Dataset:
    """A new village: ``village`` changed by ``scenario``, validated, with its recipe.

    Parameters
    ----------
    village : xarray.Dataset
        The base village (:mod:`ansen.data`); not changed.
    scenario : Scenario or str
        A scenario, or the name of one in ``data/scenarios.toml``.

    Returns
    -------
    xarray.Dataset
        The derived village; ``attrs["name"]`` is ``"<base name> + <scenario>"``
        and ``attrs["recipe"]`` JSON with ``scenario`` (:meth:`Scenario.to_dict`),
        ``applied`` (per part: which households changed and how), ``base``
        (``name``, ``source`` and ``recipe`` of the base village, the last
        None for an original village, and the base's ``generator``, ``seed``,
        ``spec`` and ``data_sha256`` attributes where it has them, which the
        derived village does not carry: its ``generator`` is
        ``"ansen.scenarios.derive"``) and ``ansen_version``. ``ansen data
        derive`` sets ``data_sha256`` on the village it reads: the SHA-256 of
        that file or folder (:func:`ansen.provenance.data_fingerprint`, the
        figure sweeps and experiments record for it); set it yourself on a
        village you derive from in Python.

    Raises
    ------
    ValueError
        A request the village cannot meet, naming the field: more battery
        sites than eligible connections, an unknown household or transformer
        id, a rule that needs data the village lacks, more growth than homes
        without the installation...
    ansen.data.DataError
        The base village, or the derived one, breaks the schema. For the
        derived one the message names the scenario's fields that changed the
        variable (e.g. a ``Growth.pv_scale`` that takes PV beyond the
        schema's plausible maximum).
    """
    import ansen
    from ansen.data.schema import DataError, validate

    if isinstance(scenario, str):
        scenario = get_scenario(scenario)
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario or the name of one, got "
                         f"{type(scenario).__name__}")
    validate(village)
    ds = village.copy(deep=False)
    ds.attrs = dict(village.attrs)
    applied: dict = {}
    import warnings

    try:
        with warnings.catch_warnings(record=True) as said:  # said again below, named
            warnings.simplefilter("always")
            if scenario.growth is not None:
                ds = _apply_growth(ds, scenario.growth, applied)
            if scenario.batteries is not None:
                ds = _apply_batteries(ds, scenario.batteries, applied)
            for i, nb in enumerate(scenario.neighbourhood):
                for one in _each_transformer(ds, nb, i):
                    ds = _apply_neighbourhood(ds, one, applied.setdefault("neighbourhood", []),
                                              i)
    except DataError:
        raise
    except ValueError as exc:
        raise ValueError(f"scenario {scenario.name}: {exc}") from exc
    finally:  # a part's warning names the scenario it is about, as its errors do; said
        # also when a later part fails
        for w in said:
            warnings.warn(f"scenario {scenario.name}: {w.message}", w.category, stacklevel=2)
    if scenario.tariff_regime is not None:
        t = scenario.tariff()
        applied["tariff"] = {"label": t.label, "feed_in_share": t.feed_in_share,
                             "feed_in_vat": t.feed_in_vat}
    base = {
        "name": village.attrs.get("name", "?"),
        "source": village.attrs.get("source", "?"),
        "recipe": recipe(village),
    }
    # How the base was made (a synthetic village's generator, seed and spec) describes the
    # base, not this village: it moves into the recipe's base.
    for key in GENERATOR_ATTRS:
        if key in ds.attrs:
            base[key] = str(ds.attrs.pop(key))
    ds.attrs["generator"] = "ansen.scenarios.derive"
    ds.attrs["recipe"] = json.dumps(
        {"scenario": scenario.to_dict(), "applied": applied, "base": base,
         "ansen_version": ansen.__version__}, sort_keys=True)
    ds.attrs["name"] = f"{base['name']} + {scenario.name}"
    ds.attrs["scenario"] = scenario.name
    try:
        return validate(ds)
    except DataError as exc:
        raise DataError(f"scenario {scenario.name}: the derived village is not valid"
                        f"{_culprits(scenario, str(exc))}: {exc}") from exc


#: The scenario's fields that change each variable of the village (what a derived
#: village's schema error is traced back to).
_CHANGED_BY = {
    "pv_kw": ("growth", ("pv_scale", "pv_share_added", "new_pv_kwp")),
    "pv_kwp": ("growth", ("pv_scale", "pv_share_added", "new_pv_kwp")),
    "heat_pump_kw": ("growth", ("heat_pump_share_added", "heat_pump_kwh_per_year")),
    "ev_kw": ("growth", ("ev_share_added", "ev_kwh_per_year")),
    "load_kw": ("growth", ("heat_pump_share_added", "heat_pump_kwh_per_year",
                           "ev_share_added", "ev_kwh_per_year")),
    "mv_kw": ("growth", ("pv_scale", "pv_share_added", "new_pv_kwp", "heat_pump_share_added",
                         "heat_pump_kwh_per_year", "ev_share_added", "ev_kwh_per_year")),
}


def _culprits(scenario: Scenario, message: str) -> str:
    """`` (set by Growth.pv_scale = 100.0)``: the scenario's fields, other than their
    defaults, that change the variable a schema error names first ("" if none)."""
    variable = message.split(":", 1)[0].strip()  # batteries are checked on their fields
    part, fields = _CHANGED_BY.get(variable, (None, ()))
    given = getattr(scenario, part) if part else None
    if given is None:
        return ""
    default = type(given)()
    set_ = [f"{type(given).__name__}.{f} = {getattr(given, f)!r}" for f in fields
            if getattr(given, f) != getattr(default, f)]
    return f" ({variable} changed by {', '.join(set_)})" if set_ else ""


def recipe(village: xr.Dataset) -> dict | None:
    """The recipe of a derived village (``attrs["recipe"]`` parsed), None for an original one."""
    text = village.attrs.get("recipe")
    if text is None:
        return None
    try:
        out = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"attrs['recipe'] is not the JSON of a recipe: {exc}") from exc
    if not isinstance(out, dict) or "scenario" not in out:
        raise ValueError("attrs['recipe'] is not the JSON of a recipe (no 'scenario')")
    return out


def recipe_chain(village: xr.Dataset) -> list[dict]:
    """The recipes from the first derivation to the last (empty for an original village)."""
    chain = []
    r = recipe(village)
    while r is not None:
        chain.append(r)
        r = r.get("base", {}).get("recipe")
    return chain[::-1]


def stated_tariff(village: xr.Dataset):
    """The tariff the last scenario of a village's recipe chain that states one gives
    (:meth:`Scenario.tariff`), or None when none does (an original village too)."""
    for r in reversed(recipe_chain(village)):
        s = Scenario.from_dict(r["scenario"], "recipe")
        if s.tariff_regime is not None:
            return s.tariff()
    return None


def tariff_of(village: xr.Dataset):
    """The tariff of a (derived) village: the last scenario of its chain that states one.

    Returns ``ansen.tariffs.Tariff()`` (net metering) when none does.
    """
    from ansen.tariffs import Tariff

    return stated_tariff(village) or Tariff()


# --------------------------------------------------------------------------- parts applied


def _mask(village: xr.Dataset, ids) -> np.ndarray:
    return np.isin(village["household"].values.astype(str), list(ids))


def _set(ds: xr.Dataset, name: str, dims: tuple, values: np.ndarray) -> None:
    """Replace (or add) a variable, keeping its attrs; never writes into the old array."""
    from ansen.data.schema import VARIABLES

    attrs = dict(ds[name].attrs) if name in ds else (
        {"units": VARIABLES[name].unit} if name in VARIABLES else {})
    ds[name] = xr.Variable(dims, values, attrs)


def _annual_kwh(kw: np.ndarray, ds: xr.Dataset) -> np.ndarray:
    """Energy per year [kWh/yr] of power series [kW] at the village's steps (axis 0): over
    the first twelve months where the data hold them (:func:`ansen.data.schema.annual_kwh`)."""
    return annual_kwh(kw, local_time(ds))


def _count(share: float, n: int) -> int:
    """``share`` of ``n`` rounded to a whole number, halves up, as the share is written
    (0.29 of 50 is 14.5, so 15, though 0.29 * 50 is 14.499999999999998 in floating point)."""
    from fractions import Fraction

    return int(math.floor(Fraction(repr(float(share))) * n + Fraction(1, 2)))


def _apply_batteries(ds: xr.Dataset, b: BatterySites, applied: dict) -> xr.Dataset:
    o = "BatterySites"
    ids = ds["household"].values.astype(str)
    index = {h: i for i, h in enumerate(ids)}
    trafo = ds["household_transformer"].values.astype(str)
    eligible = _mask(ds, home_ids(ds)) if b.eligible == "homes" else ~np.char.startswith(
        ids, NEIGHBOURHOOD_PREFIX)
    if b.transformers:
        known = [str(t) for t in ds["transformer"].values]
        if unknown := [t for t in b.transformers if t not in known]:
            raise ValueError(f"{o}.transformers: unknown transformer(s) {unknown}; the village "
                             f"has {known}")
        eligible &= np.isin(trafo, list(b.transformers))
    kwh = ds["battery_kwh"].values.astype(float).copy()
    kw = ds["battery_kw"].values.astype(float).copy()
    eff = ds["battery_eff"].values.astype(float).copy()
    before = kwh > 0
    old = {"kwh": kwh.copy(), "kw": kw.copy(), "eff": eff.copy()}
    where = (f"eligible={b.eligible!r}" + (f", transformers={list(b.transformers)}"
                                           if b.transformers else ""))
    if b.existing == "replace":
        kwh[eligible] = 0.0
        kw[eligible] = 0.0
        kept = np.zeros(len(ids), dtype=bool)
    else:
        kept = eligible & before
    if b.rule == "explicit":
        if unknown := [h for h in b.households if h not in index]:
            raise ValueError(f"{o}.households: unknown household id(s) {unknown}; the village "
                             f"has {len(ids)} households ({', '.join(ids[:5])}, ...)")
        if bad := [h for h in b.households if not eligible[index[h]]]:
            raise ValueError(f"{o}.households: {bad} not eligible ({where}); neighbourhood "
                             "batteries never are, the village hall only with eligible='all'")
        new = sorted({index[h] for h in b.households} - set(np.flatnonzero(kept)))
        total = int(kept.sum()) + len(new)
        if b.count is not None and b.count != total:
            raise ValueError(f"{o}.count: {b.count} differs from the {total} sites that the "
                             f"list gives (with existing={b.existing!r})")
    else:
        count = b.count if b.share is None else _count(b.share, int(eligible.sum()))
        if b.share and count == kept.sum() and count < eligible.sum():
            import warnings

            warnings.warn(f"{o}.share: {b.share:g} of the {int(eligible.sum())} eligible "
                          f"connections ({where}) rounds to {count}: no new battery site",
                          UserWarning, stacklevel=3)
        asked = (f"{o}.count: {count}" if b.share is None else
                 f"{o}.share: {b.share:g} of the {int(eligible.sum())} eligible connections "
                 f"({where}) is {count}, which")
        if count < kept.sum():
            raise ValueError(f"{asked} is fewer than the {int(kept.sum())} "
                             f"existing battery sites that existing='keep' keeps ({where}); "
                             "use existing='replace'")
        candidates = np.flatnonzero(eligible & ~kept)
        need = count - int(kept.sum())
        if need > len(candidates):
            raise ValueError(f"{o}.count: {count} battery sites asked but only "
                             f"{int(eligible.sum())} connections are eligible ({where}); "
                             "a count fits the village it was written for (the shipped "
                             "penetration_NNN levels count the shipped village's 140 "
                             "connections): on another village give the level as a share, "
                             "share = 1.0 for every eligible connection (docs/scenarios.md)")
        new = sorted(_rank(ds, candidates, b)[:need].tolist()) if need else []
    kwh[new], kw[new], eff[new] = b.capacity_kwh, b.power_kw, b.efficiency
    _set(ds, "battery_kwh", ("household",), kwh)
    _set(ds, "battery_kw", ("household",), kw)
    _set(ds, "battery_eff", ("household",), eff)
    after = kwh > 0

    def same(i):  # the site had this very battery before
        return before[i] and (old["kwh"][i], old["kw"][i], old["eff"][i]) == (kwh[i], kw[i],
                                                                             eff[i])

    applied["batteries"] = {
        "sites": [ids[i] for i in np.flatnonzero(after & eligible)],
        "kept": [ids[i] for i in np.flatnonzero(kept)],
        # new batteries; a site that existing="replace" chose again with the battery it had
        # is in "unchanged", not here
        "added": [ids[i] for i in new if not same(i)],
        "unchanged": [ids[i] for i in new if same(i)],
        "removed": [ids[i] for i in np.flatnonzero(before & ~after)],
        # existing="replace": sites whose own battery was taken out and that the rule chose
        # again with another, with the old size [kWh, kW, one-way efficiency] (they are in
        # "added" too)
        "replaced": [{"id": ids[i], "capacity_kwh": float(old["kwh"][i]),
                      "power_kw": float(old["kw"][i]), "efficiency": float(old["eff"][i])}
                     for i in new if before[i] and not same(i)],
        "eligible": int(eligible.sum()),
        "count": int((after & eligible).sum()),  # what count or share came to
    }
    return ds


def _rank(ds: xr.Dataset, candidates: np.ndarray, b: BatterySites) -> np.ndarray:
    """``candidates`` (household indices) in the order of ``b.rule``, best first."""
    from ansen.data.summary import pv_kwp

    if b.rule == "random":
        return candidates[np.random.default_rng(b.seed).permutation(len(candidates))]
    if b.rule == "largest_pv":
        kwp = pv_kwp(ds)
        if kwp is None:
            raise ValueError("BatterySites.rule: 'largest_pv' needs the village's installed PV "
                             "(variable pv_kwp); use 'net_exporters', 'random' or 'explicit'")
        energy = ds["pv_kw"].values[:, candidates].sum(axis=0)
        return candidates[np.lexsort((candidates, -energy, -kwp[candidates]))]
    # net_exporters
    net = (ds["load_kw"].values[:, candidates] - ds["pv_kw"].values[:, candidates]).sum(axis=0)
    return candidates[np.lexsort((candidates, net))]


def _each_transformer(ds: xr.Dataset, nb: NeighbourhoodBattery,
                      i: int) -> list[NeighbourhoodBattery]:
    """``nb`` itself, or with ``transformer="each"`` one per transformer with battery sites."""
    if nb.transformer != EACH:
        return [nb]
    ids = ds["household"].values.astype(str)
    sites = (ds["battery_kwh"].values > 0) & ~np.char.startswith(ids, NEIGHBOURHOOD_PREFIX)
    on = set(ds["household_transformer"].values.astype(str)[sites])
    chosen = [str(t) for t in ds["transformer"].values if str(t) in on]
    if not chosen:
        raise ValueError(f"NeighbourhoodBattery #{i + 1}.transformer: {EACH!r} finds no "
                         "transformer with battery sites")
    return [replace(nb, transformer=t, id=f"{nb.id}_{t}" if nb.id else None) for t in chosen]


def _apply_neighbourhood(ds: xr.Dataset, nb: NeighbourhoodBattery, log: list,
                         i: int) -> xr.Dataset:
    from ansen.data.schema import HOUSEHOLD_MAX_KW, VARIABLES

    o = f"NeighbourhoodBattery #{i + 1}"
    known = [str(t) for t in ds["transformer"].values]
    if nb.transformer not in known:
        raise ValueError(f"{o}.transformer: unknown transformer {nb.transformer!r}; the village "
                         f"has {known}")
    ids = ds["household"].values.astype(str)
    kwh = ds["battery_kwh"].values.astype(float).copy()
    kw = ds["battery_kw"].values.astype(float).copy()
    eff = ds["battery_eff"].values.astype(float)
    matched: list[str] = []
    if nb.same_as == "none":
        total_kwh, total_kw, efficiency = nb.capacity_kwh, nb.power_kw, nb.efficiency
    else:
        sel = (kwh > 0) & ~np.char.startswith(ids, NEIGHBOURHOOD_PREFIX)
        if nb.same_as == "transformer_sites":
            sel &= ds["household_transformer"].values.astype(str) == nb.transformer
        if not sel.any():
            raise ValueError(f"{o}.same_as: {nb.same_as!r} finds no battery sites to match"
                             + (f" on {nb.transformer}" if nb.same_as == "transformer_sites"
                                else ""))
        matched = list(ids[sel])
        total_kwh, total_kw = float(kwh[sel].sum()), float(kw[sel].sum())
        efficiency = nb.efficiency if nb.efficiency is not None else float(
            (eff[sel] * kwh[sel]).sum() / kwh[sel].sum())
        if not nb.keep_sites:
            kwh[sel], kw[sel] = 0.0, 0.0
            _set(ds, "battery_kwh", ("household",), kwh)
            _set(ds, "battery_kw", ("household",), kw)
    max_kwh = VARIABLES["battery_kwh"].plausible_max
    units = nb.units or max(1, math.ceil(total_kw / HOUSEHOLD_MAX_KW - 1e-9),
                            math.ceil(total_kwh / max_kwh - 1e-9))
    if total_kw / units > HOUSEHOLD_MAX_KW or total_kwh / units > max_kwh:
        raise ValueError(f"{o}.units: {units} connection(s) of {total_kw / units:g} kW and "
                         f"{total_kwh / units:g} kWh exceed the limits of one connection "
                         f"({HOUSEHOLD_MAX_KW:g} kW, {max_kwh:g} kWh); give more units")
    rating = float(ds["transformer_kva"].sel(transformer=nb.transformer))
    if total_kw > rating:  # allowed (the study may want to show it), but never in silence
        import warnings

        warnings.warn(f"{o}: {total_kw:g} kW on transformer {nb.transformer} of {rating:g} "
                      "kVA: the battery alone can load the transformer beyond its rating",
                      UserWarning, stacklevel=4)
    base = nb.id or f"{NEIGHBOURHOOD_PREFIX}_{nb.transformer}"
    new_ids = [base] if units == 1 else [f"{base}_{k + 1}" for k in range(units)]
    if clash := [h for h in new_ids if h in set(ids)]:
        raise ValueError(f"{o}.id: household id(s) {clash} already in the village (a "
                         "neighbourhood battery derived before?); give another id")
    ds = _add_connections(ds, new_ids, nb.transformer, total_kwh / units, total_kw / units,
                          efficiency)
    log.append({"ids": new_ids, "transformer": nb.transformer, "capacity_kwh": total_kwh,
                "power_kw": total_kw, "efficiency": efficiency, "units": units,
                "matched": matched, "removed": [] if nb.keep_sites else matched})
    return ds


#: Values of a new connection without load, PV or heat pump: per variable with a
#: ``household`` dimension (the battery and the transformer are set apart).
_ZERO_CONNECTION = {"load_kw", "pv_kw", "heat_pump_kw", "ev_kw", "pv_kwp", "has_heat_pump",
                    "has_ev"}


def _add_connections(ds: xr.Dataset, new_ids: list[str], transformer: str, kwh: float,
                     kw: float, eff: float) -> xr.Dataset:
    """``ds`` with new connections: zero load and PV, a battery each, on ``transformer``."""
    k = len(new_ids)
    values = {"battery_kwh": kwh, "battery_kw": kw, "battery_eff": eff,
              "household_transformer": transformer}
    out = {}
    for name, da in ds.data_vars.items():
        if "household" not in da.dims:
            out[name] = da.variable
            continue
        if name not in _ZERO_CONNECTION and name not in values:
            raise ValueError(f"{name}: the village has this per-household variable and a "
                             "neighbourhood battery needs a value for it; drop it first")
        axis = da.dims.index("household")
        shape = list(da.shape)
        shape[axis] = k
        if name == "household_transformer":
            extra = np.full(shape, transformer)
        else:
            extra = np.full(shape, values.get(name, 0), dtype=da.dtype)
        out[name] = xr.Variable(da.dims, np.concatenate([da.values, extra], axis=axis),
                                dict(da.attrs))
    coords = {c: ds[c].variable for c in ds.coords if c != "household"}
    hh = np.concatenate([ds["household"].values, np.array(new_ids, dtype=object)])
    coords["household"] = xr.Variable(("household",), hh, dict(ds["household"].attrs))
    attrs = dict(ds.attrs)
    if "pv_kwp" in attrs and "pv_kwp" not in ds:  # installed PV given as an attribute
        attrs["pv_kwp"] = np.append(np.atleast_1d(np.asarray(attrs["pv_kwp"], dtype=float)),
                                    np.zeros(k))
    return xr.Dataset(out, coords=coords, attrs=attrs)


def _apply_growth(ds: xr.Dataset, g: Growth, applied: dict) -> xr.Dataset:
    from ansen.data.summary import pv_kwp

    o = "Growth"
    ids = ds["household"].values.astype(str)
    homes = np.flatnonzero(_mask(ds, home_ids(ds)))
    load = ds["load_kw"].values.astype(float)
    pv = ds["pv_kw"].values.astype(float)
    net0 = (load - pv).sum(axis=1)
    load, pv = load.copy(), pv.copy()
    kwp = pv_kwp(ds)
    kwp = None if kwp is None else kwp.copy()
    log: dict = {}

    if g.pv_scale != 1.0:
        has = homes[pv[:, homes].max(axis=0) > 0] if kwp is None else homes[kwp[homes] > 0]
        pv[:, has] *= g.pv_scale
        if kwp is not None:
            kwp[has] *= g.pv_scale
        log["pv_scaled"] = {"factor": g.pv_scale, "households": list(ids[has])}

    if g.pv_share_added > 0:
        if kwp is None:
            raise ValueError(f"{o}.pv_share_added: needs the village's installed PV (variable "
                             "pv_kwp) for the per-kWp profile of its homes")
        donors = homes[kwp[homes] > 0]
        without = homes[(kwp[homes] == 0) & (pv[:, homes].max(axis=0) == 0)]
        n = _count(g.pv_share_added, len(homes))
        if n > len(without):
            raise ValueError(f"{o}.pv_share_added: {g.pv_share_added:g} of {len(homes)} homes "
                             f"is {n}, but only {len(without)} homes have no PV")
        if n and not len(donors):
            raise ValueError(f"{o}.pv_share_added: no home with PV to take a profile from")
        rng = np.random.default_rng([g.seed, 1])
        chosen = np.sort(rng.choice(without, n, replace=False))
        donor = rng.choice(donors, n)
        size = g.new_pv_kwp if g.new_pv_kwp is not None else float(kwp[donors].mean())
        pv[:, chosen] = pv[:, donor] / kwp[donor] * size
        kwp[chosen] = size
        log["pv_added"] = {"kwp": size, "households": list(ids[chosen]),
                           "donors": list(ids[donor])}

    parts = {}
    for part, share, name in (("heat_pump", g.heat_pump_share_added, "heat_pump_kw"),
                              ("ev", g.ev_share_added, "ev_kw")):
        if share == 0:
            continue
        comp = (ds[name].values.astype(float).copy() if name in ds
                else np.zeros_like(load))
        has = comp.sum(axis=0) > 0
        donors = homes[has[homes]]
        without = homes[~has[homes]]
        n = _count(share, len(homes))
        field_name = f"{part}_share_added"
        if n > len(without):
            raise ValueError(f"{o}.{field_name}: {share:g} of {len(homes)} homes is {n}, but "
                             f"only {len(without)} homes have no {_part_name(part)}")
        source = g.profiles
        if source == "auto":
            source = "village" if len(donors) else "synthetic"
        if source == "village" and not len(donors):
            raise ValueError(f"{o}.profiles: 'village' but no home of the village has a "
                             f"{part.replace('_', ' ')} ({name})")
        if part == "ev" and source == "village" and g.ev_kwh_per_year is not None:
            raise ValueError(f"{o}.ev_kwh_per_year: applies to synthetic EV profiles only; the "
                             "village's own sessions are copied as they are (set "
                             "profiles='synthetic')")
        rng = np.random.default_rng([g.seed, 2 if part == "heat_pump" else 3])
        chosen = np.sort(rng.choice(without, n, replace=False))
        if n == 0:
            added, detail = np.zeros((len(load), 0)), {}
        elif source == "village":
            added, detail = _copy_profiles(part, comp, donors, n, rng, ds, g, ids)
        else:
            added, detail = _synthetic_profiles(part, ds, n, rng, g, bool(len(donors)))
        comp[:, chosen] += added
        load[:, chosen] += added
        parts[name] = comp
        flag = "has_heat_pump" if part == "heat_pump" else "has_ev"
        if flag in ds:
            f = ds[flag].values.copy()
            f[chosen] = 1
            _set(ds, flag, ("household",), f)
        log[f"{part}_added"] = {"profiles": source, "households": list(ids[chosen]),
                                "annual_kwh_mean": float(_annual_kwh(added, ds).mean())
                                if n else 0.0, **detail}

    _set(ds, "load_kw", ("time", "household"), load)
    _set(ds, "pv_kw", ("time", "household"), pv)
    for name, comp in parts.items():
        _set(ds, name, ("time", "household"), comp)
    if kwp is not None and (g.pv_scale != 1.0 or g.pv_share_added > 0):
        _set(ds, "pv_kwp", ("household",), kwp)
        ds.attrs.pop("pv_kwp", None)  # the variable now holds it
    delta = (load - pv).sum(axis=1) - net0
    _set(ds, "mv_kw", ("time",), ds["mv_kw"].values.astype(float) + delta)
    log["mv_kw_change_kwh_per_year"] = float(_annual_kwh(delta[:, None], ds)[0])
    if not holds_a_year(local_time(ds)):  # a year's figures from part of one: said
        import warnings

        days = ds.sizes["time"] * step_hours(ds) / 24.0
        log["per_year_from_days"] = round(days, 2)
        warnings.warn(f"Growth: the recipe's per-year figures (mv_kw_change_kwh_per_year, "
                      f"annual_kwh_mean) are scaled up from {days:.1f} days of data, without "
                      "the seasons they miss", UserWarning, stacklevel=4)
    applied["growth"] = log
    return ds


def _copy_profiles(part, comp, donors, n, rng, ds, g, ids):
    """Profiles copied from random donor homes [kW], shape (time, n), and what was done."""
    donor = rng.choice(donors, n)
    added = comp[:, donor].copy()
    detail: dict = {"donors": list(ids[donor])}
    if part == "heat_pump":
        if g.heat_pump_kwh_per_year is not None:
            energy = _annual_kwh(added, ds)
            if (low := energy < 1.0).any():  # nothing to scale up: a heat pump idle a year
                raise ValueError(
                    f"Growth.heat_pump_kwh_per_year: donor home(s) "
                    f"{sorted({str(h) for h in ids[donor[low]]})} use(s) {energy[low].min():.3g} kWh in a "
                    "year (the data's first twelve months), too little to scale to "
                    f"{g.heat_pump_kwh_per_year:g} kWh/yr; use profiles='synthetic' or leave "
                    "heat_pump_kwh_per_year out")
            added *= g.heat_pump_kwh_per_year / energy
        return added, detail
    # EV sessions: shift each copy by whole weeks, so that copies of one donor do not charge
    # at the same moments; the weekday and time-of-day pattern is kept
    week = round(7 * 24 / step_hours(ds))
    n_weeks = len(comp) // week
    shifts = rng.integers(1, n_weeks, n) if n_weeks >= 2 else np.zeros(n, dtype=int)
    for j, s in enumerate(shifts):
        added[:, j] = np.roll(added[:, j], int(s) * week)
    detail["shift_weeks"] = [int(s) for s in shifts]
    return added, detail


def _synthetic_profiles(part, ds, n, rng, g, donors: bool):
    """Synthetic profiles [kW] from :mod:`ansen.data.synthetic`, shape (time, n).

    ``donors``: whether the village has homes with such a profile to copy instead.
    """
    from ansen.data.synthetic import VillageSpec, ev_load, heat_pump_load

    what = _part_name(part)
    instead = ("; use profiles='village'" if donors else
               f"; and no home of the village has {'an' if what == 'EV' else 'a'} {what} to "
               "copy (profiles='village'): "
               f"added {what}s need a village that has one, or one that the synthetic "
               "profiles fit")
    minutes = step_hours(ds) * 60
    if round(minutes) != 15:
        raise ValueError(f"Growth.profiles: synthetic {what} profiles need 15-minute steps, "
                         f"the village has {minutes:g} min{instead}")
    local = local_time(ds)
    spec = VillageSpec()
    if part == "heat_pump":
        days = ds.sizes["time"] * step_hours(ds) / 24.0
        if days < 365:
            raise ValueError(f"Growth.profiles: synthetic heat-pump profiles need a village "
                             f"of at least 365 days (heat_pump_load scales the energy of the "
                             f"period's first twelve months), the village has {days:.1f} "
                             f"days{instead}")
        temp, source = _temperature(ds)
        if g.heat_pump_kwh_per_year is not None:
            spec = replace(spec, hp_kwh_per_year=g.heat_pump_kwh_per_year)
        return heat_pump_load(spec, temp, local, n, rng), {"temperature": source}
    if g.ev_kwh_per_year is not None:
        # sessions per day, weekends at 0.8 (ansen.data.synthetic.ev_load)
        per_day = g.ev_kwh_per_year / (365.25 * spec.ev_kwh_per_session * (5 + 2 * 0.8) / 7)
        spec = replace(spec, ev_sessions_per_day=per_day)
    return ev_load(spec, local, n, rng), {"sessions_per_day": spec.ev_sessions_per_day}


def _temperature(ds: xr.Dataset) -> tuple[np.ndarray, str]:
    """Outdoor temperature per step [degC] and where it comes from.

    The village's ``temp_air_degc`` (dims ``time``) if it has one; else the
    DWD test reference year 2010, region 1 (the weather of the synthetic
    village, :func:`ansen.data.sources.read_try`), each step taking the TRY
    hour of the same calendar day and CET hour (a climatological year, not
    the weather of the village's days). Refused (ValueError) for a village whose
    latitude and longitude lie far outside that climate, warned of near it
    (:data:`ansen.data.sources.TRY_CLIMATE`); one without them is taken to lie in it.
    """
    if "temp_air_degc" in ds:
        return ds["temp_air_degc"].values.astype(float), "village temp_air_degc"
    from ansen.data.sources import read_try, try_climate_note

    where, note = try_climate_note(ds.attrs.get("latitude"), ds.attrs.get("longitude"))
    how = ("give the village a variable temp_air_degc (dims time, degC): load it, set "
           "village['temp_air_degc'] = ('time', values), save it as NetCDF "
           "(ansen.data.save; an export folder has no table for it) and derive from that; "
           "the temperature times the heat pumps' use, the year's energy is "
           "heat_pump_kwh_per_year (3,500 kWh by default, a Dutch rural home's): give the "
           "village's climate's own")
    if where == "far":
        raise ValueError(f"heat pumps added to village {ds.attrs.get('name', '?')!r} need "
                         f"its outdoor temperature: the village at {note}; {how}")
    if where == "near":
        import warnings

        warnings.warn(f"heat pumps added to village {ds.attrs.get('name', '?')!r} follow the "
                      f"TRY's temperature: the village at {note}; for its own, {how}",
                      UserWarning, stacklevel=4)

    try_ = read_try(1)["temp_air"].to_numpy()
    cet = ds.indexes["time"] + pd.Timedelta(hours=1)
    doy = np.minimum(cet.day_of_year.to_numpy(), 365) - 1
    return try_[doy * 24 + cet.hour.to_numpy()], "DWD TRY 2010 region 1 (climatological)"


# --------------------------------------------------------------------------- named scenarios


def load_scenarios(path: str | Path | None = None) -> dict[str, Scenario]:
    """The named scenarios of a TOML file (default ``data/scenarios.toml``), in file order.

    The file holds ``[[scenario]]`` tables with the fields of :class:`Scenario`
    and the sub-tables ``growth``, ``batteries`` and ``[[scenario.neighbourhood]]``
    with the fields of :class:`Growth`, :class:`BatterySites` and
    :class:`NeighbourhoodBattery`.

    Raises
    ------
    ValueError
        Not TOML, an unknown table or key (named), a bad value (the field
        named), a duplicate or unsafe name.
    FileNotFoundError
        No file at ``path``.
    """
    from ansen.io import read_toml

    path = Path(path) if path else DEFAULT_SCENARIOS
    doc = read_toml(path, "scenario file")
    if unknown := sorted(set(doc) - {"scenario"}):
        raise ValueError(f"{path}: unknown table(s) {unknown}; the file holds [[scenario]] "
                         "tables only")
    raw = doc.get("scenario", [])
    if not isinstance(raw, list):
        raise ValueError(f"{path}: write each scenario as a [[scenario]] table")
    out: dict[str, Scenario] = {}
    for i, row in enumerate(raw):
        name = row.get("name", f"#{i + 1}")
        if "name" not in row:
            raise ValueError(f"{path}: scenario #{i + 1} has no name")
        try:
            s = Scenario.from_dict(row, f"scenario {name}")
        except (ValueError, TypeError) as exc:  # said once which scenario
            said = str(exc) if str(exc).startswith(f"scenario {name}:") else \
                f"scenario {name}: {exc}"
            raise ValueError(f"{path}: {said}") from exc
        if s.name in out:
            raise ValueError(f"{path}: duplicate scenario name {s.name}")
        out[s.name] = s
    return out


def get_scenario(name: str, path: str | Path | None = None) -> Scenario:
    """One named scenario (ValueError listing the names if unknown)."""
    scenarios = load_scenarios(path)
    if name not in scenarios:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(scenarios)}")
    return scenarios[name]


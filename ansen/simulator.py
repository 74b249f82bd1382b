"""``ansen.simulate``: a steering model run over a village as a real controller would run it.

The controller has three pieces (:mod:`ansen.controller`):

1. **Information** (:class:`ansen.controller.Information`): what is known
   when. Grid measurements (transformer, MV) arrive with the age
   ``data_lag``; the fleet's own meters and state of charge are known in real
   time; the next day's day-ahead prices from their publication (12:45
   Europe/Amsterdam).
2. **Planner** (:class:`ansen.controller.Planner`): at each day-ahead
   decision (``decision_hour``, 13:00 local by default, and at the start of
   the run) a plan to the end of the known prices (35 h at 13:00), and every
   ``replan_minutes`` a re-plan of the rest of that window from the state of
   charge measured then, with the newest forecasts allowed. Forecasts
   (:mod:`ansen.forecast`) describe the households, transformers and MV
   feeder *without* the fleet's batteries (the platform knows its batteries'
   own flows and removes them from the measurements).
3. **Real-time layer** (:mod:`ansen.controller.realtime`): applies the set
   points of the latest plan to the *actual* data, within each battery's
   power limit and state-of-charge bounds, so forecast error shows in the
   results. Rule models (``none``, ``M1``) act here on each step's actual
   exchange. With ``realtime="meter"`` it first holds each household's meter
   to what the plan expected of it (:func:`ansen.controller.meter_rule`).

M6's behavioural shift is decided per local day from the forecast at the
day-ahead decision before the day and applied to the actual load.

Money: the cost models optimise each battery household's marginal prices
under the tariff (:meth:`ansen.tariffs.Tariff.marginal_prices`); with net
metering these depend on whether the household imported more than it
exported over the 365 days before the run (its last annual statement,
:func:`ansen.tariffs.last_year_net_kwh`). Days the data do not hold stand in
by the same calendar days of another year of the data, which may lie after
the run: a stand-in for the statement a household would have in hand, not
knowledge of the run's own days (the note says which days were taken; a cost
model under net metering on less than a year of data is warned of). The run
records each household's net consumption per calendar year
(``annual_net_kwh``: the run's own steps and, for the rest of the year, the
village's data without battery), from which
:func:`ansen.tariffs.household_costs` bills the energy tax as the law does.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import xarray as xr

import ansen
from ansen.controller import (
    Fleet,
    Information,
    Planner,
    Prices,
    apply_rule,
    apply_rule_guarded,
    apply_setpoints,
    guard_setpoints,
    meter_rule,
)
from ansen.controller.planner import FLEETS, METHODS, dp_refusal
from ansen.controller.realtime import REALTIME
from ansen.data.schema import (
    _as_utc,
    _span,
    check_finite,
    check_time_index,
    duration_text,
    local_time,
    utc_offsets_h,
    validate,
)
from ansen.forecast import FORECASTS, history_days, make_forecasts
from ansen.models import Context, SolveError, get_model
from ansen.models.behaviour import code_slots, shift_load
from ansen.models.cost import CommunityCost
from ansen.models.lp import BACKENDS
from ansen.tariffs import (
    ENERGY_TAX,
    NET_METERING_LAST_YEAR,
    Tariff,
    annual_net_kwh,
    last_year_net_kwh,
)
from ansen.weather import FIT_DAYS

__all__ = ["simulate", "check_arguments", "apply_setpoints", "PRICES_PUBLISHED"]

#: When the next day's day-ahead prices are known: the Single Day-Ahead Coupling's results
#: for the Netherlands from 12:45 CET/CEST (sources in :mod:`ansen.controller.information`).
#: A village on another market gives its own (``simulate(prices_published="13:00
#: Australia/Sydney")``, say).
PRICES_PUBLISHED = "12:45 Europe/Amsterdam"


class _Behaviour:
    """M6's daily code red/green slots and the resulting load shift."""

    def __init__(self, model, local, load, ev, hp, transformer0, scope, scope_is_fleet,
                 scope_transformer, forecasts, window_starts, i0, i1, dt):
        p = model.params
        spd = round(24 / dt)
        self.red = np.zeros(len(local), dtype=bool)
        self.green = np.zeros(len(local), dtype=bool)
        self.day = np.full(len(local), -1)
        self.scope = scope
        self.scope_is_fleet = scope_is_fleet
        self.scope_transformer = scope_transformer
        self.response = p["response"]
        self.load = load
        self.flexible = p["flex_share"] * (load - ev - hp) + p["ev_flex_share"] * ev
        days = local[i0:i1].normalize()
        starts = i0 + np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], i1]
        total0 = transformer0.sum(axis=1)
        known = forecasts.known
        self.warmup_days: list[int] = []  # day starts whose message read past the cut-off
        self.padded_days: list[int] = []  # and those whose message read before the data
        self.n_messages = len(starts)
        for d, (a, b) in enumerate(zip(starts, ends, strict=True)):
            made = window_starts[window_starts < a]
            t0 = int(made[-1]) if len(made) else i0  # the message is sent the day before
            reads, padded = forecasts.warmup, getattr(forecasts, "padded", 0)
            fc = forecasts.series(total0, t0, b - t0, known.grid_cutoff(t0))[a - t0:]
            if forecasts.warmup > reads:
                self.warmup_days.append(int(a))
            if getattr(forecasts, "padded", 0) > padded:
                self.padded_days.append(int(a))
            red, green = code_slots(fc, round(p["red_hours"] / dt), round(p["green_hours"] / dt))
            self.red[a:b], self.green[a:b], self.day[a:b] = red, green, d
            if b - a < spd // 2:
                self.red[a:b] = self.green[a:b] = False  # no message for a sliver of a day

    def apply(self, load: np.ndarray, flexible: np.ndarray, t0: int) -> np.ndarray:
        """Shift ``load`` (steps t0.., scope households) day by day; returns a new array."""
        out = load.copy()
        day = self.day[t0:t0 + len(load)]
        for d in np.unique(day[day >= 0]):
            sel = np.flatnonzero(day == d)
            out[sel] = shift_load(load[sel], flexible[sel], self.red[t0 + sel],
                                  self.green[t0 + sel], self.response)
        return out


def _schedule(local: pd.DatetimeIndex, known, i0: int, i1: int, decision_hour: int,
              replan_minutes: int | None, cap: int | None) -> list[tuple[int, int, int]]:
    """Decision points ``(t, window_start, window_end)`` of a run (steps, end exclusive).

    A window opens at the start of the run, at each ``decision_hour``, when
    the previous window has run out, and at a re-plan that finds prices known
    beyond the current window (a decision hour before the prices' publication);
    it ends at the end of the known prices (or after ``cap`` steps, or at the
    end of the run). Re-plans every ``replan_minutes`` of the local clock stay
    in the current window.
    """
    minutes = (local.hour * 60 + local.minute).to_numpy()
    daily = (local.hour == decision_hour) & (local.minute == 0)
    replan = (minutes % replan_minutes == 0) if replan_minutes else np.zeros(len(local), bool)
    candidates = np.flatnonzero((daily | replan)[i0:i1]) + i0
    points: list[tuple[int, int, int]] = []
    ws = we = -1

    def open_window(t: int) -> None:
        nonlocal ws, we
        end = min(known.price_end(t), i1, t + cap if cap else i1)
        if end <= t:
            raise ValueError(f"no day-ahead prices are known at {local[t]} (published "
                             f"{known.info.price_publication} {known.info.price_zone})")
        ws, we = t, end
        points.append((t, ws, we))

    open_window(i0)
    for t in candidates:
        while we < t:  # the window ran out before this point
            open_window(we)
        if t == ws:
            continue
        if daily[t] or t == we or min(known.price_end(t), i1) > we and (
                cap is None or t + cap > we):
            open_window(int(t))
        else:
            points.append((int(t), ws, we))
    while we < i1:
        open_window(we)
    return points


def _daily_sums(x: np.ndarray, day_starts: np.ndarray) -> np.ndarray:
    """Sums of ``x`` (time first) over the days starting at the indices ``day_starts``."""
    return np.add.reduceat(x, day_starts, axis=0) if len(x) else np.zeros((0, *x.shape[1:]))


def _annual_net(net_full: np.ndarray, local_full: pd.DatetimeIndex, dt: float, run_slice: slice,
                net_run: np.ndarray, households) -> pd.DataFrame:
    """Net consumption per calendar year of the run's years [kWh]: the run's steps, the
    village's data without battery on the other days (:func:`ansen.tariffs.annual_net_kwh`)."""
    years = sorted(set(local_full[run_slice].year))
    merged = net_full.copy()
    merged[run_slice] = net_run
    return annual_net_kwh(merged, local_full, dt, households, years)


def _check_names(model, params: dict) -> None:
    """Refuse a model parameter that is no parameter of the model, suggesting the nearest
    argument of :func:`simulate` or parameter of the model (a misspelling, say)."""
    import difflib
    import inspect

    from ansen.models import MODELS

    cls = MODELS.get(model) if isinstance(model, str) else type(model)
    if cls is None or not params:
        return
    known = sorted(cls.defaults)
    arguments = [n for n in inspect.signature(simulate).parameters
                 if n not in ("village", "model", "start", "end", "params")]
    for name in params:
        if name in known:
            continue
        near = difflib.get_close_matches(name, arguments + known, n=1, cutoff=0.75)
        hint = ""
        if near:
            hint = (f" (did you mean {near[0]}=, an argument of simulate?)"
                    if near[0] in arguments else f" (did you mean {near[0]!r}?)")
        who = getattr(cls, "id", model)
        raise ValueError(f"{who}: unknown parameter(s) [{name!r}]{hint}. Parameters of {who}: "
                         f"{', '.join(known)}; arguments of simulate: {', '.join(arguments)}")


def check_arguments(model="M1", *, step="15min", solver: str = "highs",
                    forecast: str = "persistence", data_lag=None,
                    replan_minutes: int | None = 60, decision_hour: int = 13,
                    horizon_hours: float | None = None, soc_initial: float = 0.5,
                    soc_min: float = 0.0, tariff: Tariff | None = None,
                    fallback: str | None = None, forecast_lag_days: int | None = None,
                    seed: int = 0, directions: str = "net", plan_minutes: int | None = None,
                    replan_lookahead_hours: float | None = 12.0, plan_fleet: str = "sites",
                    plan_method: str = "auto", plan_bounds: bool = True,
                    realtime: str = "setpoint", transformer_guard: float | None = None,
                    prices_published: str = PRICES_PUBLISHED, **params) -> dict:
    """Check every argument of :func:`simulate` but the village and period, by name and range.

    What a schedule, a sweep spec or the command line call before anything runs, so a
    bad parameter fails at once with its name and not in a worker. ``step`` is the data's
    time step (default 15 minutes: the shipped village's); None when the village is not
    known yet (then step-dependent checks allow every supported step).

    Returns
    -------
    dict
        The checked values (whole numbers as int, the model object as ``steer``, the
        information model as ``info``, the LP step in data steps as ``block``).

    Raises
    ------
    ValueError
        Naming the argument and its allowed range.
    """
    _check_names(model, params)
    steer = get_model(model, **params)
    if solver not in BACKENDS:
        raise ValueError(f"unknown solver {solver!r}; known: {', '.join(BACKENDS)}")
    if forecast not in FORECASTS:
        raise ValueError(f"unknown forecast {forecast!r}; known: {', '.join(FORECASTS)}")
    if fallback is not None and fallback not in ("M1", "none"):
        raise ValueError(f"fallback must be a rule model ('M1' or 'none'), got {fallback!r}")
    from ansen.models.params import Param, check

    def arg(name, value, spec):
        return check("simulate", name, value, spec)

    soc_min = arg("soc_min", soc_min, Param(low=0.0, high=0.999, unit="share of capacity"))
    soc_initial = arg("soc_initial", soc_initial, Param(low=0.0, high=1.0,
                                                        unit="share of capacity"))
    if soc_initial < soc_min:
        raise ValueError(
            f"infeasible parameters: soc_initial {soc_initial} below soc_min {soc_min}")
    decision_hour = arg("decision_hour", decision_hour, Param(kind="whole", low=0, high=23,
                                                              unit="local hour"))
    seed = arg("seed", seed, Param(kind="whole", low=0, high=2**63 - 1))
    if horizon_hours is not None:
        horizon_hours = arg("horizon_hours", horizon_hours, Param(low=0.0, high=24.0 * 14,
                                                                  open_low=True, unit="h"))
    if directions not in ("net", "exact"):
        raise ValueError(f"simulate: directions must be 'net' or 'exact', got {directions!r}")
    if plan_fleet not in FLEETS:
        raise ValueError(f"simulate: plan_fleet must be 'sites' or 'classes', got {plan_fleet!r}")
    if not isinstance(plan_bounds, bool):
        raise ValueError(f"simulate: plan_bounds must be True or False, got {plan_bounds!r}")
    if plan_method not in METHODS:
        raise ValueError(f"simulate: plan_method must be one of {', '.join(METHODS)}, got "
                         f"{plan_method!r}")
    if realtime not in REALTIME:
        raise ValueError(f"simulate: realtime must be one of {', '.join(REALTIME)}, got "
                         f"{realtime!r}")
    if transformer_guard is not None:
        transformer_guard = arg("transformer_guard", transformer_guard,
                                Param(low=0.0, high=10.0, unit="share of the rating")) + 0.0
    if plan_method == "dp" and (refusal := dp_refusal(steer, directions)):
        raise ValueError(f"simulate: {refusal}")
    if tariff is not None and not isinstance(tariff, Tariff):
        raise ValueError(f"simulate: tariff must be an ansen.tariffs.Tariff, got {tariff!r}")
    if forecast_lag_days is not None:
        forecast_lag_days = arg("forecast_lag_days", forecast_lag_days,
                                Param(kind="whole", low=1, high=61, unit="days"))
        if data_lag is not None:
            raise ValueError("give data_lag or its old name forecast_lag_days, not both")
        data_lag = None if forecast_lag_days == 1 else f"{forecast_lag_days - 1}D"
    # without a village (a schedule, a spec): the finest supported step, so that every
    # value some village allows passes here; simulate checks again against the data's step
    known_step = step is not None
    step = pd.Timedelta("5min" if step is None else step)
    if data_lag is None:  # real time: the step that just ended
        data_lag = duration_text(step)
    if not isinstance(prices_published, str) or len(prices_published.split()) != 2:
        raise ValueError(f"simulate: prices_published must be 'HH:MM Zone' (the local time "
                         f"and IANA time zone from which the next day's prices are known, e.g. "
                         f"{PRICES_PUBLISHED!r}), got {prices_published!r}")
    at, zone = prices_published.split()
    prices_published = f"{at} {zone}"  # one spelling (recorded only when not the default)
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        from ansen.data.schema import timezone_hint

        raise ValueError(f"simulate: prices_published {prices_published!r}: {zone!r} is not "
                         f"an IANA time zone name ({timezone_hint(zone)})") from None
    try:
        info = Information(data_lag=data_lag, price_publication=at, price_zone=zone)
    except ValueError as exc:
        if "price_publication" not in str(exc):
            raise
        raise ValueError(f"simulate: prices_published {prices_published!r}: the time must be "
                         "'HH:MM' (00:00 to 23:59)") from None
    try:
        info.bind(pd.DatetimeIndex([pd.Timestamp(0), pd.Timestamp(0) + step]))  # lag >= step
    except ValueError as exc:
        if known_step:
            raise
        raise ValueError(f"data_lag {data_lag!r} is shorter than the finest step a village "
                         "may have (5 min); real time is the data's own step (leave data_lag "
                         "out)") from exc
    dt = step / pd.Timedelta(hours=1)
    step_min = round(dt * 60)
    step_text = (f"the data's step ({step_min} min)" if known_step else
                 f"{step_min} min (the finest step a village may have; the data's own step "
                 "is checked when its village is read)")
    if replan_minutes is not None:
        replan_minutes = arg("replan_minutes", replan_minutes,
                             Param(kind="whole", low=0, open_low=True, high=1440, unit="min"))
        if replan_minutes % step_min or (60 % replan_minutes and replan_minutes % 60) or (
                replan_minutes > 60 and 1440 % replan_minutes):
            raise ValueError(f"replan_minutes must be a multiple of {step_text} that divides "
                             f"the hour or the day, got {replan_minutes}")
    if plan_minutes is None:
        block = 1
    else:
        plan_minutes = arg("plan_minutes", plan_minutes, Param(kind="whole", low=1, high=60,
                                                               unit="min"))
        if plan_minutes % step_min or 60 % plan_minutes:
            raise ValueError(f"simulate: plan_minutes must divide the hour and be a multiple of "
                             f"{step_text}, got {plan_minutes}")
        if replan_minutes is not None and replan_minutes % plan_minutes:
            raise ValueError(f"simulate: replan_minutes ({replan_minutes}) must be a multiple "
                             f"of plan_minutes ({plan_minutes})")
        block = plan_minutes // step_min
    if replan_lookahead_hours is not None:
        replan_lookahead_hours = arg("replan_lookahead_hours", replan_lookahead_hours,
                                     Param(low=0.0, open_low=True, high=24.0 * 14, unit="h"))
    if horizon_hours is not None and horizon_hours < dt:
        raise ValueError(f"simulate: horizon_hours must be at least one step ({dt:g} h), got "
                         f"{horizon_hours!r}")
    if getattr(steer, "behaviour", False):  # M6's message slots: whole steps, red and green
        p = steer.params
        for name in ("red_hours", "green_hours"):
            if abs(p[name] / dt - round(p[name] / dt)) > 1e-9:
                raise ValueError(f"{steer.id}: {name} must be a whole number of steps of "
                                 f"{step_text}, got {p[name]!r} h")
        if p["red_hours"] + p["green_hours"] > 24.0:
            raise ValueError(f"{steer.id}: red_hours + green_hours must be at most 24 (a day's "
                             f"slots are red or green, not both), got {p['red_hours']!r} + "
                             f"{p['green_hours']!r}")
    tariff = tariff or Tariff()
    return {"steer": steer, "solver": solver, "forecast": forecast, "data_lag": data_lag,
            "info": info, "replan_minutes": replan_minutes, "decision_hour": decision_hour,
            "horizon_hours": horizon_hours, "soc_initial": soc_initial, "soc_min": soc_min,
            "tariff": tariff, "fallback": fallback, "forecast_lag_days": forecast_lag_days,
            "seed": seed, "directions": directions, "plan_minutes": plan_minutes,
            "replan_lookahead_hours": replan_lookahead_hours, "block": block, "dt": dt,
            "step_min": step_min, "plan_fleet": plan_fleet, "plan_method": plan_method,
            "plan_bounds": plan_bounds, "realtime": realtime,
            "transformer_guard": transformer_guard, "prices_published": prices_published}


def simulate(village: xr.Dataset, model="M1", start=None, end=None, *, solver: str = "highs",
             forecast: str = "persistence", data_lag=None, replan_minutes: int | None = 60,
             decision_hour: int = 13, horizon_hours: float | None = None,
             soc_initial: float = 0.5, soc_min: float = 0.0, tariff: Tariff | None = None,
             fallback: str | None = None, forecast_lag_days: int | None = None, seed: int = 0,
             directions: str = "net", plan_minutes: int | None = None,
             replan_lookahead_hours: float | None = 12.0, plan_fleet: str = "sites",
             plan_method: str = "auto", plan_bounds: bool = True, realtime: str = "setpoint",
             transformer_guard: float | None = None,
             prices_published: str = PRICES_PUBLISHED, progress=None,
             **params) -> xr.Dataset:
    """Run a steering model over a village with the controller of :mod:`ansen.controller`.

    Parameters
    ----------
    village : xarray.Dataset
        A village (:mod:`ansen.data`); its battery sites are the households
        with ``battery_kwh > 0`` and ``battery_kw > 0``.
    model : str or SteeringModel
        ``"none"``, ``"M0"`` ... ``"M6"``, ``"M4+M5"`` (:data:`ansen.models.MODELS`).
    start, end : str or pandas.Timestamp, optional
        Period (``end`` exclusive); naive values are local time. Default: all data.
    solver : {"highs", "glpk"}
    forecast : {"perfect", "persistence", "profile", "weather"}
        How the planner forecasts (:mod:`ansen.forecast`).
    data_lag : str or pandas.Timedelta, optional
        Age of the newest grid measurement (transformer, MV) at a decision:
        default (None) real time, the data's step (``"15min"`` for the shipped
        village); ``"1h"``, ``"1D"``, ``"7D"`` (the pilot's week-old data).
    replan_minutes : int or None
        Re-plan the rest of the window every so many minutes of the local
        clock (a divisor or multiple of 60, a multiple of the step); None: the
        day-ahead plan only. Default 60: each hour brings a new measurement
        of every stream and, since 2024, new intraday market products (the
        quarter-hour is possible, at four times the solves).
    decision_hour : int
        Local hour of the daily day-ahead decision (13: after the prices'
        publication at 12:45 CET).
    horizon_hours : float, optional
        Longest plan [h]; default: to the end of the known prices.
    soc_initial, soc_min : float
        State of charge at the start and minimum reserve, as shares of capacity.
    tariff : Tariff, optional
        Prices of the cost models. Default: the tariff a derived village's
        recipe states (:func:`ansen.scenarios.tariff_of`, e.g. after
        ``derive(village, "tariff_2027")``), else :class:`ansen.tariffs.Tariff`
        (net metering). The one used is in ``attrs["params"]``.
    fallback : str, optional
        A rule model (``"M1"`` or ``"none"``) used until the next decision
        when an LP fails; each use is recorded in ``attrs["fallbacks"]``.
        Default: raise.
    forecast_lag_days : int, optional
        Old name of the data age in days: L means ``data_lag`` = L - 1 days
        (L = 1: real time), as the simulator read it before ``data_lag``.
    seed : int
        Seed of the weather forecast's errors (``forecast="weather"``).
    directions : {"net", "exact"}
        How a plan that charges and discharges a battery in the same step is
        made executable (:mod:`ansen.controller.planner`): held to its net
        direction (fast, default), or a MIP for the best such schedule.
    plan_minutes : int, optional
        Step of the plans (default: the data's step). Longer steps (e.g. 60
        for a plan per hour, executed per 15 minutes) make the LP smaller for
        large fleets: forecasts and prices are averaged over each plan step, so
        peaks and prices within it are smoothed. Must divide the hour, be a
        multiple of the data's step and divide ``replan_minutes``; the run must
        start on a plan step.
    replan_lookahead_hours : float or None
        A re-plan solves only when the information about the next so many
        hours changed (or a battery did other than planned); changes further
        ahead wait for the next solve (at the latest the next day-ahead
        decision). Default 12: with persistence forecasts the hourly news is
        about the same hour tomorrow, which an hourly solve would chase at
        every hour from 13:00 to midnight for little (on the shipped village,
        June 2025: M2's MV peak reduction 2.56 % instead of 2.59 %, the same
        saving) and at two to five times the cost; fresh data that move the
        next hours (a weather forecast's intraday correction, fresh grid
        data) still re-plan at once. None: any change, anywhere ahead.
    plan_fleet : {"sites", "classes"}
        What the LP plans: one battery per site (default), or one per class
        of sites (same transformer, battery per kWh and prices), each site
        following its class's plan in proportion to its power
        (:mod:`ansen.controller.planner`). Classes make large fleets fast
        (140 sites plan about as fast as ten); M3 reaches the same optimum, the
        cost models approximate the households' own meters by one meter per
        class (the difference is measured in ``benchmarks/classes.py``). Each
        class plan of M4, M5, M6 and M4+M5 is bounded against the per-site
        optimum of its decision (:mod:`ansen.controller.certificate`; EUR over
        the plan's window): ``attrs`` ``class_plan_gap_mean_eur`` and
        ``class_plan_gap_max_eur`` (upper minus lower bound, mean and largest
        over the plans), ``class_plan_gap_share_pct`` (the gaps against what
        the batteries are worth to the same plans), ``class_plans_bounded``,
        ``class_plans_not_bounded`` (plans whose sites had left their class's
        proportion), ``class_bound_seconds``.
    plan_bounds : bool
        Whether class plans are bounded (default True; the bounds take one or two
        dynamic programmes per plan, about as long as the class LP or longer).
    plan_method : {"auto", "lp", "dp"}
        How a plan is solved. ``"lp"``: the steering model's LP by ``solver``.
        ``"dp"``: for a model whose LP separates per battery (M0, and M2 with
        household meters, the default), one exact dynamic programme per
        battery (:mod:`ansen.models.storage_dp`): the LP's optimum without an
        LP solver, 140 batteries in tens of milliseconds; among equal optima
        it may choose another plan than the LP. ``"auto"`` (default): ``"dp"``
        where it applies (and ``directions="net"``), else ``"lp"``, and with
        ``plan_fleet="sites"`` the LP on battery classes where they are an exact
        aggregation (M3, and cost models with ``meter="community"``, whose terms
        touch the batteries only through sums: the same LP optimum, see
        :mod:`ansen.controller.planner`) and ``directions="net"``. Where the LP
        optimum charges and discharges a battery at once, the direction holds
        that follow act on classes, not sites, and the plans can then differ
        from per-site plans (either way). The method used is
        ``attrs["plan_method"]`` (``"dp"``, ``"lp"``, ``"lp on classes (exact LP)"``;
        ``"lp on classes"`` or ``"dp on classes"`` with ``plan_fleet="classes"``).
    realtime : {"setpoint", "meter"}
        What the real-time layer does with a plan (:mod:`ansen.controller.realtime`):
        apply its set points within the batteries' limits (``"setpoint"``,
        default: what the pilot's platform sent), or first move each set point so
        that the household's meter imports and exports no more than the plan
        expected (``"meter"``, :func:`ansen.controller.meter_rule`: surplus the
        forecast missed is stored, load it missed is not imported; a home
        energy-management system that sees its own meter can do this). Identical
        with perfect forecasts. ``attrs`` ``meter_rule_steps`` and
        ``meter_rule_kwh``: battery steps whose set point the rule moved, and the
        set-point energy moved [kWh] (before the battery's limits, which
        ``clipped_steps`` and ``clipped_kwh`` count after). Nearly every re-plan
        then solves (the batteries did other than planned): several times the time.
        Rule models (``none``, ``M1``) and fallback steps act on the actual
        exchange either way.
    transformer_guard : float, optional
        A real-time guard on each transformer (:func:`ansen.controller.guard_setpoints`):
        where a plan's set points would leave a transformer's load beyond this share (0
        to 10) of its rating (kVA, read as kW: unity power factor, as the metrics read it), its
        batteries move towards the limit as far as they can (after ``realtime="meter"``,
        which it overrides). It reads each step's measured transformer load, so it
        assumes a live measurement that the pilot did not have. It is greedy: it spends
        stored energy on the excess at hand, which can leave a later, larger one
        unguarded (:func:`ansen.controller.guard_setpoints`). 0 holds every transformer
        at zero exchange as far as its batteries can. Default None: no guard. It guards
        plans and the M1 rule (also as ``fallback``); ``"none"`` keeps its batteries idle,
        so a guard given to it is not used (``attrs["transformer_guard"]`` is then
        ``"none"``). ``attrs`` ``guard_steps``: battery steps whose power the guard
        changed; ``guard_kwh``: the changes' energy, the sum over battery steps of
        |ΔP|·Δt [kWh] (set-point energy: a plan that keeps asking for what the guard
        refuses counts in every step it asks, so it can exceed the batteries' capacity
        many times over). A
        battery that did other than planned makes the next re-plan solve.
    prices_published : str
        "HH:MM Zone": the local time and IANA time zone from which the next day's
        day-ahead prices are known (:data:`PRICES_PUBLISHED`, the Dutch market's
        12:45 in Amsterdam, by default; a village on another market gives its own).
        The market days are days of that zone. A plan sees no price that is not
        known at its decision (:mod:`ansen.controller.information`). Recorded in
        ``attrs["params"]`` when not the default.
    progress : bool or tqdm, optional
        Show a progress bar (default: for runs longer than 31 days), or an
        existing tqdm bar to advance by simulated days.
    **params
        Parameters of the steering model (see its ``defaults``).

    Returns
    -------
    xarray.Dataset
        Per step and household: ``battery_charge_kw`` (battery power, charge
        positive, discharge negative), ``soc_kwh``
        (end of step), ``load_kw`` (after behaviour), ``pv_kw``, ``net_kw``
        (import positive); per transformer ``transformer_kw`` and
        ``transformer_base_kw`` (no battery, no behaviour); ``mv_kw`` and
        ``mv_base_kw``; ``price_eur_per_kwh``; ``annual_net_kwh`` per year
        and household; battery and grid parameters; attrs with model,
        parameters, solver, forecast, information, package version and solve
        statistics.

    Raises
    ------
    ansen.models.SolveError
        An LP without optimum (the message names the model and the decision
        time), unless ``fallback`` is set.
    ValueError
        Unknown model, solver, forecast or parameter; infeasible parameters.
    ansen.data.DataError
        Invalid village or period not covered.
    """
    wall = time.perf_counter()
    if not isinstance(village, xr.Dataset) or "time" not in village.indexes:
        validate(village)  # raises with the reason
    tz = village.attrs.get("timezone", "Europe/Amsterdam")
    check_time_index(village.indexes["time"], "time", tz)
    a = check_arguments(model, step=village.indexes["time"][1] - village.indexes["time"][0],
                        solver=solver, forecast=forecast, data_lag=data_lag,
                        replan_minutes=replan_minutes, decision_hour=decision_hour,
                        horizon_hours=horizon_hours, soc_initial=soc_initial, soc_min=soc_min,
                        tariff=tariff, fallback=fallback, forecast_lag_days=forecast_lag_days,
                        seed=seed, directions=directions, plan_minutes=plan_minutes,
                        replan_lookahead_hours=replan_lookahead_hours,
                        plan_fleet=plan_fleet, plan_method=plan_method,
                        plan_bounds=plan_bounds, realtime=realtime,
                        transformer_guard=transformer_guard,
                        prices_published=prices_published, **params)
    if tariff is None and "recipe" in village.attrs:  # a derived village states its tariff
        from ansen.scenarios import tariff_of

        a["tariff"] = tariff_of(village)
    steer, info, block, dt = a["steer"], a["info"], a["block"], a["dt"]
    data_lag, replan_minutes = a["data_lag"], a["replan_minutes"]
    decision_hour, horizon_hours = a["decision_hour"], a["horizon_hours"]
    soc_initial, soc_min = a["soc_initial"], a["soc_min"]
    tariff, seed, plan_minutes = a["tariff"], a["seed"], a["plan_minutes"]
    forecast_lag_days = a["forecast_lag_days"]
    replan_lookahead_hours = a["replan_lookahead_hours"]
    transformer_guard = a["transformer_guard"]

    times_all = village.indexes["time"]
    i0 = 0 if start is None else int(times_all.searchsorted(_as_utc(start, village,
                                                                     "start")))
    i1 = len(times_all) if end is None else int(times_all.searchsorted(_as_utc(end, village,
                                                                                "end")))
    if (start is not None and end is not None
            and _as_utc(end, village) <= _as_utc(start, village)):
        raise ValueError(f"empty period: start {start} is not before end {end}")
    spd = round(24 / dt)
    # Work on the run and the history its forecasts can reach; the rest of the data
    # plays no part in the controller (only in the households' annual positions).
    history = round(info.lag / pd.Timedelta(hours=dt)) + spd * (2 + history_days(forecast))
    w0 = max(0, i0 - history)
    # (at least two steps: a period wholly before the data is then refused for its start,
    # not for a one-step window)
    run_village = validate(village.isel(time=slice(w0, max(i1, i0 + 2))), start=start, end=end)
    i0, i1 = i0 - w0, i1 - w0
    times = run_village.indexes["time"]
    local = local_time(run_village)
    if i1 <= i0:
        raise ValueError(f"empty period: start {start} is not before end {end}")
    if block > 1 and (local[i0].hour * 60 + local[i0].minute) % plan_minutes:
        raise ValueError(f"simulate: the run starts at {local[i0]:%H:%M}, not on a plan step of "
                         f"{plan_minutes} min")

    households = run_village["household"].values
    transformers = list(run_village["transformer"].values.astype(str))
    tr_of = np.array([transformers.index(str(t))
                      for t in run_village["household_transformer"].values])
    cap_all = run_village["battery_kwh"].values.astype(float)
    sites = np.flatnonzero((cap_all > 0) & (run_village["battery_kw"].values > 0))
    fleet = Fleet(cap_all[sites], run_village["battery_kw"].values.astype(float)[sites],
                  run_village["battery_eff"].values.astype(float)[sites],
                  soc_min * cap_all[sites])

    load = run_village["load_kw"].values.astype(float)
    pv = run_village["pv_kw"].values.astype(float)
    rest = run_village["transformer_rest_kw"].values.astype(float)
    mv_base = run_village["mv_kw"].values.astype(float)
    net_base = load - pv
    onehot = np.zeros((len(households), len(transformers)))
    onehot[np.arange(len(households)), tr_of] = 1.0
    transformer_base = net_base @ onehot + rest

    # the households' annual positions (net metering) from all of the village's data (and
    # the weather forecast's estimates of the PV): its load and PV must hold no NaN either
    check_finite(village, ("load_kw", "pv_kw"),
                 "simulate (the households' annual positions and the weather forecast read "
                 "all of the data, not only the run): ")
    net_full = village["load_kw"].values.astype(float) - village["pv_kw"].values.astype(float)
    local_full = local_time(village)
    position, netting_note = last_year_net_kwh(net_full, local_full, dt, local[i0])
    if (isinstance(steer, CommunityCost) and len(sites) and tariff.net_metering
            and "in no year of the data" in netting_note):  # their prices depend on it
        warnings.warn(
            f"simulate {steer.id}: the village has less than a year of data, so each "
            f"household's net consumption over the 365 days before the run ({netting_note}) "
            "is scaled up from the days there are; it decides who is a net importer or "
            "exporter and so the marginal prices under net metering "
            "(attrs['planned_positions'])", stacklevel=2)
    importer = position >= 0.0  # a connection with no net use (a neighbourhood battery): its
    # losses will make it a net importer
    years = local.year.to_numpy()
    if tariff.net_metering and (late := sorted({int(y) for y in years[i0:i1]
                                                if y > NET_METERING_LAST_YEAR})):
        warnings.warn(
            f"simulate {steer.id}: the run reaches {', '.join(map(str, late))}, but net "
            f"metering ends on 31 December {NET_METERING_LAST_YEAR} (Kamerstuk 36611) and the "
            "tariff still nets; give tariff=ansen.tariffs.Tariff.after_net_metering() (or "
            "derive the village's scenario 'tariff_2027') for the law as it will be",
            UserWarning, stacklevel=2)
    zone = village.attrs.get("timezone", "Europe/Amsterdam")
    if zone != "Europe/Amsterdam" and tariff.energy_tax == ENERGY_TAX:
        warnings.warn(
            f"simulate {steer.id}: the village's time zone is {zone}, but its households are "
            "steered and billed under Dutch rules: the tariff's energy tax is the Dutch one "
            "(ansen.tariffs.ENERGY_TAX), beside its net metering and VAT; give "
            "tariff=ansen.tariffs.Tariff(energy_tax=..., tax_reduction_eur_per_year=..., "
            "vat=..., ...) with the figures of the village's own country for its prices and "
            "bills (ansen compare --tariff FILE.toml on the command line, a tariff file as a "
            "sweep scenario's tariff; the grid measures "
            "of a rule model do not depend on it). A village in the Netherlands: set its "
            "timezone to 'Europe/Amsterdam'", UserWarning, stacklevel=2)
    prices_published = a["prices_published"]  # as checked (one spelling)
    if steer.uses_lp and prices_published == PRICES_PUBLISHED and \
            utc_offsets_h(zone) != utc_offsets_h("Europe/Amsterdam"):  # another clock
        warnings.warn(
            f"simulate {steer.id}: the village's clock ({zone}) is not Amsterdam's, but its "
            f"day-ahead prices are taken as known from {PRICES_PUBLISHED} (the Dutch "
            "market's publication) on market days of that zone; a village on another market "
            "gives prices_published='HH:MM Zone' of its own (ansen compare "
            "--prices-published)", UserWarning, stacklevel=2)
    prices = None  # the steering LPs' prices; the rules (none, M1) use none
    if steer.uses_lp:
        # the history before the run (what the forecasts read) is priced as the run's first
        # year, the step after a one-step run as its last: no plan covers them, and a run
        # needs the taxes of its own years only (what ansen compare and ansen sweep check)
        priced = years.copy()
        priced[:i0], priced[i1:] = years[i0], years[i1 - 1]
        cimp, cexp = tariff.marginal_prices(run_village["price_eur_per_kwh"].values, priced,
                                            importer[sites])
        community_importer = np.array([position[sites].sum() >= 0.0])
        comm_imp, comm_exp = tariff.marginal_prices(run_village["price_eur_per_kwh"].values,
                                                    priced, community_importer)
        prices = Prices(cimp, cexp, comm_imp[:, 0], comm_exp[:, 0])

    known = info.bind(times)
    cap_steps = round(float(horizon_hours) / dt) if horizon_hours is not None else None
    points = _schedule(local, known, i0, i1, decision_hour,
                       replan_minutes if steer.uses_lp else None, cap_steps)
    window_starts = np.array(sorted({ws for _, ws, _ in points}))
    n_h = max(-(-(we - ws) // block) for _, ws, we in points)  # LP steps of the longest window

    forecasts = make_forecasts(forecast, village, w0, run_village, known, sites,
                               transformer_base, mv_base, seed=seed, start=w0 + i0)

    # behaviour (M6): decided per local day, applied to the actual load
    load_run = load
    behaviour = None
    if steer.behaviour:
        fleet_scope = steer.params["scope"] == "community"
        scope = sites if fleet_scope else np.arange(len(households))
        zero = np.zeros_like(load)
        ev = run_village["ev_kw"].values if "ev_kw" in run_village else zero
        hp = run_village["heat_pump_kw"].values if "heat_pump_kw" in run_village else zero
        behaviour = _Behaviour(steer, local, load[:, scope], ev[:, scope], hp[:, scope],
                               transformer_base, scope, fleet_scope, tr_of[scope], forecasts,
                               window_starts, i0, i1, dt)
        # the daily code red / green messages are forecast too: each that read past its
        # cut-off counts as a warm-up decision
        load_run = load.copy()
        load_run[i0:i1, scope] = behaviour.apply(load[i0:i1, scope],
                                                 behaviour.flexible[i0:i1], i0)

    planner = None
    build_start = time.perf_counter()
    if steer.uses_lp and len(sites):
        ctx = Context(n_steps=n_h, dt_h=dt * block, capacity_kwh=fleet.capacity,
                      power_kw=fleet.power,
                      efficiency=fleet.efficiency, soc_min_kwh=fleet.soc_min,
                      site_transformer=tr_of[sites],
                      transformer_kva=run_village["transformer_kva"].values.astype(float),
                      sites=tuple(households[sites]))
        planner = Planner(steer, ctx, solver, forecasts, prices, behaviour=behaviour,
                          sites=sites, site_transformer=tr_of[sites], directions=directions,
                          block=block, lookahead=None if replan_lookahead_hours is None else
                          max(1, round(replan_lookahead_hours / (dt * block))),
                          fleet=plan_fleet, method=plan_method, bounds=plan_bounds)
    build_seconds = time.perf_counter() - build_start
    # what solves the plans: the LP solver, or none where a dynamic programme does
    solved_by = ("none (dynamic programme)" if planner is not None and planner.method == "dp"
                 else solver)
    if (planner is not None and planner.ctx.n_sites < len(sites) and steer.site_prices
            and isinstance(steer, CommunityCost) and not tariff.net_metering):
        warnings.warn(
            f"{steer.id} with plan_fleet='classes' and a tariff without net metering: the "
            "class meter nets the households' import and export, which this tariff prices "
            "far apart, so class plans can differ widely from per-site plans ("
            + ("this run's attrs class_plan_gap_mean_eur and class_plan_gap_share_pct bound "
               "what its plans give away; " if not steer.separable else "")
            + "on the shipped village with 140 batteries M0's MV peak change and saving "
            "differ widely; benchmarks/RESULTS.md)",
            UserWarning, stacklevel=2)
    fallback_model = get_model(fallback) if fallback else None
    rule_model = steer if not steer.uses_lp else get_model("none")

    n_run = i1 - i0
    battery = np.zeros((n_run, len(households)))
    soc_out = np.zeros((n_run, len(households)))
    soc = soc_initial * fleet.capacity
    soc_ws = soc.copy()
    fallbacks = []
    clipped, clipped_kwh = 0, 0.0
    moved, moved_kwh = 0, 0.0  # set points moved by the meter rule
    guarded, guarded_kwh = 0, 0.0  # and by the transformer guard
    if transformer_guard is not None:  # each transformer's measured load without batteries
        guard_base = (load_run - pv) @ onehot + rest
        guard_limit = transformer_guard * run_village["transformer_kva"].values.astype(float)
    own_bar = progress is None or progress is True
    bar = progress if not isinstance(progress, bool) and progress is not None else None
    if own_bar:
        from tqdm.auto import tqdm

        how = "dp" if planner is not None and planner.method == "dp" else solver
        bar = tqdm(total=round(n_run / spd, 2), desc=f"{steer.id} {how}", unit="day",
                   disable=(progress is None and n_run <= 31 * spd))
    # decisions whose forecasts read past their cut-off (M6's day messages first)
    warmup_at: list[int] = list(behaviour.warmup_days) if behaviour is not None else []
    # decisions whose forecasts reach before the data's start (M6's day messages first)
    padded_at: list[int] = list(behaviour.padded_days) if behaviour is not None else []
    for k, (t, ws, we) in enumerate(points):
        t_next = points[k + 1][0] if k + 1 < len(points) else i1
        if t == ws:
            soc_ws = soc.copy()
        reads_before = forecasts.warmup
        padded_before = getattr(forecasts, "padded", 0)
        setpoint = None
        if planner is not None:
            try:
                setpoint = planner.plan(ws, we, t, soc_ws, battery[ws - i0:t - i0][:, sites],
                                        steps=t_next - t, soc_now=soc)[: t_next - t]
            except (SolveError, ValueError) as exc:
                when = local[t].strftime("%Y-%m-%d %H:%M %Z")
                if fallback_model is None:
                    raise SolveError(
                        f"model {steer.id} ({solver}): no optimum for the decision at {when}: "
                        f"{exc}"
                    ) from exc
                fallbacks.append(f"{when}: {exc}")
        change = None  # what the transformer guard added to the batteries' power [kW]
        if setpoint is None:
            rule = fallback_model if planner is not None else rule_model
            actual_net = load_run[t:t_next, sites] - pv[t:t_next, sites]
            if transformer_guard is None or rule.id == "none":  # "none": batteries idle
                power, socs = apply_rule(rule.rule, actual_net, soc, fleet, dt)
            else:
                power, socs, change = apply_rule_guarded(
                    rule.rule, actual_net, soc, fleet, dt, guard_base[t:t_next],
                    tr_of[sites], guard_limit)
        else:
            if realtime == "meter":
                planned = setpoint
                setpoint = meter_rule(planned, planner.forecast_net[t - ws:t_next - ws],
                                      load_run[t:t_next, sites] - pv[t:t_next, sites])
                held = np.abs(setpoint - planned)
                moved += int((held > 1e-6).sum())
                moved_kwh += float(held.sum() * dt)
            if transformer_guard is None:
                power, socs = apply_setpoints(setpoint, soc, fleet.capacity, fleet.power,
                                              fleet.efficiency, fleet.soc_min, dt)
                off = np.abs(power - setpoint)
            else:
                power, socs, change = guard_setpoints(setpoint, soc, fleet, dt,
                                                      guard_base[t:t_next], tr_of[sites],
                                                      guard_limit)
                off = np.abs(power - change - setpoint)
            clipped += int((off > 1e-6).sum())
            clipped_kwh += float(off.sum() * dt)
        if change is not None:
            guarded += int((np.abs(change) > 1e-6).sum())
            guarded_kwh += float(np.abs(change).sum() * dt)
        if len(socs):
            soc = socs[-1]
        battery[t - i0:t_next - i0, sites] = power
        soc_out[t - i0:t_next - i0, sites] = socs
        if forecasts.warmup > reads_before:
            warmup_at.append(t)
        if getattr(forecasts, "padded", 0) > padded_before:
            padded_at.append(t)
        if bar is not None:
            bar.update(round((t_next - t) / spd, 4))
    if own_bar and bar is not None:
        bar.close()
    n_decisions = len(points) + (behaviour.n_messages if behaviour is not None else 0)
    fit_warmup = bool(getattr(forecasts, "fit_warmup", False)) and planner is not None
    # the first start whose forecasts read neither past their cut-off nor before the data
    clean = local_full[0] + pd.Timedelta(days=history_days(forecast)) + pd.Timedelta(
        info.lag)
    span = (local_full[-1] - local_full[0]) / pd.Timedelta(days=1)
    if clean <= local_full[-1]:
        clean_text = f"Start the run on or after {clean:%Y-%m-%d %H:%M} for forecasts that never do"
    elif (forecast != "persistence"
          and local_full[0] + pd.Timedelta(days=1) + pd.Timedelta(info.lag) <= local_full[-1]):
        clean_text = (f"The data ({span:.1f} days) are shorter than that: no start avoids it; "
                      "a forecast of a shorter history (persistence: 1 day) does")
    else:  # even the shortest history is too long for these data
        clean_text = (f"The data ({span:.1f} days) are shorter than that: no start avoids it, "
                      f"as they are shorter than even 1 day of history (persistence) plus the "
                      f"data age ({_span(pd.Timedelta(info.lag))}); longer data do")
    if padded_at:
        first = local_full[0].strftime("%Y-%m-%d %H:%M %Z")
        warnings.warn(
            f"simulate {steer.id}: {len(padded_at)} of {n_decisions} decisions forecast with a "
            f"history ({history_days(forecast)} day(s) before the cut-off) that reaches "
            f"before the data's start ({first}), so the data's first day stands in for the "
            f"days before it (attrs['padded_decisions']). {clean_text}.", stacklevel=2)
    if fit_warmup:
        warnings.warn(
            f"simulate {steer.id}: the weather forecast fits its PV shares on the first "
            f"{FIT_DAYS} days of the data (all of them if fewer), which reach past the run's "
            "start (a warm-up that sees the future; attrs['forecast_model']). Start the run "
            f"{FIT_DAYS} days after the data for one that never does.", stacklevel=2)
    if warmup_at:
        last = local[max(warmup_at)].strftime("%Y-%m-%d %H:%M %Z")
        warnings.warn(
            f"simulate {steer.id}: {len(warmup_at)} of {n_decisions} decisions (the last at "
            f"{last}) forecast with data from after their cut-off: the run starts less than "
            f"the forecast's history ({history_days(forecast)} day(s)) plus the data age "
            f"({duration_text(pd.Timedelta(info.data_lag))}) after the data do, so the "
            "forecast borrows the first days of the data (a warm-up that sees the future; "
            f"attrs['warmup_decisions']). {clean_text}.", stacklevel=2)

    sl = slice(i0, i1)
    net = load_run[sl] - pv[sl] + battery
    transformer = net @ onehot + rest[sl]
    mv = mv_base[sl] + (load_run[sl] - load[sl]).sum(axis=1) + battery.sum(axis=1)
    full_slice = slice(w0 + i0, w0 + i1)
    annual = _annual_net(net_full, local_full, dt, full_slice, net, households)
    run_params = {
        "model": steer.params, "forecast": forecast, "data_lag": str(info.data_lag),
        "replan_minutes": replan_minutes, "decision_hour": decision_hour,
        "horizon_hours": horizon_hours, "soc_initial": soc_initial, "soc_min": soc_min,
        "fallback": fallback, "seed": seed, "plan_minutes": plan_minutes,
        "replan_lookahead_hours": replan_lookahead_hours, "plan_fleet": plan_fleet,
        "plan_method": plan_method, "directions": directions, "tariff": dict(tariff.__dict__),
    }
    if realtime != "setpoint":  # the default left out: the runs before it keep their keys
        run_params["realtime"] = realtime
    # likewise; and only where batteries act (not under "none", whose batteries stay idle)
    guard_used = transformer_guard is not None and steer.id != "none" and len(sites) > 0
    if guard_used:
        run_params["transformer_guard"] = transformer_guard
    if forecast_lag_days is not None:
        run_params["forecast_lag_days"] = forecast_lag_days
    if prices_published != PRICES_PUBLISHED:  # the default left out, as above
        run_params["prices_published"] = prices_published
    if plan_fleet == "classes":  # the class plans' bounds on or off
        run_params["plan_bounds"] = plan_bounds
    hh = ("time", "household")
    out = xr.Dataset(
        {
            "battery_charge_kw": (hh, battery),
            "soc_kwh": (hh, soc_out),
            "load_kw": (hh, load_run[sl]),
            "pv_kw": (hh, pv[sl]),
            "net_kw": (hh, net),
            "transformer_kw": (("time", "transformer"), transformer),
            "transformer_base_kw": (("time", "transformer"), transformer_base[sl]),
            "mv_kw": (("time",), mv),
            "mv_base_kw": (("time",), mv_base[sl]),
            "price_eur_per_kwh": (("time",), run_village["price_eur_per_kwh"].values[sl]),
            "annual_net_kwh": (("year", "household"), annual.to_numpy()),
            "last_year_net_kwh": (("household",), position),
            "battery_kwh": run_village["battery_kwh"],
            "battery_kw": run_village["battery_kw"],
            "battery_eff": run_village["battery_eff"],
            "household_transformer": run_village["household_transformer"],
            "transformer_kva": run_village["transformer_kva"],
        },
        coords={"time": times[sl].to_numpy(), "household": households,
                "transformer": transformers, "year": annual.index.to_numpy()},
        attrs={
            "model": steer.id,
            "model_name": steer.name,
            "solver": solved_by if steer.uses_lp else "none (rule)",
            "forecast": forecast if steer.uses_lp or steer.behaviour else "none (real time)",
            "data_lag": str(info.data_lag),
            "replan_minutes": replan_minutes if steer.uses_lp else "none (real time)",
            "params": json.dumps(run_params, default=str, sort_keys=True),
            "ansen_version": ansen.__version__,
            "village": village.attrs.get("name", "?"),
            "village_source": village.attrs.get("source", "?"),
            "timezone": tz,
            "start": str(local[i0]),
            "end": str(local[i1 - 1] + pd.Timedelta(hours=dt)),
            "decisions": len(points) if steer.uses_lp else 0,
            # M6's daily code red / green messages, forecast decisions too: the warm-up and
            # padded counts below are out of decisions plus messages
            "messages": behaviour.n_messages if behaviour is not None else 0,
            "windows": len(window_starts) if steer.uses_lp else 0,
            "solves": planner.runner.n_solves if planner else 0,
            "lp_batteries": planner.ctx.n_sites if planner else 0,
            "plan_method": planner.method_label if planner else "none",
            "split_shortfall_kwh": round(planner.split_shortfall_kwh, 6) if planner else 0.0,
            "replans_kept": planner.kept if planner else 0,
            "solve_seconds": round(planner.runner.solve_seconds, 3) if planner else 0.0,
            "build_seconds": round(build_seconds + (planner.runner.first_solve_seconds
                                                    if planner else 0.0), 3),
            "wall_seconds": round(time.perf_counter() - wall, 3),
            "objective_sum": float(np.sum(planner.objectives)) if planner else 0.0,
            "direction_mips": planner.runner.n_mip if planner else 0,
            "direction_held_steps": planner.direction_binaries if planner else 0,
            "direction_gap": round(planner.direction_gap, 6) if planner else 0.0,
            "clipped_steps": clipped,
            "clipped_kwh": round(clipped_kwh, 6),
            "realtime": realtime if planner is not None else "none (rule)",
            "meter_rule_steps": moved,
            "meter_rule_kwh": round(moved_kwh, 6),
            "transformer_guard": transformer_guard if guard_used else "none",
            "guard_steps": guarded,
            "guard_kwh": round(guarded_kwh, 6),
            "warmup_decisions": len(warmup_at),
            "padded_decisions": len(padded_at),
            # 1: the weather forecast's PV shares were fitted on days after the run's start
            "forecast_fit_warmup": int(fit_warmup),
            "forecast_model": json.dumps(forecasts.describe() if hasattr(forecasts, "describe")
                                         else {}),
            "fallbacks": json.dumps(fallbacks),
            "annual_net_estimated": json.dumps(annual.attrs["estimated"]),
            "planned_positions": f"365 days before the run: {netting_note}",
        },
    )
    if (planner is not None and planner.fleet == "classes"
            and planner.method_label == "lp on classes" and plan_bounds):
        # the class plans' certificate (ansen.controller.certificate): how far each plan can
        # be from the per-site optimum of its decision, in the per-site LP's own objective
        # [EUR over the plan's window]; windows overlap and re-plans cover one again, so the
        # gaps are given per plan (mean, largest) and as a share of what the batteries are
        # worth to the same plans, never as a sum over the run
        bounds = np.array(planner.class_bounds, dtype=float).reshape(-1, 3)
        lower, upper, idle = bounds.T
        some = len(bounds) > 0
        worth = float((idle - lower).sum())
        out.attrs.update({
            "class_plans_bounded": len(bounds),
            "class_plans_not_bounded": planner.not_bounded,
            "class_plan_gap_mean_eur": round(float((upper - lower).mean()), 6) if some
            else np.nan,
            "class_plan_gap_max_eur": round(float((upper - lower).max()), 6) if some else np.nan,
            "class_plan_gap_share_pct": (round(100.0 * float((upper - lower).sum()) / worth, 6)
                                         if some and worth > 0 else np.nan),
            "class_bound_seconds": round(planner.bound_seconds, 3),
        })
    units = {"battery_charge_kw": "kW", "soc_kwh": "kWh", "load_kw": "kW", "pv_kw": "kW",
             "net_kw": "kW", "transformer_kw": "kW", "transformer_base_kw": "kW",
             "mv_kw": "kW", "mv_base_kw": "kW", "price_eur_per_kwh": "EUR/kWh",
             "annual_net_kwh": "kWh", "last_year_net_kwh": "kWh", "battery_kwh": "kWh",
             "battery_kw": "kW", "battery_eff": "1", "transformer_kva": "kVA"}
    for name, unit in units.items():
        out[name].attrs["units"] = unit
    out["last_year_net_kwh"].attrs["description"] = (
        "net consumption in the 365 days before the run (the last annual statement) that the "
        "controller planned with: > 0 a net importer, <= 0 a net exporter (net metering)")
    return out

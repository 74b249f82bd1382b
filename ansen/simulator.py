"""The rolling-horizon simulator: forecast, solve, apply to the actual data.

At each decision time (by default 13:00 local, when the next day's day-ahead
prices are known, and once at the start of the run) the simulator

1. forecasts, for a horizon of ``horizon_hours`` (default 35 h: to the end of
   the next day), the household net exchange of the battery sites, the
   transformer loads and the MV feeder load, all *without* the fleet's
   batteries (the platform knows its batteries' own flows and removes them
   from the measurements), with the chosen :class:`ansen.forecast.Forecaster`;
   day-ahead prices in the horizon are taken as known; the horizon stops at
   the end of the run (the plan never counts on days after the experiment);
2. solves the steering model's LP (rule models skip this);
3. applies the schedule's battery powers up to the next decision to the
   *actual* data through a real-time layer that keeps every battery within
   its power limit and state-of-charge bounds; forecast error therefore shows
   in the results (e.g. a battery that is full earlier than planned).

Rule models (``none``, ``M1``) act in the real-time layer on the actual
exchange of each step. M6's behavioural shift is decided per local day from
the forecast made at the decision before the day and applied to the actual
load.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import xarray as xr

import ansen
from ansen.data.schema import _as_utc, check_time_index, local_time, step_hours, validate
from ansen.forecast import Forecaster
from ansen.models import Context, HorizonInputs, LPRunner, SolveError, get_model
from ansen.models.behaviour import code_slots, shift_load
from ansen.models.lp import BACKENDS
from ansen.tariffs import Tariff

__all__ = ["simulate", "apply_setpoints"]


def apply_setpoints(setpoint: np.ndarray, soc0: np.ndarray, capacity: np.ndarray,
                    power: np.ndarray, efficiency: np.ndarray, soc_min: np.ndarray,
                    dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The real-time layer: battery power within limits, and the state of charge.

    Parameters
    ----------
    setpoint : (n, B) requested battery power [kW], charge positive
    soc0 : (B,) state of charge before the first step [kWh]
    capacity, power, efficiency, soc_min : (B,) [kWh], [kW], [-], [kWh]
    dt : step length [h]

    Returns
    -------
    power : (n, B) applied battery power [kW], charge positive
    soc : (n, B) state of charge at the end of each step [kWh]

    Notes
    -----
    .. math::

        P_t = \\min(\\max(P^{set}_t, -\\bar P, -(E_{t-1} - \\underline E)\\eta/\\Delta t),
                   \\bar P, (\\bar E - E_{t-1})/(\\eta \\Delta t))

        E_t = E_{t-1} + \\eta P^+_t \\Delta t - P^-_t \\Delta t / \\eta
    """
    n = len(setpoint)
    out = np.empty_like(setpoint, dtype=float)
    socs = np.empty_like(setpoint, dtype=float)
    soc = np.asarray(soc0, dtype=float).copy()
    for i in range(n):
        room_charge = np.maximum(capacity - soc, 0.0) / (efficiency * dt)
        room_discharge = np.maximum(soc - soc_min, 0.0) * efficiency / dt
        p = np.clip(setpoint[i], -power, power)
        p = np.minimum(p, room_charge)
        p = np.maximum(p, -room_discharge)
        soc = soc + np.where(p > 0, p * efficiency * dt, p / efficiency * dt)
        soc = np.clip(soc, soc_min, capacity)  # remove rounding residue only
        out[i] = p
        socs[i] = soc
    return out, socs


def _decisions(local: pd.DatetimeIndex, i0: int, i1: int, hour: int) -> np.ndarray:
    hits = np.flatnonzero((local.hour == hour) & (local.minute == 0))
    hits = hits[(hits > i0) & (hits < i1)]
    return np.concatenate([[i0], hits, [i1]]).astype(int)


class _Behaviour:
    """M6's daily code red/green slots and the resulting load shift."""

    def __init__(self, model, local, load, ev, hp, transformer0, scope_idx, forecaster,
                 decisions, i0, i1, dt):
        p = model.params
        spd = round(24 / dt)
        self.red = np.zeros(len(local), dtype=bool)
        self.green = np.zeros(len(local), dtype=bool)
        self.day = np.full(len(local), -1)
        self.scope = scope_idx
        self.response = p["response"]
        self.flexible = p["flex_share"] * (load - ev - hp) + p["ev_flex_share"] * ev
        days = local[i0:i1].normalize()
        starts = i0 + np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], i1]
        total0 = transformer0.sum(axis=1)
        for d, (a, b) in enumerate(zip(starts, ends, strict=True)):
            made = decisions[decisions < a]
            t0 = int(made[-1]) if len(made) else i0  # the message is sent the day before
            fc = forecaster(total0, t0, b - t0)[a - t0:]
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


def simulate(village: xr.Dataset, model="M1", start=None, end=None, *, solver: str = "highs",
             forecast: str = "persistence", forecast_lag_days: int = 1, decision_hour: int = 13,
             horizon_hours: float = 35.0, soc_initial: float = 0.5, soc_min: float = 0.0,
             tariff: Tariff | None = None, fallback: str | None = None, progress=None,
             **params) -> xr.Dataset:
    """Run a steering model over a village in a rolling horizon.

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
    forecast : {"perfect", "persistence", "profile"}
    forecast_lag_days : int
        Age of the newest data the forecasts may use, in days (1 = fresh,
        7 = week-old as in the first M5 run).
    decision_hour : int
        Local hour of the daily decision (13: day-ahead prices known).
    horizon_hours : float
        Optimisation horizon from each decision [h].
    soc_initial, soc_min : float
        State of charge at the start and minimum reserve, as shares of capacity.
    tariff : Tariff, optional
        Prices of the cost models (default :class:`ansen.tariffs.Tariff`).
    fallback : str, optional
        A rule model (``"M1"`` or ``"none"``) used for a decision whose LP
        fails; each use is recorded in ``attrs["fallbacks"]``. Default: raise.
    progress : bool or tqdm, optional
        Show a progress bar (default: when the run has more than 31
        decisions), or an existing tqdm bar to advance (shared across runs).
    **params
        Parameters of the steering model (see its ``defaults``).

    Returns
    -------
    xarray.Dataset
        Per step and household: ``battery_kw`` (charge positive), ``soc_kwh``
        (end of step), ``load_kw`` (after behaviour), ``pv_kw``, ``net_kw``
        (import positive); per transformer ``transformer_kw`` and
        ``transformer_base_kw`` (no battery, no behaviour); ``mv_kw`` and
        ``mv_base_kw``; ``price_eur_per_kwh``; battery and grid parameters;
        attrs with model, parameters, solver, forecast, package version and
        solve statistics.

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
    check_time_index(village.indexes["time"], "time",
                     village.attrs.get("timezone", "Europe/Amsterdam"))
    steer = get_model(model, **params)
    if solver not in BACKENDS:
        raise ValueError(f"unknown solver {solver!r}; known: {', '.join(BACKENDS)}")
    if fallback is not None and fallback not in ("M1", "none"):
        raise ValueError(f"fallback must be a rule model ('M1' or 'none'), got {fallback!r}")
    if not 0.0 <= soc_min < 1.0:
        raise ValueError(f"infeasible parameters: soc_min must lie in [0, 1), got {soc_min}")
    if not soc_min <= soc_initial <= 1.0:
        raise ValueError(
            f"infeasible parameters: soc_initial {soc_initial} outside [soc_min={soc_min}, 1]"
        )
    if not 0 <= decision_hour <= 23:
        raise ValueError(f"decision_hour must lie in 0..23, got {decision_hour}")
    forecaster = Forecaster(forecast, forecast_lag_days)
    tariff = tariff or Tariff()

    times = village.indexes["time"]
    dt = step_hours(village)
    i0 = 0 if start is None else int(times.searchsorted(_as_utc(start, village)))
    i1 = len(times) if end is None else int(times.searchsorted(_as_utc(end, village)))
    if (start is not None and end is not None
            and _as_utc(end, village) <= _as_utc(start, village)):
        raise ValueError(f"empty period: start {start} is not before end {end}")
    # Work on the run and the history its forecasts can reach (persistence: lag + 1
    # days, profile: lag + 1 + 7 x weeks days); the rest of the data plays no part
    # and is neither validated nor copied.
    history = round((forecast_lag_days + 2 + 7 * forecaster.weeks) * 24 / dt)
    w0 = max(0, i0 - history)
    village = validate(village.isel(time=slice(w0, max(i1, i0 + 1))), start=start, end=end)
    i0, i1 = i0 - w0, i1 - w0
    times = village.indexes["time"]
    local = local_time(village)
    if i1 <= i0:
        raise ValueError(f"empty period: start {start} is not before end {end}")
    decisions = _decisions(local, i0, i1, decision_hour)
    n_h = round(horizon_hours / dt)
    longest = int(np.diff(decisions).max())
    if steer.uses_lp and n_h < longest:
        raise ValueError(
            f"horizon_hours={horizon_hours} is shorter than the longest time between decisions "
            f"({longest * dt:g} h)"
        )

    households = village["household"].values
    transformers = list(village["transformer"].values.astype(str))
    tr_of = np.array([transformers.index(str(t))
                      for t in village["household_transformer"].values])
    cap_all = village["battery_kwh"].values.astype(float)
    sites = np.flatnonzero((cap_all > 0) & (village["battery_kw"].values > 0))
    cap = cap_all[sites]
    pmax = village["battery_kw"].values.astype(float)[sites]
    eff = village["battery_eff"].values.astype(float)[sites]
    emin = soc_min * cap

    load = village["load_kw"].values.astype(float)
    pv = village["pv_kw"].values.astype(float)
    rest = village["transformer_rest_kw"].values.astype(float)
    mv_base = village["mv_kw"].values.astype(float)
    net_base = load - pv
    onehot = np.zeros((len(households), len(transformers)))
    onehot[np.arange(len(households)), tr_of] = 1.0
    transformer_base = net_base @ onehot + rest
    cimp, cexp = tariff.prices(village)

    # behaviour (M6): decided per local day, applied to the actual load
    load_run = load
    behaviour = None
    if steer.behaviour:
        scope = sites if steer.params["scope"] == "community" else np.arange(len(households))
        zero = np.zeros_like(load)
        ev = village["ev_kw"].values if "ev_kw" in village else zero
        hp = village["heat_pump_kw"].values if "heat_pump_kw" in village else zero
        behaviour = _Behaviour(steer, local, load[:, scope], ev[:, scope], hp[:, scope],
                               transformer_base, scope, forecaster, decisions, i0, i1, dt)
        load_run = load.copy()
        load_run[i0:i1, scope] = behaviour.apply(load[i0:i1, scope],
                                                  behaviour.flexible[i0:i1], i0)

    ctx = Context(n_steps=n_h, dt_h=dt, capacity_kwh=cap, power_kw=pmax, efficiency=eff,
                  soc_min_kwh=emin, site_transformer=tr_of[sites],
                  transformer_kva=village["transformer_kva"].values.astype(float),
                  sites=tuple(households[sites]),
                  symmetric_prices=bool(np.array_equal(cimp, cexp)))
    runner = lp = None
    build_start = time.perf_counter()
    if steer.uses_lp and len(sites):
        lp = steer.build(ctx)
        variables = [lp.charge[b, t] for b in range(len(sites)) for t in range(n_h)] + [
            lp.discharge[b, t] for b in range(len(sites)) for t in range(n_h)]
        runner = LPRunner(lp, variables, solver)
    build_seconds = time.perf_counter() - build_start
    fallback_model = get_model(fallback) if fallback else None

    n_run = i1 - i0
    battery = np.zeros((n_run, len(households)))
    soc_out = np.zeros((n_run, len(households)))
    soc = soc_initial * cap
    objectives, fallbacks = [], []
    own_bar = progress is None or progress is True
    bar = progress if not isinstance(progress, bool) and progress is not None else None
    if own_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(decisions) - 1, desc=f"{steer.id} {solver}", unit="day",
                   disable=(progress is None and len(decisions) <= 32))
    for k in range(len(decisions) - 1):
        t0, t1 = int(decisions[k]), int(decisions[k + 1])
        actual_net = load_run[t0:t1, sites] - pv[t0:t1, sites]
        if runner is not None:
            try:
                inputs = _horizon_inputs(forecaster, t0, n_h, i1, net_base[:, sites],
                                         transformer_base, mv_base, cimp, cexp, soc,
                                         behaviour, load, sites, tr_of)
                steer.set_inputs(lp, inputs)
                x, obj = runner.solve()
                x = x.reshape(2, len(sites), n_h)
                setpoint = (x[0] - x[1]).T[: t1 - t0]
                objectives.append(obj)
            except (SolveError, ValueError) as exc:
                when = local[t0].strftime("%Y-%m-%d %H:%M %Z")
                if fallback_model is None:
                    raise SolveError(
                        f"model {steer.id} ({solver}): no optimum for the decision at {when}: "
                        f"{exc}"
                    ) from exc
                fallbacks.append(f"{when}: {exc}")
                setpoint = None
        if runner is None or setpoint is None:
            rule = fallback_model if (runner is not None) else steer
            if steer.uses_lp and not len(sites):
                rule = get_model("none")
            power, socs = np.empty((t1 - t0, len(sites))), np.empty((t1 - t0, len(sites)))
            for i in range(t1 - t0):  # rules react to each step's actual exchange
                p, s = apply_setpoints(rule.rule(actual_net[i])[None, :], soc, cap, pmax, eff,
                                       emin, dt)
                power[i], socs[i] = p[0], s[0]
                soc = s[0]
        else:
            power, socs = apply_setpoints(setpoint, soc, cap, pmax, eff, emin, dt)
            soc = socs[-1]
        battery[t0 - i0:t1 - i0, sites] = power
        soc_out[t0 - i0:t1 - i0, sites] = socs
        if bar is not None:
            bar.update(1)
    if own_bar and bar is not None:
        bar.close()

    sl = slice(i0, i1)
    net = load_run[sl] - pv[sl] + battery
    transformer = net @ onehot + rest[sl]
    mv = mv_base[sl] + (load_run[sl] - load[sl]).sum(axis=1) + battery.sum(axis=1)
    run_params = {
        "model": steer.params, "forecast": forecast, "forecast_lag_days": forecast_lag_days,
        "decision_hour": decision_hour, "horizon_hours": horizon_hours,
        "soc_initial": soc_initial, "soc_min": soc_min, "fallback": fallback,
        "tariff": dict(tariff.__dict__),
    }
    hh = ("time", "household")
    out = xr.Dataset(
        {
            "battery_kw": (hh, battery),
            "soc_kwh": (hh, soc_out),
            "load_kw": (hh, load_run[sl]),
            "pv_kw": (hh, pv[sl]),
            "net_kw": (hh, net),
            "transformer_kw": (("time", "transformer"), transformer),
            "transformer_base_kw": (("time", "transformer"), transformer_base[sl]),
            "mv_kw": (("time",), mv),
            "mv_base_kw": (("time",), mv_base[sl]),
            "price_eur_per_kwh": (("time",), village["price_eur_per_kwh"].values[sl]),
            "battery_kwh": village["battery_kwh"],
            "battery_power_kw": village["battery_kw"],
            "battery_eff": village["battery_eff"],
            "household_transformer": village["household_transformer"],
            "transformer_kva": village["transformer_kva"],
        },
        coords={"time": times[sl].to_numpy(), "household": households,
                "transformer": transformers},
        attrs={
            "model": steer.id,
            "model_name": steer.name,
            "solver": solver if steer.uses_lp else "none (rule)",
            "forecast": forecast if steer.uses_lp or steer.behaviour else "none (real time)",
            "params": json.dumps(run_params, default=str, sort_keys=True),
            "ansen_version": ansen.__version__,
            "village": village.attrs.get("name", "?"),
            "village_source": village.attrs.get("source", "?"),
            "timezone": village.attrs.get("timezone", "Europe/Amsterdam"),
            "start": str(local[i0]),
            "end": str(local[i1 - 1] + pd.Timedelta(hours=dt)),
            "decisions": len(decisions) - 1,
            "solves": runner.n_solves if runner else 0,
            "solve_seconds": round(runner.solve_seconds, 3) if runner else 0.0,
            "build_seconds": round(build_seconds + (runner.first_solve_seconds if runner else 0.0),
                                   3),
            "wall_seconds": round(time.perf_counter() - wall, 3),
            "objective_sum": float(np.sum(objectives)) if objectives else 0.0,
            "fallbacks": json.dumps(fallbacks),
        },
    )
    units = {"battery_kw": "kW", "soc_kwh": "kWh", "load_kw": "kW", "pv_kw": "kW",
             "net_kw": "kW", "transformer_kw": "kW", "transformer_base_kw": "kW",
             "mv_kw": "kW", "mv_base_kw": "kW", "price_eur_per_kwh": "EUR/kWh"}
    for name, unit in units.items():
        out[name].attrs["units"] = unit
    return out


def _horizon_inputs(forecaster, t0, n, i1, net_sites, transformer_base, mv_base, cimp, cexp,
                    soc, behaviour, load, sites, tr_of) -> HorizonInputs:
    """Forecasts for the horizon starting at step ``t0``, cut at the run's end ``i1``."""
    nv = min(n, i1 - t0)
    net0 = forecaster(net_sites, t0, nv)
    tr0 = forecaster(transformer_base, t0, nv)
    mv0 = forecaster(mv_base, t0, nv)
    if behaviour is not None:
        scope = behaviour.scope
        fc_load = forecaster(load[:, scope], t0, nv)
        fc_flex = forecaster(behaviour.flexible, t0, nv)
        shift = behaviour.apply(fc_load, fc_flex, t0) - fc_load
        pos = {h: j for j, h in enumerate(sites)}
        for j, h in enumerate(scope):
            if h in pos:
                net0[:, pos[h]] += shift[:, j]
        np.add.at(tr0.T, tr_of[scope], shift.T)
        mv0 = mv0 + shift.sum(axis=1)

    def pad(x):
        return np.concatenate([x, np.zeros((n - nv, *x.shape[1:]))]) if nv < n else x

    return HorizonInputs(net0=pad(net0), transformer0=pad(tr0), mv0=pad(mv0),
                         import_price=pad(cimp[t0:t0 + nv]), export_price=pad(cexp[t0:t0 + nv]),
                         soc0=np.asarray(soc, dtype=float), n_valid=nv)

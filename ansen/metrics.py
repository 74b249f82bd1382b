"""The pilot's measures, each defined once: grid, cost, battery.

Every function takes runs of :func:`ansen.simulate` (``run`` with batteries
steered, ``baseline`` the same period under another model, usually ``M1`` or
``none``). :func:`compare` puts all of them in one row.

Notation: :math:`L^{mv}_t` MV feeder load, :math:`L^{tr}_{k,t}` transformer
load (import positive), :math:`\\Delta t` step length [h], weeks are local
calendar weeks (Monday to Sunday) with at least three days in the run.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import xarray as xr

from ansen.data.schema import HOURS_PER_MONTH, battery_sites, local_time, step_hours
from ansen.tariffs import Tariff, check_default_tariff, household_costs

__all__ = [
    "battery_use",
    "run_label",
    "compare",
    "cost_saving",
    "deferral_years",
    "grid_load",
    "extreme_peaks",
    "feed_in_kwh",
    "mv_peak_reduction",
    "self_consumption",
    "stored_change",
    "transformer_peaks",
    "variance_reduction",
    "weekly_mv_peak_reduction",
]

MIN_WEEK_DAYS = 3


def _check_pair(run: xr.Dataset, baseline: xr.Dataset) -> None:
    for name, ds in (("run", run), ("baseline", baseline)):
        if not isinstance(ds, xr.Dataset) or "model" not in ds.attrs or "battery_charge_kw" \
                not in ds:
            what = ("a village (no battery_charge_kw, no attrs['model'])"
                    if isinstance(ds, xr.Dataset) and "load_kw" in ds else type(ds).__name__)
            raise ValueError(f"{name} is not a run of ansen.simulate: got {what}")
    if run.sizes["time"] != baseline.sizes["time"] or not (
        run.indexes["time"] == baseline.indexes["time"]
    ).all():
        raise ValueError(
            f"run ({run.attrs.get('model')}) and baseline ({baseline.attrs.get('model')}) "
            "cover different periods; simulate both over the same start and end"
        )


def _weeks(run: xr.Dataset) -> pd.Index:
    local = local_time(run)
    return (local.normalize() - pd.to_timedelta(local.day_of_week, "D")).tz_localize(None)


def weekly_mv_peak_reduction(run: xr.Dataset, baseline: xr.Dataset) -> pd.Series:
    """MV peak reduction per week [%].

    .. math:: r_w = 100\\,\\Big(1 - \\frac{\\max_{t \\in w} |L^{mv,run}_t|}
                                     {\\max_{t \\in w} |L^{mv,base}_t|}\\Big)

    Weeks (local, Monday to Sunday) in which the run covers less than three
    days of local clock time are left out (a Friday to Sunday over the spring
    clock change counts, though it lasts 71 hours).
    """
    _check_pair(run, baseline)
    week = _weeks(run)
    frame = pd.DataFrame({"run": np.abs(run["mv_kw"].values),
                          "base": np.abs(baseline["mv_kw"].values)}, index=week)
    g = frame.groupby(level=0)
    clock = pd.Series(local_time(run).tz_localize(None), index=week)  # local clock time
    span = (clock.groupby(level=0).max() - clock.groupby(level=0).min()
            + pd.Timedelta(hours=step_hours(run)))
    full = span >= pd.Timedelta(days=MIN_WEEK_DAYS)
    peaks = g.max()[full]
    out = 100.0 * (1.0 - peaks["run"] / peaks["base"])
    out.index.name = "week"
    return out.rename("mv_peak_reduction_pct")


def mv_peak_reduction(run: xr.Dataset, baseline: xr.Dataset) -> dict:
    """Mean and best weekly MV peak reduction [%] (the report's 4.2 % and > 6 %)."""
    w = weekly_mv_peak_reduction(run, baseline)
    return {"mv_peak_reduction_mean_pct": float(w.mean()) if len(w) else np.nan,
            "mv_peak_reduction_best_week_pct": float(w.max()) if len(w) else np.nan,
            "weeks": len(w)}


def _battery_transformers(run: xr.Dataset) -> list:
    has = run["battery_kwh"] > 0
    return sorted(set(run["household_transformer"].values[has.values].astype(str)))


def variance_reduction(run: xr.Dataset, baseline: xr.Dataset) -> float:
    """Transformer load variance reduction [%] (the report's -27 % for M3).

    .. math:: 100\\,\\Big(1 - \\frac{\\sum_k \\mathrm{Var}_t(L^{tr,run}_{k,t})}
                                  {\\sum_k \\mathrm{Var}_t(L^{tr,base}_{k,t})}\\Big)

    over the transformers that carry battery sites. Positive = flatter. NaN
    when the baseline's load does not vary at all.
    """
    _check_pair(run, baseline)
    ks = _battery_transformers(run) or list(run["transformer"].values)
    v_run = float(run["transformer_kw"].sel(transformer=ks).var("time").sum())
    v_base = float(baseline["transformer_kw"].sel(transformer=ks).var("time").sum())
    return 100.0 * (1.0 - v_run / v_base) if v_base > 0 else np.nan


def transformer_peaks(run: xr.Dataset) -> dict:
    """Largest import and export load over the transformers with batteries.

    Returns
    -------
    dict
        ``transformer_import_peak_kw`` / ``_export_peak_kw``: the largest load
        of any of them [kW]; ``transformer_import_peak_pu`` / ``_export_peak_pu``:
        the largest load of any of them over its own rating [kW/kVA]. 0 where
        they never import, or never export. With transformers of different
        ratings the two can name different transformers: the kW figure is the
        largest flow, the per-unit one the transformer nearest its limit.
    """
    ks = _battery_transformers(run) or list(run["transformer"].values)
    tr = run["transformer_kw"].sel(transformer=ks)
    kva = run["transformer_kva"].sel(transformer=ks).astype(float)
    return {"transformer_import_peak_kw": max(0.0, float(tr.max())),
            "transformer_export_peak_kw": max(0.0, float(-tr.min())),
            "transformer_import_peak_pu": max(0.0, float((tr.max("time") / kva).max())),
            "transformer_export_peak_pu": max(0.0, float((-tr.min("time") / kva).max()))}


def feed_in_kwh(run: xr.Dataset) -> float:
    """LV feed-in energy: reverse flow through the transformers with batteries [kWh].

    .. math:: \\sum_{k,t} \\max(0, -L^{tr}_{k,t})\\,\\Delta t
    """
    ks = _battery_transformers(run) or list(run["transformer"].values)
    tr = run["transformer_kw"].sel(transformer=ks).values
    return float(np.maximum(-tr, 0.0).sum() * step_hours(run))


def extreme_peaks(run: xr.Dataset, baseline: xr.Dataset, quantile: float = 0.99) -> dict:
    """Exceedances of the baseline's high quantile of absolute load.

    For each transformer with batteries and for the MV feeder, the threshold
    is the ``quantile`` of :math:`|L^{base}|`; counted are the steps of the
    run above it and the energy above it [kWh]. The counts are in the data's
    steps (an hour above is four steps of 15-minute data, one of hourly data),
    and the threshold is the quantile of the data's own steps: compare counts
    between villages of one step length, or their ratio to the baseline's.
    """
    _check_pair(run, baseline)
    h = step_hours(run)
    ks = _battery_transformers(run) or list(run["transformer"].values)
    out = {}
    pairs = [("transformer", run["transformer_kw"].sel(transformer=ks).values,
              baseline["transformer_kw"].sel(transformer=ks).values),
             ("mv", run["mv_kw"].values[:, None], baseline["mv_kw"].values[:, None])]
    for name, r, b in pairs:
        thr = np.quantile(np.abs(b), quantile, axis=0)
        over_r = np.maximum(np.abs(r) - thr, 0.0)
        over_b = np.maximum(np.abs(b) - thr, 0.0)
        out[f"{name}_extreme_steps"] = int((over_r > 0).sum())
        out[f"baseline_{name}_extreme_steps"] = int((over_b > 0).sum())
        out[f"{name}_extreme_kwh"] = float(over_r.sum() * h)
        out[f"baseline_{name}_extreme_kwh"] = float(over_b.sum() * h)
    return out


def self_consumption(run: xr.Dataset) -> dict:
    r"""Self-consumption and self-sufficiency of the battery households [%].

    Per household and step, PV is used on site up to the load plus the battery's
    charging, and the load is covered on site up to the PV plus the battery's
    discharging (so energy the battery buys from or sells to the grid is not
    counted as self-consumed):

    .. math::

        SC = 100\,\frac{\sum \min(PV, L + P^+)}{\sum PV}, \quad
        SS = 100\,\frac{\sum \min(L, PV + P^-)}{\sum L}
    """
    s = battery_sites(run)
    pv = run["pv_kw"].values[:, s]
    load = run["load_kw"].values[:, s]
    p = run["battery_charge_kw"].values[:, s]
    used = np.minimum(pv, load + np.maximum(p, 0.0)).sum()
    covered = np.minimum(load, pv + np.maximum(-p, 0.0)).sum()
    return {"self_consumption_pct": 100.0 * used / pv.sum() if pv.sum() > 0 else np.nan,
            "self_sufficiency_pct": 100.0 * covered / load.sum() if load.sum() > 0 else np.nan}


def wear_rate(run: xr.Dataset) -> float:
    """Battery wear [EUR per kWh charged or discharged] of a run: its model's
    ``wear_eur_per_kwh``, else (rule models) the default
    :data:`ansen.models.cost.WEAR_EUR_PER_KWH`: the batteries wear whoever steers them."""
    import json

    from ansen.models.cost import WEAR_EUR_PER_KWH

    params = json.loads(run.attrs.get("params", "{}")).get("model", {})
    value = params.get("wear_eur_per_kwh")
    return float(WEAR_EUR_PER_KWH if value is None else value)


def battery_use(run: xr.Dataset) -> dict:
    """Battery throughput and wear of the battery households.

    ``throughput_kwh``: energy discharged [kWh]; ``equivalent_full_cycles``: that
    over the total capacity (per battery); ``wear_eur``: :func:`wear_rate`
    times the energy charged and discharged [EUR].
    """
    s = battery_sites(run)
    h = step_hours(run)
    p = run["battery_charge_kw"].values[:, s]
    dis = np.maximum(-p, 0.0).sum() * h
    moved = np.abs(p).sum() * h
    cap = run["battery_kwh"].values[s].sum()
    return {"throughput_kwh": float(dis),
            "equivalent_full_cycles": float(dis / cap) if cap > 0 else 0.0,
            "wear_eur": float(wear_rate(run) * moved)}


def stored_change(run: xr.Dataset) -> float:
    """Energy stored at the run's end less at its start, mean per battery household [kWh].

    The start is ``soc_initial`` (``attrs["params"]``) times each battery's
    capacity; the end, ``soc_kwh`` at the last step. The bills of
    :func:`cost_saving` do not value this energy: a run that ends with more in
    its batteries than it started with saved less on its bills than it could
    have, one that ends with less used a start the no-battery baseline did not
    get (docs/models.md, "What the bills do not count"). NaN without battery
    households or without ``soc_initial`` in the run's parameters.
    """
    s = battery_sites(run)
    return float(np.mean(_stored_kwh(run)[s])) if len(s) else np.nan


def grid_load(run: xr.Dataset, tariff: Tariff | None = None) -> dict:
    """The whole village's grid load and bills, whichever connections have batteries.

    Unlike the measures above (which look at the transformers with batteries
    and the battery households), these cover every transformer and every
    connection: what a grid operator and a village see when batteries spread.

    Returns
    -------
    dict
        ``grid_transformer_import_peak_pu`` / ``_export_peak_pu``: the largest
        import and export load of any transformer over its rating [kW/kVA], and
        ``grid_transformer_import_peak_at`` / ``_export_peak_at`` that
        transformer's id (text; "" where no transformer flows that way);
        ``grid_transformer_over_rating_h``: hours in which a transformer's
        load exceeds its rating (by more than :data:`OVER_RATING_TOLERANCE_KW`,
        so that a load held at the rating, as ``simulate(transformer_guard=1.0)``
        holds it, is not counted for its rounding), summed over the transformers [h];
        ``grid_transformer_variance_kw2``: variance of each transformer's
        load, summed [kW^2]; ``grid_mv_import_peak_kw`` / ``_export_peak_kw``:
        the MV feeder's largest import and export [kW] (0 where it never
        flows that way);
        ``village_energy_cost_eur_per_month``: every connection's energy bill
        (the tariff's per-step prices, net metering as the law has it; no
        fixed costs) summed, per month of the run [EUR/month].

    Notes
    -----
    The rating is read as kW at power factor 1 (the data have active power
    only); a transformer with reactive load reaches its kVA earlier.
    """
    kva = run["transformer_kva"].values.astype(float)
    tr = run["transformer_kw"].transpose("time", "transformer").values
    h = step_hours(run)
    mv = run["mv_kw"].values
    months = run.sizes["time"] * h / HOURS_PER_MONTH
    if tariff is None:
        check_default_tariff(run, "run")
    bills = household_costs(run, tariff or Tariff(), fixed=False).to_numpy().sum()
    imp, exp = tr.max(axis=0) / kva, -tr.min(axis=0) / kva
    ids = [str(k) for k in run["transformer"].values]

    def at(pu: np.ndarray) -> str:  # "" where no transformer ever flows that way
        return ids[int(np.argmax(pu))] if pu.max() > 0 else ""

    return {"grid_transformer_import_peak_pu": max(0.0, float(imp.max())),
            "grid_transformer_import_peak_at": at(imp),
            "grid_transformer_export_peak_pu": max(0.0, float(exp.max())),
            "grid_transformer_export_peak_at": at(exp),
            "grid_transformer_over_rating_h": float(
                (np.abs(tr) > kva + OVER_RATING_TOLERANCE_KW).sum() * h),
            "grid_transformer_variance_kw2": float(tr.var(axis=0).sum()),
            "grid_mv_import_peak_kw": max(0.0, float(mv.max())),
            "grid_mv_export_peak_kw": max(0.0, float(-mv.min())),
            "village_energy_cost_eur_per_month": float(bills / months)}


#: How far beyond its rating a transformer's load must be to count as over it [kW]: a
#: milliwatt, far below any measurement's resolution, above the sums' rounding.
OVER_RATING_TOLERANCE_KW = 1e-6

#: The figures of :func:`cost_saving`.
COST_SAVING_KEYS = (
    "energy_cost_eur_per_household_month", "baseline_energy_cost_eur_per_household_month",
    "saving_collective_pct", "saving_eur_per_household_month",
    "saving_min_eur_per_household_month", "saving_max_eur_per_household_month",
    "extra_wear_eur_per_household_month", "saving_after_wear_eur_per_household_month",
    "stored_value_eur_per_household_month", "saving_with_stored_eur_per_household_month")


def cost_saving(run: xr.Dataset, baseline: xr.Dataset, tariff: Tariff | None = None) -> dict:
    r"""Household energy cost of the battery households and the saving against a baseline.

    Cost per household and month :math:`C_{h,m}` by
    :func:`ansen.tariffs.household_costs` without fixed costs (they are the
    same in every model); per household the saving
    :math:`(C^{base}_h - C^{run}_h)/n_{months}` [EUR/month], of which the mean,
    the smallest and the largest are given (the report's unequal outcomes).

    The collective saving in percent is taken of the retail value of the
    households' consumption, :math:`V = \sum c^{imp} L \Delta t` (what their
    load would cost bought from the grid, incl. taxes; the same in every
    model): :math:`100\,\sum_h (C^{base}_h - C^{run}_h) / V`. The net energy
    cost is no good denominator: with net metering, homes with PV are paid for
    their feed-in and their net cost is near zero or negative, and under M1
    their purchases from the grid nearly vanish in summer. The report does not
    say which base its "almost 11 %" has. Months are counted as run steps /
    steps in an average month. The bills are the households' own (with net
    metering: the energy tax on their annual net consumption).

    ``extra_wear_eur_per_household_month``: the run's battery wear minus the
    baseline's (:func:`battery_use`), per battery household and month;
    ``saving_after_wear_eur_per_household_month`` subtracts it from the mean
    saving (the bills do not contain wear: the household pays it when the
    battery is replaced).

    ``stored_value_eur_per_household_month``: what the bills leave out, the
    energy in store at the end less at the start (:func:`stored_change`), the
    run's less the baseline's, valued as the planners value a kWh left at their
    window's end (:mod:`ansen.models.cost`): per household
    :math:`V_h = \max(0,\ \eta_h\,(\overline{c^{imp}_h} - \omega))` with
    :math:`\overline{c^{imp}_h}` its marginal import price over the run's last
    24 hours (with net metering: by its annual position before the run, as the
    planners take it), :math:`\omega` the run's wear rate (:func:`wear_rate`),
    :math:`\eta_h` its one-way efficiency; mean over the battery households,
    per month [EUR/month]. ``saving_with_stored_eur_per_household_month`` adds
    it to the mean saving. A judgement, not a bill: docs/models.md, "What the
    bills do not count". Runs planned with one community meter
    (``meter="community"``, whose planners value the end at the community's
    prices) are valued the same way, at each household's own prices: their bills
    are per household too. Both NaN for runs that lack ``soc_initial`` in their
    parameters or ``last_year_net_kwh`` (runs not made by :func:`ansen.simulate`).

    A village without battery sites has no battery household: every figure is NaN.
    """
    _check_pair(run, baseline)
    if tariff is None:
        check_default_tariff(run, "run")
        check_default_tariff(baseline, "baseline")
    tariff = tariff or Tariff()
    s = battery_sites(run)
    if not len(s):  # figures per battery household: a village without one has none
        return dict.fromkeys(COST_SAVING_KEYS, np.nan)
    cr = household_costs(run, tariff, fixed=False).iloc[:, s]
    cb = household_costs(baseline, tariff, fixed=False).iloc[:, s]
    months = run.sizes["time"] * step_hours(run) / HOURS_PER_MONTH
    per_hh = (cb.sum() - cr.sum()) / months
    value = float((run["load_kw"].values[:, s] * tariff.prices(run)[0][:, None]).sum()
                  * step_hours(run))
    wear = (battery_use(run)["wear_eur"] - battery_use(baseline)["wear_eur"]) / len(s) / months
    stored = float(np.mean((_stored_kwh(run)[s] - _stored_kwh(baseline)[s])
                           * _stored_value(run, tariff)[s])) / months
    return {
        "energy_cost_eur_per_household_month": float(cr.to_numpy().sum()) / len(s) / months,
        "baseline_energy_cost_eur_per_household_month":
            float(cb.to_numpy().sum()) / len(s) / months,
        "saving_collective_pct": 100.0 * float(per_hh.sum()) * months / value
        if value > 0 else np.nan,
        "saving_eur_per_household_month": float(per_hh.mean()),
        "saving_min_eur_per_household_month": float(per_hh.min()),
        "saving_max_eur_per_household_month": float(per_hh.max()),
        "extra_wear_eur_per_household_month": float(wear),
        "saving_after_wear_eur_per_household_month": float(per_hh.mean()) - float(wear),
        "stored_value_eur_per_household_month": stored,
        "saving_with_stored_eur_per_household_month": float(per_hh.mean()) + stored,
    }


def _stored_kwh(run: xr.Dataset) -> np.ndarray:
    """Energy in store at the run's end less at its start per household [kWh] (0 without a
    battery; NaN without ``soc_initial`` in the run's parameters)."""
    start = json.loads(run.attrs.get("params", "{}")).get("soc_initial")
    if start is None:
        return np.full(run.sizes["household"], np.nan)
    return run["soc_kwh"].values[-1] - float(start) * run["battery_kwh"].values


def _stored_value(run: xr.Dataset, tariff: Tariff) -> np.ndarray:
    """Worth of a kWh in store at the run's end per household [EUR/kWh], as the planners
    value a kWh left at their window's end (:func:`cost_saving`); NaN for a run that does
    not record its households' annual positions (not made by :func:`ansen.simulate`)."""
    if "last_year_net_kwh" not in run:
        return np.full(run.sizes["household"], np.nan)
    h = step_hours(run)
    last = slice(max(0, run.sizes["time"] - round(24 / h)), run.sizes["time"])
    years = local_time(run).year.to_numpy()[last]
    importer = run["last_year_net_kwh"].values >= 0.0  # as the simulator takes it
    imp, _ = tariff.marginal_prices(run["price_eur_per_kwh"].values[last], years, importer)
    eff = run["battery_eff"].values
    return np.maximum(0.0, eff * (imp.mean(axis=0) - wear_rate(run)))


def deferral_years(peak_reduction_pct: float, growth: float = 0.01) -> float:
    """Years by which a peak reduction defers grid reinforcement under load growth.

    With the peak growing by ``growth`` a year, a reduction :math:`r` keeps it
    below the present limit for :math:`n` more years,
    :math:`(1 + g)^n = 1 / (1 - r)`:

    .. math:: n = \\frac{\\ln(1 / (1 - r))}{\\ln(1 + g)}

    Examples: r = 5 %, g = 1 %/yr gives 5.2 years; g = 0.5 %/yr gives 10.3.
    """
    r = peak_reduction_pct / 100.0
    if r <= 0:
        return 0.0
    if r >= 1 or growth <= 0:
        return float("inf")
    return float(np.log(1.0 / (1.0 - r)) / np.log1p(growth))


def _default_tariff_params() -> dict:
    """The default Tariff as a run's ``params`` record it (JSON: year keys as text)."""
    return json.loads(json.dumps(dict(Tariff().__dict__), default=str, sort_keys=True))


def run_label(run: xr.Dataset) -> str:
    """A run's name in tables: its model, with the forecast and data age when not the defaults.

    E.g. ``"M5"``, ``"M5 (weather, 7D)"``, ``"M4 (shadow_eur_per_kwh=1.0)"``: the model
    parameters that differ from the model's defaults are named too, ``classes`` when
    the LP planned battery classes (``plan_fleet="classes"``), and ``lp`` or ``dp`` when
    ``plan_method`` was chosen instead of ``"auto"``, ``60-min plans`` with
    ``plan_minutes=60`` on finer data, ``re-plans every 15 min`` or ``no re-plans`` with
    ``replan_minutes`` other than 60, the tariff when not the default (``no net
    metering``, ``no net metering, feed-in 50 % of the day-ahead price``, ``own tariff``
    where only other terms differ), ``held meters`` with
    ``realtime="meter"``, ``guard 1 x rating`` with ``transformer_guard=1.0``. The
    data age is named when it is not real time (the run's own step: ``15min`` on the
    shipped village, ``1h`` on hourly data). Set ``attrs["label"]`` on a run to
    name it yourself. The controller's other settings are named as ``key=value`` where they
    differ from :func:`ansen.simulate`'s defaults (:data:`LABELLED_AS_SET`), e.g.
    ``"M0 (decision_hour=10, soc_initial=0.2)"``.
    """
    if run.attrs.get("label"):
        return str(run.attrs["label"])
    model = str(run.attrs.get("model", "?"))
    real_time = pd.Timedelta("15min")  # the data age of real time is the data's own step
    if "time" in run.indexes and len(run.indexes["time"]) > 1:
        real_time = run.indexes["time"][1] - run.indexes["time"][0]

    def same(x, default) -> bool:  # "60min", "1h" and "3600s" are one data age
        try:
            return pd.Timedelta(x) == pd.Timedelta(default)
        except (TypeError, ValueError):
            return str(x) == str(default)

    forecast, lag = run.attrs.get("forecast"), run.attrs.get("data_lag")
    extra = [str(forecast)] if forecast and forecast != "persistence" and not str(
        forecast).startswith("none") else []
    if lag and not str(lag).startswith("none") and not same(lag, real_time):
        extra.append(str(lag))
    try:
        run_params = json.loads(run.attrs.get("params", "{}"))
    except ValueError:
        run_params = {}
    if (isinstance(run_params, dict) and run_params.get("plan_fleet") == "classes"
            and run.attrs.get("lp_batteries", 0)):
        extra.append("classes")
    if (isinstance(run_params, dict) and run_params.get("plan_method") not in (None, "auto")
            and run.attrs.get("lp_batteries", 0)):
        extra.append(str(run_params["plan_method"]))  # "lp" or "dp", chosen by hand
    if isinstance(run_params, dict) and run.attrs.get("lp_batteries", 0):
        # the plan's step and re-planning, where not the defaults (the data's step; hourly)
        step = run_params.get("plan_minutes")
        if step is not None and not same(f"{step}min", real_time):
            extra.append(f"{step}-min plans")
        if "replan_minutes" in run_params and run_params["replan_minutes"] != 60:
            every = run_params["replan_minutes"]
            extra.append("no re-plans" if every is None else f"re-plans every {every} min")
    stated = run_params.get("tariff") if isinstance(run_params, dict) else None
    if isinstance(stated, dict) and stated != _default_tariff_params():
        # another tariff than the default (net metering as in 2024-25): its short name, and
        # "own tariff" where only other terms differ (margin, VAT, taxes, fixed charges)
        try:
            name = Tariff(**{k: stated[k] for k in ("net_metering", "feed_in_share",
                                                   "feed_in_fee_eur_per_kwh", "feed_in_vat")
                             if k in stated}).label
        except (KeyError, TypeError, ValueError):
            name = "net metering"
        extra.append("own tariff" if name == "net metering" else name)
    if run.attrs.get("realtime") == "meter":  # realtime="meter" on a run with plans (a rule
        extra.append("held meters")  # model's attrs say "none (rule)")
    guard = run.attrs.get("transformer_guard", "none")
    if not str(guard).startswith("none"):  # a share of the rating
        extra.append(f"guard {float(guard):g} x rating")
    if isinstance(run_params, dict):  # the controller's other settings, where not the defaults
        planned = bool(run.attrs.get("lp_batteries", 0))  # the plans' settings only with plans
        extra += [f"{k}={run_params[k]:g}" if isinstance(run_params[k], float)
                  else f"{k}={run_params[k]}" for k, default in _controller_defaults().items()
                  if k in run_params and run_params[k] != default
                  and (planned or k in ("soc_initial", "soc_min"))]
    try:
        from ansen.models import MODELS

        defaults = MODELS[model].defaults
        params = run_params.get("model", {})
    except (KeyError, ValueError, AttributeError):
        defaults, params = {}, {}
    extra += [f"{k}={v}" for k, v in sorted(params.items())
              if k in defaults and v != defaults[k]]
    return f"{model} ({', '.join(extra)})" if extra else model


#: Keywords of :func:`ansen.simulate` that :func:`run_label` names as ``key=value`` when a
#: run's ``attrs["params"]`` holds another value than the default (the others have words);
#: all but the state-of-charge shares only for runs with plans.
LABELLED_AS_SET = ("decision_hour", "horizon_hours", "soc_initial", "soc_min",
                   "replan_lookahead_hours", "directions", "fallback", "forecast_lag_days",
                   "seed")


@functools.cache
def _controller_defaults() -> dict:
    import inspect

    from ansen.simulator import simulate

    signature = inspect.signature(simulate).parameters
    return {k: signature[k].default for k in LABELLED_AS_SET}


def compare(run: xr.Dataset, baseline: xr.Dataset, *, tariff: Tariff | None = None,
            growth: float = 0.01, quantile: float = 0.99, label: str | None = None
            ) -> pd.DataFrame:
    """All measures of ``run`` against ``baseline`` in one row.

    Parameters
    ----------
    run, baseline : xarray.Dataset
        Runs of :func:`ansen.simulate` over the same period.
    tariff : Tariff, optional
        For the costs. Default :class:`ansen.tariffs.Tariff`, refused (ValueError)
        when the run or the baseline was simulated under another tariff
        (``attrs["params"]``): give the one they ran under.
    growth : float
        Annual peak-load growth for the reinforcement deferral (default 1 %).
    quantile : float
        Baseline quantile that defines extreme peaks.
    label : str, optional
        Name of the row (default :func:`run_label`: distinct for variants of
        one model that differ in forecast or data age).

    Returns
    -------
    pandas.DataFrame
        One row, indexed by ``label`` (index name ``run``); columns ``model``,
        ``baseline``, ``start``, ``end`` and every measure, each name ending in
        its unit (``_pct``, ``_kw``, ``_kwh``, ``_steps``, ``_eur``,
        ``_eur_per_household_month``, ``_cycles``, ``_weeks``, ``_years``,
        ``_pu`` (kW per kVA of rating), ``_h``, ``_kw2``, ``_eur_per_month``), but
        ``grid_transformer_import_peak_at`` / ``_export_peak_at``, which name a
        transformer (text; :func:`grid_load`); ``baseline_*`` columns give the
        baseline's value where a change is read better with it.
    """
    _check_pair(run, baseline)
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"compare: quantile must lie between 0 and 1 (0.99: the baseline's "
                         f"top 1 % of steps), got {quantile!r}")
    row: dict = {"model": run.attrs.get("model", "?"), "baseline": baseline.attrs.get("model", "?"),
                 "start": run.attrs.get("start"), "end": run.attrs.get("end")}
    mv = mv_peak_reduction(run, baseline)
    row.update({"mv_peak_reduction_mean_pct": mv["mv_peak_reduction_mean_pct"],
                "mv_peak_reduction_best_week_pct": mv["mv_peak_reduction_best_week_pct"],
                "mv_peak_reduction_weeks": mv["weeks"]})
    row["transformer_variance_reduction_pct"] = variance_reduction(run, baseline)
    tp, tpb = transformer_peaks(run), transformer_peaks(baseline)
    row.update(tp)
    row.update({f"baseline_{k}": v for k, v in tpb.items()})
    # each transformer against its own rating: with ratings that differ, the largest kW can
    # sit on a large transformer while a small one nears its limit
    for key in ("import", "export"):
        a, b = tp[f"transformer_{key}_peak_pu"], tpb[f"transformer_{key}_peak_pu"]
        row[f"transformer_{key}_peak_reduction_pct"] = 100.0 * (1 - a / b) if b > 0 else np.nan
    row["lv_feed_in_kwh"] = feed_in_kwh(run)
    row["baseline_lv_feed_in_kwh"] = feed_in_kwh(baseline)
    row.update(extreme_peaks(run, baseline, quantile))
    row.update(cost_saving(run, baseline, tariff))
    row.update(self_consumption(run))
    use = battery_use(run)
    row.update({"throughput_kwh": use["throughput_kwh"],
                "equivalent_full_cycles": use["equivalent_full_cycles"],
                "wear_eur": use["wear_eur"]})
    # what the bills leave out (stored_change): the run's and the baseline's
    row["stored_change_per_household_kwh"] = stored_change(run)
    row["baseline_stored_change_per_household_kwh"] = stored_change(baseline)
    row["mv_deferral_years"] = deferral_years(row["mv_peak_reduction_mean_pct"], growth)
    # the transformer is reinforced for its larger peak: feed-in in a PV-dense village
    binding = ("export" if tpb["transformer_export_peak_pu"] > tpb["transformer_import_peak_pu"]
               else "import")
    row["transformer_deferral_years"] = deferral_years(
        row[f"transformer_{binding}_peak_reduction_pct"], growth)
    village, village_base = grid_load(run, tariff), grid_load(baseline, tariff)
    row.update(village)
    row.update({f"baseline_{k}": v for k, v in village_base.items()})
    return pd.DataFrame([row], index=pd.Index([label or run_label(run)], name="run"))

"""``forecast="weather"``: PV from a day-ahead weather forecast, the rest from recent measurements.

A real controller buys a numerical weather prediction (NWP) of irradiance and
forecasts the rest of each series from recent measurements. This module
does the same with a *synthetic* NWP: the actual PV with an error drawn from
published error statistics, deterministic from a seed. That stand-in for a
weather service is the only part of a forecast that reads the target steps
(by construction, as ``perfect`` does); the measurements it combines with
are cut off as :class:`ansen.controller.Information` says. Every series is
split into a PV part and the rest:

- the battery sites: their own meters give load and PV separately, in real
  time (the fleet's inverters);
- transformers and the MV feeder: :math:`y_t = x_t - \\beta\\, s_t`, with
  :math:`s_t` the village's PV per kWp (the sites' PV, else all households')
  and :math:`\\beta` [kWp] the PV behind the series, *estimated* by least
  squares on the 28 days of grid data known at the run's start: the regression of
  :math:`y` on :math:`s` within each month and hour of day (so that the
  daily and seasonal shapes of the load do not enter :math:`\\beta`); the
  estimates are recorded in the run (``attrs["forecast_model"]``).

PV part: :math:`\\widehat{PV}_t = PV_t + P\\,C_t\\,(e_t - e_\\ell\\,\\varphi^{t-\\ell})`,
clipped to [0, 1.1] times the series' own clear-sky envelope, with
:math:`P` the installed kWp (of a site, or :math:`\\beta` of a grid series),
:math:`C_t` the clear-sky envelope of the village's PV per kWp (the highest
value at that time of day within +-15 days) and :math:`e_t` the NWP error in
units of the clear-sky index, from the newest run available at the decision
(:class:`ansen.controller.Information`: runs at 00/06/12/18 UTC, 4 h later).
:math:`e_\\ell` is the error at the last PV measurement known (real time for
the sites' inverters): the intraday correction, decaying with
:math:`\\varphi` per step. The error

.. math:: e_t = \\sigma_0\\, h(k_t)\\, m(L_t)\\, z_t

- :math:`z_t`: unit AR(1) noise over the run's targets, hourly
  autocorrelation 0.85 (assumption: an NWP misplaces cloud fields for hours),
  drawn anew for each NWP run from ``(seed, run time)``;
- :math:`h(k) = \\max(0.1, 2\\sqrt{k(1-k)})` of the actual clear-sky index
  :math:`k`: largest for broken clouds, small for clear and overcast skies
  (the error structure reported by the validations, e.g. "broken clouds most
  difficult"; the form is an assumption);
- :math:`m(L) = \\max(0.8, 1 + 0.1 (L - 24\\,h)/24\\,h)`: error growing 10 % per
  day of lead :math:`L` (assumption);
- :math:`\\sigma_0`: *calibrated* on the village so that the PV forecast
  24 h ahead (clipped to [0, 1.1] of the clear sky, no intraday correction)
  has a skill of 0.5 against day-ahead persistence over its daylight steps, the skill of the best NWP
  models in the comparison of Perez et al. (2013), Solar Energy 94:305-326,
  over 34 sites in North America and Europe ("the skill of the best forecast
  models is ~50 % when compared to persistence"). Unbiased: a post-processed
  service (assumption). As a check, not calibrated:
  :func:`ansen.forecast.evaluate` reports the PV error in % of the rated
  power, against 6.4-9.2 % for single PV systems 0-48 h ahead in Pelland et
  al. (2013), Progress in Photovoltaics 21:284-296.

Rest: :math:`\\hat x_t` = the mean of the same time of day over the last 3
days known (``data_lag`` for the grid series, real time for the sites), plus
the intraday correction :math:`(x_\\ell - \\hat x_\\ell)\\,\\psi^{t-\\ell}` from
the last measurement :math:`\\ell` (hourly persistence 0.8 of a load anomaly,
assumption): with real-time data it corrects the next hours, with
week-old data it has faded long before the target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SKILL_DAY_AHEAD", "WeatherForecasts", "pv_share"]

#: Skill of the NWP PV forecast against day-ahead persistence (Perez et al. 2013).
SKILL_DAY_AHEAD = 0.5
#: Hourly autocorrelation of the NWP error (assumption).
ERROR_AR_HOURLY = 0.85
#: Growth of the error per day of lead (assumption).
LEAD_GROWTH_PER_DAY = 0.10
#: Hourly persistence of a load (non-PV) anomaly for the intraday correction (assumption).
LOAD_AR_HOURLY = 0.8
#: Days averaged for the non-PV part.
LOAD_DAYS = 3
#: Half-width of the window of the clear-sky envelope [days].
ENVELOPE_DAYS = 15
#: Days of data before the run on which the PV shares are fitted.
FIT_DAYS = 28
#: Days ahead of its issue time covered by one NWP run's errors. The default horizon (35 h)
#: and the newest run (at most 10 h old) stay within them; a step further ahead (a
#: ``horizon_hours`` above about 62 h) repeats the error of the last one.
NWP_DAYS = 3


def _envelope(x: np.ndarray, spd: int) -> np.ndarray:
    """Clear-sky envelope: the largest value at each step of the day within +-15 days."""
    n = len(x)
    days = -(-n // spd)
    pad = np.full((days * spd, *x.shape[1:]), np.nan)
    pad[:n] = x
    grid = pad.reshape(days, spd, *x.shape[1:])
    out = np.empty_like(grid)
    for d in range(days):
        out[d] = np.nanmax(grid[max(0, d - ENVELOPE_DAYS):d + ENVELOPE_DAYS + 1], axis=0)
    return out.reshape(days * spd, *x.shape[1:])[:n]


def pv_share(y: np.ndarray, s: np.ndarray, local: pd.DatetimeIndex) -> np.ndarray:
    """PV behind each series [kWp]: minus the regression coefficient of ``y`` on ``s``.

    Both are demeaned within each (month, hour of day), so that only the
    day-to-day variation of the weather identifies :math:`\\beta` in
    :math:`y_t = x_t - \\beta s_t`. ``y`` (T,) or (T, K) [kW], ``s`` (T,) [kW/kWp].
    """
    y2 = np.asarray(y, dtype=float).reshape(len(s), -1)
    key = (local.month.to_numpy() * 100 + local.hour.to_numpy())
    groups = pd.Index(key)
    frame = pd.DataFrame(np.column_stack([s, y2]))
    demeaned = frame - frame.groupby(groups).transform("mean").to_numpy()
    sd = demeaned.iloc[:, 0].to_numpy()
    denom = float((sd * sd).sum())
    if denom <= 0:
        return np.zeros(y2.shape[1])
    beta = -(demeaned.iloc[:, 1:].to_numpy() * sd[:, None]).sum(axis=0) / denom
    return np.maximum(beta, 0.0)


class WeatherForecasts:
    """The planner's forecasts with a synthetic NWP (module docstring).

    Parameters
    ----------
    village : xarray.Dataset
        The whole village (for the clear-sky envelopes, the PV shares and the
        calibration of the error: properties of the village, not forecasts).
    w0 : int
        Index of the run's data (``run``) in ``village``.
    run : xarray.Dataset
        The run's slice of the village (run and history).
    known : ansen.controller.KnownData
    transformer, mv : (T, K), (T,) arrays of ``run`` without the fleet's batteries
    sites : indices of the battery sites
    seed : int
    start : int, optional
        Index of the run's first step in ``village`` (default ``w0``): the PV
        shares are fitted on the 28 days of data before it.
    """

    def __init__(self, village, w0, run, known, transformer, mv, sites, seed: int = 0,
                 start: int | None = None):
        from ansen.data.schema import local_time, step_hours

        self.known = known
        self.warmup = 0
        self.padded = 0  # load forecasts that read before the data (the first day stands in)
        self.seed = int(seed)
        dt = step_hours(run)
        self.spd = spd = round(24 / dt)
        self.phi = ERROR_AR_HOURLY ** dt
        self.psi = LOAD_AR_HOURLY ** dt
        self.times = run.indexes["time"]
        n = len(self.times)
        sl = slice(w0, w0 + n)
        pv_all = village["pv_kw"].values.astype(float)
        kwp = (village["pv_kwp"].values.astype(float) if "pv_kwp" in village
               else pv_all.max(axis=0))
        sites = np.asarray(sites, dtype=int)
        ref = sites if len(sites) and kwp[sites].sum() > 0 else np.arange(pv_all.shape[1])
        shape_all = pv_all[:, ref].sum(axis=1) / max(kwp[ref].sum(), 1e-9)
        env_all = _envelope(shape_all, spd)
        with np.errstate(invalid="ignore", divide="ignore"):
            k_all = np.where(env_all > 1e-3, shape_all / env_all, 0.0)
        self.k = np.clip(k_all[sl], 0.0, 1.0)
        self.shape, self.shape_env = shape_all[sl], env_all[sl]
        load = run["load_kw"].values.astype(float)
        pv = run["pv_kw"].values.astype(float)
        self.site_load, self.site_pv = load[:, sites], pv[:, sites]
        self.site_kwp = kwp[sites]
        self.site_env = _envelope(pv_all[:, sites], spd)[sl] if len(sites) else pv[:, sites]
        local_all = local_time(village)
        net_all = village["load_kw"].values - village["pv_kw"].values
        onehot = np.zeros((len(village["household"]), len(village["transformer"])))
        names = list(village["transformer"].values.astype(str))
        for h, name in enumerate(village["household_transformer"].values.astype(str)):
            onehot[h, names.index(name)] = 1.0
        tr_all = net_all @ onehot + village["transformer_rest_kw"].values
        # the PV shares from the FIT_DAYS of data before the run (at the start of the data:
        # its first FIT_DAYS, a warm-up that reads ahead, said in describe())
        start = w0 if start is None else int(start)
        known_end = start - known.lag_steps + 1  # the grid data known at the run's start
        fit_end = max(known_end, min(FIT_DAYS * spd, len(village["time"])))
        self.fit_warmup = fit_end > known_end
        fit = slice(max(0, fit_end - FIT_DAYS * spd), fit_end)
        self.beta_tr = pv_share(tr_all[fit], shape_all[fit], local_all[fit])
        self.beta_mv = float(pv_share(village["mv_kw"].values[fit], shape_all[fit],
                                      local_all[fit])[0])
        self.transformer = transformer + self.beta_tr * self.shape[:, None]  # non-PV parts
        self.mv = mv + self.beta_mv * self.shape
        self.sigma0 = self._calibrate(shape_all, env_all, np.clip(k_all, 0, 1))
        self._errors: dict = {}

    # ------------------------------------------------------------------ NWP error
    def _gain(self, k: np.ndarray, lead_h: np.ndarray) -> np.ndarray:
        h = np.maximum(0.1, 2.0 * np.sqrt(np.clip(k * (1.0 - k), 0.0, None)))
        m = np.maximum(0.8, 1.0 + LEAD_GROWTH_PER_DAY * (lead_h - 24.0) / 24.0)
        return h * m

    def _calibrate(self, shape, env, k) -> float:
        """sigma0 for a skill of SKILL_DAY_AHEAD against day-ahead persistence.

        The RMSE of the clipped forecast at a lead of 24 h over the village's
        daylight steps, with errors drawn from a fixed calibration generator,
        is matched to SKILL_DAY_AHEAD times the RMSE of persistence (bisection).
        """
        spd = self.spd
        day = env[spd:] > 0.05 * env.max()
        if not day.any():
            return 0.0
        target = (1.0 - SKILL_DAY_AHEAD) * np.sqrt(np.mean((shape[spd:] - shape[:-spd])[day] ** 2))
        s, e = shape[spd:][day], env[spd:][day]
        g = self._gain(k[spd:][day], np.full(day.sum(), 24.0))
        z = np.random.default_rng(20130617).standard_normal(day.sum())

        def rmse(sigma):
            return np.sqrt(np.mean((np.clip(s + e * sigma * g * z, 0.0, 1.1 * e) - s) ** 2))

        lo, hi = 0.0, 5.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if rmse(mid) < target else (lo, mid)
        return 0.5 * (lo + hi)

    def _z(self, issue: pd.Timestamp) -> tuple[int, np.ndarray]:
        """Unit AR(1) noise of one NWP run on the steps from its issue time on.

        Always NWP_DAYS days of steps, drawn from ``(seed, issue hour)``: a run
        issued near the end of a simulation has the same errors as in a longer
        simulation (the steps after the simulation's end are never read).
        """
        cached = self._errors.get(issue)
        if cached is None:
            first = int(self.times.searchsorted(issue))
            count = NWP_DAYS * self.spd
            hours = int(issue.value // 3_600_000_000_000)
            rng = np.random.default_rng([self.seed, hours])
            u = rng.standard_normal(count)
            prev = rng.standard_normal()  # stationary start
            z = np.empty(count)
            a = np.sqrt(1.0 - self.phi ** 2)
            for i in range(count):
                prev = self.phi * prev + a * u[i]
                z[i] = prev
            cached = self._errors[issue] = (first, z)
            if len(self._errors) > 16:
                self._errors.pop(next(iter(self._errors)))
        return cached

    def error(self, t0: int, n: int, now: int) -> np.ndarray:
        """NWP error of the clear-sky index for steps t0..t0+n-1 from the run known at ``now``."""
        issue = self.known.nwp_issue(now)
        first, z = self._z(issue)
        idx = np.arange(t0, t0 + n)
        zz = z[np.clip(idx - first, 0, len(z) - 1)]
        lead = (self.times[np.minimum(idx, len(self.times) - 1)] - issue) / pd.Timedelta(hours=1)
        return self.sigma0 * self._gain(self.k[np.minimum(idx, len(self.k) - 1)],
                                        np.asarray(lead, dtype=float)) * zz

    # ------------------------------------------------------------------ parts
    def _pv_error(self, t0: int, n: int, now: int, cutoff: int) -> np.ndarray:
        """NWP error with the intraday correction from the last PV measurement before cutoff."""
        e = self.error(t0, n, now)
        last = cutoff - 1
        if 0 <= last < len(self.k) and self.shape_env[last] > 1e-3:
            e_last = self.error(last, 1, now)[0]
            gap = np.arange(t0, t0 + n) - last
            e = e - e_last * np.where(gap > 0, self.phi ** np.maximum(gap, 0), 0.0)
        return e

    def _rest(self, x: np.ndarray, t0: int, n: int, cutoff: int) -> np.ndarray:
        """Mean of the same time of day over the last LOAD_DAYS known days, with the
        intraday correction from the last known step."""
        spd = self.spd

        def mean_days(targets, used):
            k = np.maximum(1, -((cutoff - targets - 1) // spd))
            src = targets[:, None] - (k[:, None] + np.arange(LOAD_DAYS)) * spd
            if (src[used] < 0).any():  # counted where the mean is used, not for known steps
                self.padded += 1
            src = np.where(src < 0, src % spd, src)
            if (src >= cutoff).any():
                self.warmup += 1
            return x[np.minimum(src, len(x) - 1)].mean(axis=1)

        target = np.arange(t0, t0 + n)
        known = target < cutoff
        out = mean_days(target, ~known)
        out[known] = x[target[known]]
        last = cutoff - 1
        if last >= 0:
            anomaly = x[last] - mean_days(np.array([last]), np.array([True]))[0]
            gap = target - last
            weight = np.where(gap > 0, self.psi ** np.maximum(gap, 0), 0.0)
            out = out + (weight[:, None] * anomaly if x.ndim == 2 else weight * anomaly)
        return out

    # ------------------------------------------------------------------ planner API
    def series(self, x: np.ndarray, t0: int, n: int, cutoff: int) -> np.ndarray:
        """A series without PV (M6's load): the 'rest' forecast."""
        return self._rest(np.asarray(x, dtype=float), t0, n, cutoff)

    def site_pv_forecast(self, t0: int, n: int, now: int, e: np.ndarray | None = None):
        """The battery sites' PV [kW] (n, B) for steps t0..t0+n-1 at decision step ``now``."""
        own = self.known.own_cutoff(now)
        target = np.arange(t0, t0 + n)
        if e is None:
            e = self._pv_error(t0, n, now, own)
        future = target >= own
        pv = self.site_pv[target].copy()
        err = self.shape_env[target][future, None] * self.site_kwp * e[future, None]
        pv[future] = np.clip(pv[future] + err, 0.0, 1.1 * self.site_env[target][future])
        return pv

    def horizon(self, t0: int, n: int, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(net0, transformer0, mv0) for steps t0..t0+n-1 at decision step ``now``."""
        own, grid = self.known.own_cutoff(now), self.known.grid_cutoff(now)
        target = np.arange(t0, t0 + n)
        e = self._pv_error(t0, n, now, own)  # the sites' inverters measure PV in real time
        future = target >= own
        net0 = self._rest(self.site_load, t0, n, own) - self.site_pv_forecast(t0, n, now, e)
        shape = self.shape[target].copy()
        shape[future] = np.clip(shape[future] + self.shape_env[target][future] * e[future], 0.0,
                                1.1 * self.shape_env[target][future])
        tr = self._rest(self.transformer, t0, n, grid) - self.beta_tr * shape[:, None]
        mv = self._rest(self.mv, t0, n, grid) - self.beta_mv * shape
        return net0, tr, mv

    def describe(self) -> dict:
        """What the forecast estimated from the data (for the run's attrs)."""
        return {"pv_share_kwp": {"transformers": np.round(self.beta_tr, 2).tolist(),
                                 "mv": round(self.beta_mv, 2)},
                "pv_share_fitted_on": ("the first 28 days of data (the run starts earlier: "
                                       "a warm-up that reads ahead)" if self.fit_warmup
                                       else "the 28 days of grid data known at the start"),
                "nwp_sigma0": round(self.sigma0, 4), "seed": self.seed}

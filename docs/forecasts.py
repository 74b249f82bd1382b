"""Write docs/forecasts.md: the skill of every forecast on the shipped village.

    .venv/bin/python docs/forecasts.py          # about a minute on 2 cores

Every number of the page comes from :func:`ansen.forecast.evaluate` run here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import ansen.data
from ansen.forecast import evaluate
from ansen.io import atomic_path

START, END, EVERY = "2025-03-01", "2025-09-01", 3
LAGS = ("15min", "1D", "7D")
LEADS = ["0-1", "1-6", "6-12", "12-24", "24-36"]
STREAMS = ["sites_pv", "sites", "transformer T1", "transformer T2", "mv"]

HEAD = f"""# Forecast skill

Written by `.venv/bin/python docs/forecasts.py` with `ansen.forecast.evaluate` on the shipped
synthetic village, {START} to {END} (local dates), a forecast every {EVERY} hours for the next
36 hours, each knowing what the controller may know (`ansen.controller.Information`): the battery
sites' own meters in real time, the grid (transformers, MV feeder) with the data age given.

Streams: `sites_pv` the ten battery sites' PV (summed), `sites` their net exchange without
battery (load - PV), `transformer T1/T2` and `mv` the grid without the fleet's batteries.
Forecasts: `persistence` (the same time on the most recent known day), `profile` (the same time
of the same weekday over 4 weeks), `weather` (PV from a synthetic NWP whose error is calibrated to
a day-ahead skill of 0.5 against persistence, Perez et al. 2013, Solar Energy 94:305-326; the
rest from the last 3 known days with an intraday correction from the newest measurement;
`ansen/weather.py`). Skill = 1 - RMSE / RMSE of persistence with the same data age.

The weather forecast's PV error over daylight steps is 6-7 % of the installed kWp a day ahead:
next to the 6.4-9.2 % Pelland et al. (2013, Progress in Photovoltaics 21:284-296) report for single
PV systems 0-48 h ahead (a check; only the skill is calibrated).
"""


def _md(frame: pd.DataFrame, digits: int) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(["stream", "forecast", "data age"] + cols) + " |",
             "|" + "---|" * (3 + len(cols))]
    for (stream, kind, lag), row in frame.iterrows():
        vals = ["" if pd.isna(v) else f"{v:.{digits}f}" for v in row]
        lines.append(f"| {stream} | {kind} | {lag} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def main() -> Path:
    village = ansen.data.load_default()
    table = pd.concat([evaluate(village, START, END, data_lag=lag, every_hours=EVERY)
                       .assign(data_age=lag) for lag in LAGS], ignore_index=True)
    leads = table[table["lead_h"] != "next day"]
    index = ["stream", "forecast", "data_age"]
    order = {s: i for i, s in enumerate(STREAMS)}

    def pivot(values):
        p = leads.pivot_table(index=index, columns="lead_h", values=values)[LEADS]
        return p.sort_index(key=lambda x: x.map(order) if x.name == "stream" else x)

    rmse = pivot("rmse_kw")
    skill = pivot("skill")
    pv = pivot("rmse_pct_of_rating_daylight").loc[["sites_pv"]]
    peaks = (table[table["lead_h"] == "next day"]
             .set_index(index)[["peak_time_error_h", "peak_size_error_pct"]]
             .sort_index(key=lambda x: x.map(order) if x.name == "stream" else x))
    text = [HEAD, "## RMSE by lead time [kW] (lead in hours)", "", _md(rmse, 1), "",
            "## Skill against persistence with the same data age, by lead time", "",
            _md(skill, 2), "",
            "## PV error over daylight steps [% of the installed kWp]", "", _md(pv, 1), "",
            "## The next day's peak (forecast at 13:00 for the next local day)", "",
            "Mean absolute error of the hour of the day's largest absolute value [h], and "
            "mean error of its size [% of the actual].", "",
            _md(peaks.rename(columns={"peak_time_error_h": "peak time error [h]",
                                      "peak_size_error_pct": "peak size error [%]"}), 2), "",
            "Reading: persistence's error hardly depends on the data age (it repeats a day; "
            "older data repeat an older day), while a weather forecast takes the PV, which "
            "drives the feeder's peaks, from the weather service and the sites' own meters, so "
            "the grid data's age matters little to it either; the intraday correction makes "
            "the first hour markedly better when data are fresh (0-1 h). The freshness study "
            "(results/F01_freshness) shows what this means for M5.", ""]
    out = Path(__file__).with_name("forecasts.md")
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(text))
    return out


if __name__ == "__main__":
    print(f"wrote {main()}")

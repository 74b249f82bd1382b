"""Write docs/realtime.md: set points as planned against meters held to their plans.

    .venv/bin/python docs/realtime.py          # about three minutes on one core

Every number of the page comes from :func:`ansen.simulate` and :func:`ansen.metrics.compare`
run here, on the shipped village's ten battery sites.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import ansen
import ansen.data
from ansen.io import atomic_path
from ansen.metrics import compare
from ansen.tariffs import Tariff

WEEKS = {"winter": ("2025-01-13", "2025-01-20"), "spring": ("2025-04-07", "2025-04-14"),
         "summer": ("2025-06-02", "2025-06-09"), "autumn": ("2024-10-14", "2024-10-21")}
TARIFFS = {"net metering": Tariff(),
           "2027, feed-in at the day-ahead price": Tariff.after_net_metering(),
           "2027, feed-in at the legal minimum (50 %)":
               Tariff.after_net_metering(feed_in_share=0.5)}
FORECASTS = ("persistence", "weather")
MODELS = ("M0", "M3", "M4", "M5", "M4+M5")
REALTIME = ("setpoint", "meter")
MEASURES = {"saving_eur_per_household_month":
                "saving vs M1, energy costs [EUR/household/month]",
            "saving_after_wear_eur_per_household_month":
                "saving vs M1 after battery wear [EUR/household/month]",
            "mv_peak_reduction_mean_pct": "MV peak cut [%]",
            "transformer_variance_reduction_pct": "transformer variance cut [%]"}

HEAD = """# The real-time layer: set points as planned, or meters held to their plans

Written by `.venv/bin/python docs/realtime.py` on the shipped synthetic village (its ten battery
sites), one week per season, the default controller (hourly re-plans) with persistence and
weather forecasts, under today's net metering and the 2027 rules (no net metering; feed-in at the
day-ahead price or at the legal minimum of half of it; `ansen/tariffs.py`).

`realtime="setpoint"` (the default) applies each plan's battery power as planned, within the
battery's limits. `realtime="meter"` first moves it so that each household's meter imports and
exports no more than the plan expected (`ansen.controller.meter_rule`): surplus the forecast
missed is stored instead of exported, and the battery does not import to charge what the sun
was to provide. With a perfect forecast the two are the same (a test checks it).

Each figure is against M1 (the pilot's self-consumption rule, which needs no forecast) in the
same week under the same tariff; `meter - setpoint` is the difference the rule makes.
"""


def _run_all(village) -> pd.DataFrame:
    rows = []
    for season, (start, end) in WEEKS.items():
        for tariff_name, tariff in TARIFFS.items():
            kw = {"start": start, "end": end, "tariff": tariff, "progress": False}
            base = ansen.simulate(village, "M1", **kw)
            for forecast in FORECASTS:
                for model in MODELS:
                    for rt in REALTIME:
                        run = ansen.simulate(village, model, forecast=forecast, realtime=rt,
                                             **kw)
                        row = compare(run, base, tariff=tariff)[list(MEASURES)].iloc[0]
                        rows.append({"season": season, "tariff": tariff_name,
                                     "forecast": forecast, "model": model, "realtime": rt,
                                     **row.to_dict()})
            print(f"done {season}, {tariff_name}", flush=True)
    return pd.DataFrame(rows)


def _md(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    names = list(frame.index.names)
    lines = ["| " + " | ".join(names + cols) + " |", "|" + "---|" * (len(names) + len(cols))]
    for key, row in frame.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        lines.append("| " + " | ".join([str(k) for k in key]
                                       + [f"{v:.2f}" for v in row]) + " |")
    return "\n".join(lines)


def _wide(table: pd.DataFrame, measure: str, index: list[str]) -> pd.DataFrame:
    wide = table.pivot_table(index=index, columns="realtime", values=measure,
                             aggfunc="mean", sort=False)[list(REALTIME)]
    wide["meter - setpoint"] = wide["meter"] - wide["setpoint"]
    return wide


def main() -> Path:
    table = _run_all(ansen.data.load_default())
    mean_index = ["tariff", "forecast", "model"]
    text = [HEAD, "## Mean over the four seasons", ""]
    for measure, title in MEASURES.items():
        text += [f"### {title}", "", _md(_wide(table, measure, mean_index)), ""]
    text += ["## Each season: saving vs M1, energy costs [EUR/household/month]", "",
             _md(_wide(table, "saving_eur_per_household_month",
                       ["season", "tariff", "forecast", "model"])), ""]
    out = Path(__file__).with_name("realtime.md")
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(text))
    return out


if __name__ == "__main__":
    print(f"wrote {main()}")

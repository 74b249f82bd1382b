"""Write tests/data/example_export: a tiny folder of 'real' exports (run once, committed).

Three households (H1, H2 on T1, H3 on T2), 29-31 March 2025 in 15-minute
steps across the start of daylight saving time, local timestamps with UTC
offsets. The measured transformer and MV loads contain a battery at H1, and
the rest of each transformer is known by construction (T1: 5 kW, T2: 3 kW;
the MV feeder has 40 kW of other load), so a test can check that the reader
recovers them.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "example_export"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    t = pd.date_range("2025-03-29", "2025-03-31", freq="15min", tz="Europe/Amsterdam",
                      inclusive="left")
    stamps = [x.isoformat() for x in t]
    hour = (t.hour + t.minute / 60).to_numpy()
    sun = np.clip(np.sin((hour - 7) / 12 * np.pi), 0, None)
    load = pd.DataFrame({
        "H1": np.round(0.3 + 0.5 * (hour > 17) * (hour < 22), 3),
        "H2": np.round(0.25 + 0.2 * np.cos(hour / 24 * 2 * np.pi) ** 2, 3),
        "H3": np.round(0.4 + 0.1 * (hour > 7) * (hour < 9), 3),
    })
    pv = pd.DataFrame({"H1": np.round(3.0 * sun, 3), "H2": 0.0, "H3": np.round(2.0 * sun, 3)})
    battery = pd.DataFrame({"H1": np.where(sun > 0.5, 1.0, np.where(hour > 18, -0.8, 0.0)),
                            "H2": 0.0, "H3": 0.0})
    net = load - pv + battery
    trafo = pd.DataFrame({"T1": net["H1"] + net["H2"] + 5.0, "T2": net["H3"] + 3.0})
    mv = trafo.sum(axis=1) + 40.0
    for name, df in {"load": load, "pv": pv, "battery": battery, "transformer": trafo}.items():
        df.insert(0, "time", stamps)
        df.to_csv(OUT / f"{name}.csv", index=False, float_format="%.4f")
    pd.DataFrame({"time": stamps, "mv_kw": mv.round(4)}).to_csv(OUT / "mv.csv", index=False)
    th = t[::4]
    price = 0.08 + 0.05 * np.cos((th.hour.to_numpy() - 19) / 24 * 2 * np.pi) - 0.1 * sun[::4]
    pd.DataFrame({"time": [x.isoformat() for x in th],
                  "price_eur_per_mwh": np.round(1000 * price, 2)}).to_csv(
        OUT / "prices.csv", index=False)
    pd.DataFrame({
        "household": ["H1", "H2", "H3"], "transformer": ["T1", "T1", "T2"],
        "battery_kwh": [10.0, 0.0, 0.0], "battery_kw": [5.0, 0.0, 0.0],
        "battery_eff": [0.95, 1.0, 1.0], "pv_kwp": [3.5, 0.0, 2.4],
    }).to_csv(OUT / "sites.csv", index=False)
    pd.DataFrame({"transformer": ["T1", "T2"], "kva": [250.0, 160.0]}).to_csv(
        OUT / "transformers.csv", index=False)
    (OUT / "village.toml").write_text(
        '[village]\nname = "example export"\ntimezone = "Europe/Amsterdam"\n'
        'timestamps = "local"  # only used for timestamps without UTC offset\n'
        'latitude = 52.79\nlongitude = 6.38\nsource = "measured"\n'
        'licence = "CC0 (made-up test data)"\n'
    )


if __name__ == "__main__":
    main()

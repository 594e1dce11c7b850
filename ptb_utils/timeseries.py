"""Real time series for the early chapters, and the windowing every forecaster in the book uses.

The series ship with installed packages, so they load offline: yearly sunspot numbers,
Mauna Loa CO2, the Nile's yearly flow and the Pacific sea-surface temperatures behind El Niño
(all bundled with statsmodels), and monthly stock prices of five companies, 2000-2010
(bundled with vega_datasets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SeriesInfo:
    """What a series measures, for titles and axis labels."""

    title: str
    units: str
    frequency: str
    source: str


SERIES: dict[str, SeriesInfo] = {
    "sunspots": SeriesInfo("Yearly mean sunspot number", "sunspots", "yearly", "statsmodels"),
    "co2": SeriesInfo("Atmospheric CO2 at Mauna Loa", "ppm", "monthly", "statsmodels"),
    "nile": SeriesInfo("Annual flow of the Nile at Aswan", "10⁸ m³", "yearly", "statsmodels"),
    "elnino": SeriesInfo("Sea-surface temperature, El Niño region", "°C", "monthly", "statsmodels"),
}
STOCKS: tuple[str, ...] = ("AAPL", "AMZN", "GOOG", "IBM", "MSFT")
SERIES |= {
    s: SeriesInfo(f"{s} monthly closing price", "USD", "monthly", "vega_datasets") for s in STOCKS
}


def _statsmodels(name: str) -> pd.Series:
    import statsmodels.api as sm

    frame = getattr(sm.datasets, name).load_pandas().data
    if name == "sunspots":
        index = pd.to_datetime(frame["YEAR"].astype(int).astype(str), format="%Y")
        return pd.Series(frame["SUNACTIVITY"].to_numpy(float), index=index)
    if name == "nile":
        index = pd.to_datetime(frame["year"].astype(int).astype(str), format="%Y")
        return pd.Series(frame["volume"].to_numpy(float), index=index)
    if name == "co2":
        # weekly readings with gaps -> monthly means, gaps filled by linear interpolation
        return frame["co2"].resample("MS").mean().interpolate()
    # elnino: one row per year, one column per month
    months = frame.columns[1:]
    values = frame[months].to_numpy(float).ravel()
    start = f"{int(frame['YEAR'].iloc[0])}-01-01"
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"))


def load_series(name: str) -> pd.Series:
    """The series ``name`` (a key of :data:`SERIES`) as floats on a ``DatetimeIndex``.

    The series' title and units are in ``series.attrs``, ready for plot labels.
    """
    if name not in SERIES:
        raise ValueError(f"unknown series {name!r}; choose one of {sorted(SERIES)}")
    if name in STOCKS:
        from vega_datasets import local_data

        frame = local_data.stocks()
        rows = frame[frame["symbol"] == name]
        series = pd.Series(rows["price"].to_numpy(float), index=pd.DatetimeIndex(rows["date"]))
    else:
        series = _statsmodels(name)
    series = series.rename(name)
    info = SERIES[name]
    series.attrs.update(
        title=info.title, units=info.units, frequency=info.frequency, source=info.source
    )
    return series


def sliding_windows(x: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X[i] = x[i : i+window]`` and targets ``y[i] = x[i+window+horizon-1]``.

    Returns ``X`` of shape ``[n, window]`` and ``y`` of shape ``[n]`` with
    ``n = len(x) - window - horizon + 1``: every place a forecaster that sees ``window``
    past values can be asked for the value ``horizon`` steps ahead.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {x.shape}")
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got {window}, {horizon}")
    n = len(x) - window - horizon + 1
    if n < 1:
        raise ValueError(
            f"a series of length {len(x)} is too short for window={window} and "
            f"horizon={horizon}; shorten the window"
        )
    inputs = np.lib.stride_tricks.sliding_window_view(x, window)[:n]
    return inputs.copy(), x[window + horizon - 1 :][:n].copy()


def chronological_split(series: pd.Series, test_fraction: float) -> tuple[pd.Series, pd.Series]:
    """Split a series into an earlier training part and a later test part.

    Time series are never shuffled before splitting: a forecaster must be judged on a
    future it has not seen.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    cut = int(round(len(series) * (1.0 - test_fraction)))
    if cut < 1 or cut >= len(series):
        raise ValueError(f"test_fraction={test_fraction} leaves an empty part of {len(series)}")
    return series.iloc[:cut], series.iloc[cut:]

"""The bundled real series and the windowing helpers."""

import numpy as np
import pandas as pd
import pytest

from ptb_utils import timeseries as ts


@pytest.mark.parametrize("name", sorted(ts.SERIES))
def test_every_series_loads_as_finite_floats_with_labels(name: str) -> None:
    series = ts.load_series(name)
    assert isinstance(series.index, pd.DatetimeIndex)
    assert series.index.is_monotonic_increasing
    assert len(series) >= 60
    assert np.isfinite(series.to_numpy()).all()
    assert series.attrs["units"] and series.attrs["title"]


def test_known_values() -> None:
    sun = ts.load_series("sunspots")
    assert (sun.index[0].year, sun.iloc[0], len(sun)) == (1700, 5.0, 309)
    nile = ts.load_series("nile")
    assert (nile.index[0].year, nile.iloc[0], len(nile)) == (1871, 1120.0, 100)
    co2 = ts.load_series("co2")
    assert co2.index.freqstr == "MS" and 310 < co2.iloc[0] < 320
    assert len(ts.load_series("elnino")) == 61 * 12
    assert len(ts.load_series("MSFT")) == 123


def test_unknown_series_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="sunspots"):
        ts.load_series("bitcoin")


def test_sliding_windows_by_hand() -> None:
    X, y = ts.sliding_windows(np.arange(6.0), window=3)
    np.testing.assert_array_equal(X, [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    X, y = ts.sliding_windows(np.arange(6.0), window=2, horizon=3)
    np.testing.assert_array_equal(X, [[0, 1], [1, 2]])
    np.testing.assert_array_equal(y, [4, 5])


@pytest.mark.parametrize(
    ("window", "horizon", "match"), [(6, 1, "too short"), (0, 1, ">= 1"), (2, 0, ">= 1")]
)
def test_sliding_windows_rejects_bad_shapes(window: int, horizon: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ts.sliding_windows(np.arange(6.0), window, horizon)


def test_chronological_split_keeps_order() -> None:
    series = pd.Series(np.arange(10.0))
    train, test = ts.chronological_split(series, 0.3)
    assert list(train) == list(range(7)) and list(test) == [7, 8, 9]
    with pytest.raises(ValueError, match="between 0 and 1"):
        ts.chronological_split(series, 1.0)

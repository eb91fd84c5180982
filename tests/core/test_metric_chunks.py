"""Chunk codec round trips and down-sampling that keeps extremes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_mm.core import metric_chunks


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**62), 2**62),
            st.integers(0, 2**62),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_round_trip_is_exact(points: list[tuple[int, int, float]]) -> None:
    steps = np.array([p[0] for p in points], dtype=np.int64)
    ts = np.array([p[1] for p in points], dtype=np.int64)
    vals = np.array([p[2] for p in points], dtype=np.float64)
    s2, t2, v2 = metric_chunks.decode(metric_chunks.encode(steps, ts, vals))
    assert s2.tolist() == steps.tolist() and t2.tolist() == ts.tolist()
    assert v2.tobytes() == vals.tobytes()  # bit-exact, NaN payloads included


def test_compact_on_disk() -> None:
    n = 4096
    rng = np.random.default_rng(0)
    vals = np.exp(-np.arange(n) / 1000) + rng.normal(0, 0.01, n)
    blob = metric_chunks.encode(np.arange(n), 1_700_000_000_000 + np.arange(n) * 7, vals)
    assert len(blob) / n < 12  # well under the 40-byte bar, before SQLite's overhead


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32), min_size=1, max_size=2000),
    st.integers(1, 300),
)
def test_downsample_keeps_extremes(values: list[float], max_points: int) -> None:
    v = np.array(values, dtype=np.float64)
    keep = metric_chunks.downsample_indices(v, max_points)
    assert len(keep) <= max(max_points, 1) or len(v) <= max_points
    assert list(keep) == sorted(set(keep.tolist()))
    if len(v) <= max_points:
        assert len(keep) == len(v)
        return
    assert len(keep) >= 1
    if max_points >= 2:
        assert keep[0] == 0 and keep[-1] == len(v) - 1
    finite = v[~np.isnan(v)]
    if len(finite) and max_points >= 4:
        kept = v[keep]
        assert np.nanmax(kept) == finite.max() and np.nanmin(kept) == finite.min()

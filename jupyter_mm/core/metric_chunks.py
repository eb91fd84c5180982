"""Metric histories as compressed column chunks, and down-sampling that keeps extremes.

A chunk holds up to ``limits.METRIC_CHUNK_POINTS`` points of one (run, key) series as three columns:
step deltas (int64), timestamp deltas (int64) and values (float64, byte-shuffled so zlib finds the
repeating exponent bytes). Deltas of regular steps and close timestamps compress to almost nothing,
so a point costs about 8-12 bytes on disk instead of a ~60-byte row, and a million points decode
with numpy in milliseconds. NaN and ±Inf are plain IEEE values here.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1


def encode(steps: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    n = len(values)
    if n <= _SMALL:
        payload = _payload_small(steps.tolist(), timestamps.tolist(), values.tolist())
    else:
        import numpy as np

        s = np.diff(steps.astype("<i8"), prepend=np.int64(0))
        t = np.diff(timestamps.astype("<i8"), prepend=np.int64(0))
        v = values.astype("<f8").view(np.uint8).reshape(n, 8).T.copy()  # byte shuffle
        payload = s.tobytes() + t.tobytes() + v.tobytes()
    return bytes([FORMAT_VERSION]) + n.to_bytes(4, "little") + zlib.compress(payload, 1)


#: Below this many points, plain Python beats numpy's per-call overhead (flushes of a few points).
_SMALL = 32


def _payload_small(steps: list[int], stamps: list[int], values: list[float]) -> bytes:
    def deltas(xs: list[int]) -> bytes:
        return struct.pack(f"<{len(xs)}q", *(b - a for a, b in zip([0, *xs], xs, strict=False)))

    raw = struct.pack(f"<{len(values)}d", *values)
    return deltas(steps) + deltas(stamps) + b"".join(raw[j::8] for j in range(8))


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    if not blob or blob[0] != FORMAT_VERSION:
        raise ValueError("unknown metric chunk format")
    n = int.from_bytes(blob[1:5], "little")
    raw = zlib.decompress(blob[5:])
    steps = np.cumsum(np.frombuffer(raw, "<i8", n, 0))
    ts = np.cumsum(np.frombuffer(raw, "<i8", n, 8 * n))
    v = np.frombuffer(raw, np.uint8, 8 * n, 16 * n).reshape(8, n).T.copy().view("<f8").reshape(n)
    return steps, ts, v


def downsample_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep each bucket's minimum and maximum.

    Buckets are consecutive runs of points; the first and last points are always kept, so the
    chart's range and every spike survive. NaN never hides a finite extreme.
    """
    import numpy as np

    n = len(values)
    if max_points <= 0 or n <= max_points:
        return np.arange(n)
    if max_points < 4:
        return np.unique(np.linspace(0, n - 1, max_points).astype(np.int64))
    buckets = (max_points - 2) // 2
    size = -(-n // buckets)  # ceil
    pad = buckets * size - n
    low = np.where(np.isnan(values), np.inf, values)
    high = np.where(np.isnan(values), -np.inf, values)
    if pad:
        low = np.concatenate([low, np.full(pad, np.inf)])
        high = np.concatenate([high, np.full(pad, -np.inf)])
    base = np.arange(buckets) * size
    mins = base + low.reshape(buckets, size).argmin(axis=1)
    maxs = base + high.reshape(buckets, size).argmax(axis=1)
    keep = np.concatenate([[0, n - 1], np.minimum(mins, n - 1), np.minimum(maxs, n - 1)])
    return np.unique(keep)

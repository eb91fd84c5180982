"""Metric histories as compressed column chunks, and down-sampling that keeps extremes.

A chunk holds up to ``limits.METRIC_CHUNK_POINTS`` points of one (run, key) series as columns: step
deltas and timestamp deltas (each in the narrowest integer type that holds them) and the values'
eight byte planes (sign and exponent bytes repeat, so zlib shrinks them to almost nothing; noisy
mantissa bytes are kept raw). A point costs about 7 bytes on disk instead of a ~60-byte row, and
a million points decode with numpy in milliseconds. NaN and ±Inf are plain IEEE values here.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 2
_HEADER = struct.Struct("<BIqqBB")  # version, n, first step, first timestamp, delta widths
_STREAM = struct.Struct("<BI")  # compressed?, length
_WIDTHS = (1, 2, 4, 8)  # bytes per delta: int8 .. int64
_INT64 = 1 << 64


def _width(lo: int, hi: int) -> int:
    """The narrowest of int8/16/32/64 holding every delta in [lo, hi]."""
    for w in _WIDTHS:
        if -(1 << (8 * w - 1)) <= lo and hi < (1 << (8 * w - 1)):
            return w
    return 8


def encode(steps: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """One chunk: a header, then ten streams: step deltas, timestamp deltas (each in the narrowest
    integer type that holds them: a regular series needs one byte a point) and the eight byte
    planes of the values. Each stream is zlib-compressed only when that pays: sign/exponent planes
    shrink to almost nothing, noisy mantissa planes stay raw and cost no decompression on read.
    Deltas wrap modulo 2**64, so any int64 series round-trips exactly."""
    n = len(values)
    if n <= _SMALL:
        st, ts = steps.tolist(), timestamps.tolist()
        ds, dt = _deltas_py(st), _deltas_py(ts)
        ws, wt = _width(min(ds), max(ds)), _width(min(dt), max(dt))
        raw = struct.pack(f"<{n}d", *values.tolist())
        streams = [
            struct.pack(f"<{n}{'bhiq'[_WIDTHS.index(ws)]}", *ds),
            struct.pack(f"<{n}{'bhiq'[_WIDTHS.index(wt)]}", *dt),
            *(raw[j::8] for j in range(8)),
        ]
        first_step, first_ts = st[0], ts[0]
    else:
        import numpy as np

        s64, t64 = steps.astype("<i8"), timestamps.astype("<i8")
        d_s = np.diff(s64, prepend=s64[:1])  # wraps like the Python path
        d_t = np.diff(t64, prepend=t64[:1])
        ws, wt = _width(int(d_s.min()), int(d_s.max())), _width(int(d_t.min()), int(d_t.max()))
        planes = values.astype("<f8").view(np.uint8).reshape(n, 8).T
        streams = [
            d_s.astype(f"<i{ws}").tobytes(),
            d_t.astype(f"<i{wt}").tobytes(),
            *(plane.tobytes() for plane in planes),
        ]
        first_step, first_ts = int(s64[0]), int(t64[0])
    out = [_HEADER.pack(FORMAT_VERSION, n, first_step, first_ts, ws, wt)]
    for raw_stream in streams:
        # a few bytes never shrink (zlib adds ~11), so don't spend a compress call on them
        packed = zlib.compress(raw_stream, 1) if len(raw_stream) >= 64 else raw_stream
        if len(packed) < 0.9 * len(raw_stream):
            out.append(_STREAM.pack(1, len(packed)) + packed)
        else:
            out.append(_STREAM.pack(0, len(raw_stream)) + raw_stream)
    return b"".join(out)


def _deltas_py(xs: list[int]) -> list[int]:
    """Successive differences as int64 arithmetic would give them (wrapping), first one 0."""
    half = 1 << 63
    return [0] + [((b - a + half) % _INT64) - half for a, b in zip(xs, xs[1:], strict=False)]


#: Below this many points, plain Python beats numpy's per-call overhead (flushes of a few points).
_SMALL = 32


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    if not blob or blob[0] != FORMAT_VERSION:
        raise ValueError("unknown metric chunk format")
    _, n, first_step, first_ts, ws, wt = _HEADER.unpack_from(blob)
    view = memoryview(blob)
    pos = _HEADER.size
    streams = []
    for _ in range(10):
        compressed, size = _STREAM.unpack_from(blob, pos)
        pos += _STREAM.size
        part = view[pos : pos + size]
        streams.append(zlib.decompress(part) if compressed else part)
        pos += size
    # array arithmetic wraps silently, exactly undoing the wrapped deltas
    steps = np.cumsum(np.frombuffer(streams[0], f"<i{ws}", n), dtype=np.int64)
    ts = np.cumsum(np.frombuffer(streams[1], f"<i{wt}", n), dtype=np.int64)
    steps += np.int64(first_step)
    ts += np.int64(first_ts)
    planes = np.empty((n, 8), np.uint8)
    for j in range(8):
        planes[:, j] = np.frombuffer(streams[2 + j], np.uint8, n)
    return steps, ts, planes.view("<f8").reshape(n)


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
    full = n // size  # whole buckets; the remainder is one short bucket at the end
    has_nan = bool(np.isnan(values).any())
    low = np.where(np.isnan(values), np.inf, values) if has_nan else values
    high = np.where(np.isnan(values), -np.inf, values) if has_nan else values
    base = np.arange(full) * size
    parts = [
        np.array([0, n - 1]),
        base + low[: full * size].reshape(full, size).argmin(axis=1),
        base + high[: full * size].reshape(full, size).argmax(axis=1),
    ]
    if full * size < n:
        start = full * size
        parts.append(np.array([start + low[start:].argmin(), start + high[start:].argmax()]))
    keep = np.concatenate(parts)
    keep.sort()
    return keep[np.concatenate(([True], keep[1:] != keep[:-1]))]

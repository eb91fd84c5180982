"""Every validation limit in one place. Oversized input is rejected, never truncated."""

from __future__ import annotations

#: Longest key (param, metric, tag, dataset or experiment name), in characters.
MAX_KEY_LENGTH = 250
#: Longest param value, in characters (MLflow allows 6000).
MAX_PARAM_VALUE_LENGTH = 6000
#: Longest tag value, in characters.
MAX_TAG_VALUE_LENGTH = 8000
#: Longest run name / experiment name.
MAX_NAME_LENGTH = 250
#: Longest run note, in characters.
MAX_NOTE_LENGTH = 100_000
#: Largest number of items of each kind in one batch write.
MAX_BATCH_METRICS = 100_000
MAX_BATCH_PARAMS = 1000
MAX_BATCH_TAGS = 1000
#: Largest absolute finite metric value accepted (beyond this a float is no longer meaningful).
MAX_ABS_METRIC = 1.7976931348623157e308
#: Steps are signed 64-bit integers.
MIN_STEP = -(2**63)
MAX_STEP = 2**63 - 1
#: Longest artifact logical path and its number of segments.
MAX_ARTIFACT_PATH_LENGTH = 1024
MAX_ARTIFACT_PATH_DEPTH = 32
#: Longest search filter string.
MAX_FILTER_LENGTH = 10_000
#: Largest page of runs one search returns.
MAX_RESULTS = 50_000
#: Points per stored metric chunk (see core/metric_chunks.py).
METRIC_CHUNK_POINTS = 4096
#: Deepest nesting of arrays and objects a JSON request body may have (protobuf's JSON parser,
#: which MLflow's own server uses, stops at 100 too).
MAX_JSON_DEPTH = 100

"""Seed every random number generator a notebook is likely to use, in one call.

Recorded with a run so that it can be repeated. torch is seeded only when the notebook already imported
it: importing torch costs seconds and initialises CUDA, which a seeding helper must never do on its own.
"""

from __future__ import annotations

import operator
import os
import random
import sys
from typing import Any, SupportsIndex

from ..errors import InvalidInput

MAX_SEED = 2**32 - 1  # numpy's legacy seeding accepts at most 32 bits


def _validate(seed: object) -> int:
    # int and numpy integers, not floats or strings; bool is an int, but True is never a meant seed
    if isinstance(seed, bool) or not isinstance(seed, SupportsIndex):
        raise InvalidInput(
            f"seed must be an integer in [0, {MAX_SEED}], got {type(seed).__name__} {seed!r}"
        )
    value = operator.index(seed)
    if not 0 <= value <= MAX_SEED:
        raise InvalidInput(f"seed must be an integer in [0, {MAX_SEED}], got {value}")
    return value


def seed_everything(seed: int) -> dict[str, Any]:
    """Seed ``random``, numpy (when installed), torch (only when already imported) and set
    ``PYTHONHASHSEED`` for child processes (the running interpreter's hash seed cannot change).

    Returns ``{"seed": int, "seeded": [library, ...], "errors": [str, ...]}``: a library that fails to
    seed is reported in ``errors`` rather than raised, so a broken optional install cannot stop a run.
    Raises :class:`~jupyter_mm.errors.InvalidInput` only for a seed that is not an int in [0, 2**32-1].
    """
    value = _validate(seed)
    seeded: list[str] = []
    errors: list[str] = []

    random.seed(value)
    seeded.append("random")
    os.environ["PYTHONHASHSEED"] = str(value)
    seeded.append("PYTHONHASHSEED")

    try:
        import numpy as np
    except ImportError:
        pass
    except Exception as exc:  # a broken install raises other things too
        errors.append(f"numpy: {type(exc).__name__}: {exc}")
    else:
        try:
            np.random.seed(value)
            seeded.append("numpy")
        except Exception as exc:
            errors.append(f"numpy: {type(exc).__name__}: {exc}")

    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.manual_seed(value)  # also seeds every CUDA device in current torch versions
            seeded.append("torch")
        except Exception as exc:
            errors.append(f"torch: {type(exc).__name__}: {exc}")
        else:
            try:
                if torch.cuda.is_available():
                    torch.cuda.manual_seed_all(value)
                    seeded.append("torch.cuda")
            except Exception as exc:
                errors.append(f"torch.cuda: {type(exc).__name__}: {exc}")

    return {"seed": value, "seeded": seeded, "errors": errors}

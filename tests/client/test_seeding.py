"""seed_everything: sequences repeat after re-seeding, torch is seeded only when already imported."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest

from jupyter_mm.client.seeding import MAX_SEED, seed_everything
from jupyter_mm.errors import InvalidInput


@pytest.fixture(autouse=True)
def _restore_hashseed(monkeypatch: pytest.MonkeyPatch) -> None:
    # seed_everything sets PYTHONHASHSEED; let monkeypatch put the original back
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))
    monkeypatch.delitem(sys.modules, "torch", raising=False)


def _draws() -> tuple[list[float], list[float]]:
    return [random.random() for _ in range(5)], np.random.rand(5).tolist()


def test_sequences_repeat_after_reseeding() -> None:
    result = seed_everything(1234)
    assert os.environ["PYTHONHASHSEED"] == "1234"
    first = _draws()
    seed_everything(1234)
    assert _draws() == first
    seed_everything(4321)
    assert _draws() != first
    assert result == {"seed": 1234, "seeded": ["random", "PYTHONHASHSEED", "numpy"], "errors": []}


@pytest.mark.parametrize("seed", [0, MAX_SEED, np.int64(7), np.uint32(MAX_SEED)])
def test_accepts_bounds_and_numpy_integers(seed: Any) -> None:
    assert seed_everything(seed)["seed"] == int(seed)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 1.0, "1", None, True])
def test_rejects_bad_seeds(seed: Any) -> None:
    with pytest.raises(InvalidInput, match="seed must be an integer"):
        seed_everything(seed)


def _fake_torch(cuda: bool, fail: bool = False) -> tuple[types.ModuleType, list[tuple[str, int]]]:
    calls: list[tuple[str, int]] = []
    torch = types.ModuleType("torch")

    def manual_seed(value: int) -> None:
        if fail:
            raise RuntimeError("broken")
        calls.append(("manual_seed", value))

    torch.manual_seed = manual_seed  # type: ignore[attr-defined]
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: cuda,
        manual_seed_all=lambda value: calls.append(("cuda.manual_seed_all", value)),
    )
    return torch, calls


def test_seeds_torch_and_cuda_when_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, calls = _fake_torch(cuda=True)
    monkeypatch.setitem(sys.modules, "torch", torch)
    result = seed_everything(5)
    assert calls == [("manual_seed", 5), ("cuda.manual_seed_all", 5)]
    assert result["seeded"][-2:] == ["torch", "torch.cuda"]


def test_torch_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, calls = _fake_torch(cuda=False)
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert seed_everything(5)["seeded"][-1] == "torch"
    assert calls == [("manual_seed", 5)]


def test_a_failing_library_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    torch, _ = _fake_torch(cuda=False, fail=True)
    monkeypatch.setitem(sys.modules, "torch", torch)
    result = seed_everything(5)
    assert "torch" not in result["seeded"]
    assert result["errors"] == ["torch: RuntimeError: broken"]


def test_never_imports_torch() -> None:
    # a finder that records any attempt to import torch, installed or not
    code = """
import sys
attempts = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            attempts.append(name)
        return None
sys.meta_path.insert(0, Spy())
from jupyter_mm.client.seeding import seed_everything
result = seed_everything(3)
assert "torch" not in sys.modules, "torch imported"
assert not attempts, attempts
assert "torch" not in result["seeded"]
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

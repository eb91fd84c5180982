"""Where a run's records live: the artifact paths and tag names that ``%%track`` writes and that
the client, the registry's lineage and the server read. Jupyter-free, so every layer imports them
from here, once."""

from __future__ import annotations

CELL = ".mm/cell.json"  # {source, cell_id, execution_count, outputs}
ENVIRONMENT = ".mm/environment.json"
GIT = ".mm/git.json"
EXECUTION_LOG = ".mm/execution_log.json"  # {entries, flags}

#: Folder of the notebook snapshots among a run's artifacts (see ``client/snapshots.py``).
SNAPSHOT_DIR = ".mm/notebook"
#: Phases the frontend posts, in the order they happen.
FRONTEND_PHASES = ("start", "end")
KERNEL_SNAPSHOT = f"{SNAPSHOT_DIR}/kernel.ipynb"  # the kernel's fallback (disk or history)

TAG_CELL_ID = "mm.cell.id"
TAG_EXECUTION_COUNT = "mm.cell.execution_count"
TAG_NOTEBOOK_FILE = "mm.notebook.file"  # absolute path on the kernel's machine (kernel)
TAG_NOTEBOOK_PATH = "mm.notebook.path"  # path relative to the Jupyter root (frontend)
TAG_NOTEBOOK_ID = "mm.notebook.id"
TAG_KERNEL_SNAPSHOT = "mm.snapshot.kernel"  # "disk" | "history"
TAG_OUT_OF_ORDER = "mm.out_of_order"
TAG_HIDDEN_STATE = "mm.hidden_state"
TAG_SEED = "mm.seed"
TAG_ERROR = "mm.error"  # a failed run's traceback
TAG_SOURCE_TYPE = "mm.source.type"


def snapshot_path(phase: str) -> str:
    """Artifact path of the snapshot of ``phase`` (``start``, ``end`` or ``kernel``)."""
    return f"{SNAPSHOT_DIR}/{phase}.ipynb"


def snapshot_tag(phase: str) -> str:
    """Run tag recording where the snapshot of ``phase`` came from."""
    return f"mm.snapshot.{phase}"

"""Where a tracked cell's records live in its run: artifact paths and tag names, in one place."""

from __future__ import annotations

CELL = ".mm/cell.json"  # {source, cell_id, execution_count, outputs}
ENVIRONMENT = ".mm/environment.json"
GIT = ".mm/git.json"
EXECUTION_LOG = ".mm/execution_log.json"  # {entries, flags}
KERNEL_SNAPSHOT = ".mm/notebook/kernel.ipynb"  # the kernel's fallback (disk or history)

TAG_CELL_ID = "mm.cell.id"
TAG_EXECUTION_COUNT = "mm.cell.execution_count"
TAG_NOTEBOOK_FILE = "mm.notebook.file"  # absolute path on the kernel's machine (kernel)
TAG_NOTEBOOK_PATH = "mm.notebook.path"  # path relative to the Jupyter root (frontend)
TAG_NOTEBOOK_ID = "mm.notebook.id"
TAG_KERNEL_SNAPSHOT = "mm.snapshot.kernel"  # "disk" | "history"
TAG_OUT_OF_ORDER = "mm.out_of_order"
TAG_HIDDEN_STATE = "mm.hidden_state"
TAG_SEED = "mm.seed"
TAG_ERROR = "mm.error"

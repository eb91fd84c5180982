"""``python -m jupyter_mm.serving --model-dir DIR [--name N --version V --digest D] ...``."""

import sys

from .runner import main

sys.exit(main())

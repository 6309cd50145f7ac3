"""Bench children start as an installed package does: from compiled bytecode.

pip writes a package's bytecode when it installs it. Where the environment says
``PYTHONDONTWRITEBYTECODE`` (this machine does), a new process of a checkout compiles every module
it imports from source again, about 0.3 s of each start, which no user pays. Imported first by
each script that starts ``reviewer`` processes, this module points them (and the script) at a
bytecode cache in a temporary directory instead; the first child fills it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CACHE = str(Path(tempfile.gettempdir()) / "reviewer-bench-pycache")

if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    os.environ.setdefault("PYTHONPYCACHEPREFIX", CACHE)
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]
    sys.dont_write_bytecode = False

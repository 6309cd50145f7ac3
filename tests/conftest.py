import os
import sys
import tempfile
from pathlib import Path

if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    # This environment keeps bytecode out of source trees. Without any, each xdist worker
    # rewrites every test module again and each `python -m reviewer` child compiles the package
    # from source (~0.1 s each, ~30 s CPU a run): their bytecode goes to a cache outside the tree.
    _prefix = os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"reviewer-tests-pyc-{os.getuid()}"))
    sys.dont_write_bytecode, sys.pycache_prefix = False, _prefix

# Test helpers (fakeprovider, ...) live next to the tests; make them importable by name.
sys.path.insert(0, str(Path(__file__).parent))

import pytest
from fakeprovider import fake_provider  # noqa: F401  (pytest fixture: a running FakeProvider)


@pytest.fixture(autouse=True)
def _isolated_from_the_users_data(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's store, config or keymap, whatever it forgets to pass."""
    home = tmp_path_factory.mktemp("reviewer-home")
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("REVIEWER_DB", str(home / "data" / "reviewer.db"))
    monkeypatch.delenv("REVIEWER_KEYMAP", raising=False)
    # Retries happen as often as ever, without waiting between them; a test about the waits
    # themselves sets REVIEWER_RETRY_WAIT_SCALE=1 (subprocesses inherit this environment).
    monkeypatch.setenv("REVIEWER_RETRY_WAIT_SCALE", "0")
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def real_waits(monkeypatch):
    """For a test about the retry waits themselves: the replay waits as it does for a user."""
    monkeypatch.setenv("REVIEWER_RETRY_WAIT_SCALE", "1")

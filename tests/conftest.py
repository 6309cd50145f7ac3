import sys
from pathlib import Path

# Test helpers (fakeprovider, ...) live next to the tests; make them importable by name.
sys.path.insert(0, str(Path(__file__).parent))

from fakeprovider import fake_provider  # noqa: E402,F401  (pytest fixture: a running FakeProvider)

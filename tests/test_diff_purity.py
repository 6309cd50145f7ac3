"""The diff engine stays pure: importing any of its modules loads no UI, HTTP or storage code,
and `reviewer diff` does not load Textual either."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import reviewer.diff

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ["textual", "httpx", "aiohttp", "sqlite3", "sqlite_utils", "reviewer.store", "reviewer.app", "reviewer.session"]
MODULES = sorted(f"reviewer.diff.{m.name}" for m in pkgutil.iter_modules(reviewer.diff.__path__))


def _loaded_after(code: str) -> list[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def _forbidden(loaded: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_the_package_has_the_expected_modules():
    names = {m.rsplit(".", 1)[1] for m in MODULES}
    assert {"tokens", "align", "jsonextract", "jsondiff", "signals", "checks", "score"} <= names


def test_importing_every_diff_module_and_name_loads_no_ui_http_or_store():
    code = "\n".join(f"import {m}" for m in MODULES)
    code += "\nimport reviewer.diff as d\nfor n in d.__all__: getattr(d, n)"
    loaded = _loaded_after(code)
    assert set(MODULES) <= set(loaded)
    assert _forbidden(loaded) == []


def test_every_public_name_of_every_module_is_reexported_as_the_same_object():
    import importlib

    for m in MODULES:
        mod = importlib.import_module(m)
        for name in getattr(mod, "__all__", []):
            assert getattr(reviewer.diff, name) is getattr(mod, name), f"{m}.{name}"
    assert callable(reviewer.diff.align)  # the function, not the submodule of the same name


def test_reviewer_diff_command_does_not_load_textual(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    (tmp_path / "b.txt").write_text("one\nthree\n")
    code = (
        "import sys\nfrom reviewer.cli import main\n"
        f"rc = main(['diff', {str(tmp_path / 'a.txt')!r}, {str(tmp_path / 'b.txt')!r}, '--width', '120'])\n"
        "assert rc == 1, rc"
    )
    loaded = _loaded_after(code)
    assert "reviewer.commands.diff" in loaded
    assert _forbidden(loaded) == []

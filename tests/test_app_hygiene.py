"""Textual stays inside the app: no other layer imports it, and the app's own helpers that the
ranking child process and the benchmarks load (data, state, visible, diffrender, rank) work
without it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reviewer"
#: where Textual may be imported: the app's UI modules and the commands that open it
ALLOWED = {"app", "commands/review.py", "commands/demo.py"}
TEXTUAL_FREE = [
    "reviewer.session", "reviewer.session.session", "reviewer.session.labels", "reviewer.session.state",
    "reviewer.session.rank", "reviewer.session.cache", "reviewer.session.search", "reviewer.session.promotion",
    "reviewer.app.visible", "reviewer.app.diffrender",
]  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_layer_outside_the_app_imports_textual():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in ALLOWED or rel in ALLOWED:
            continue
        if any(m == "textual" or m.startswith("textual.") for m in imported_modules(path)):
            offenders.append(rel)
    assert offenders == []


def test_the_apps_helpers_load_without_textual():
    code = (
        "import importlib, json, sys\n"
        f"for m in {TEXTUAL_FREE!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_the_hygiene_check_sees_the_apps_own_imports():
    """The AST scan would find an import of Textual: it does in the app's screen module."""
    assert "textual.app" in imported_modules(PACKAGE / "app" / "app.py")

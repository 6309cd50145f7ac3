"""Layers stay apart: the CLI parser and every non-UI layer load without Textual (a `reviewer diff`
that imports Textual starts twice as slow), and only the app imports it."""

from __future__ import annotations

import ast
import subprocess
import sys

NON_UI = [
    "reviewer.cli", "reviewer.suite", "reviewer.store", "reviewer.replay", "reviewer.analysis",
    "reviewer.providers.openai", "reviewer.providers.anthropic", "reviewer.providers.recorded",
    "reviewer.commands.run", "reviewer.commands.suites", "reviewer.commands.comparisons", "reviewer.commands.runs",
    "reviewer.probe", "reviewer.commands.probe", "reviewer.commands.history", "reviewer.commands.doctor",
    "reviewer.untrusted", "reviewer.safeyaml", "reviewer.stats", "reviewer.lease",
    "reviewer.judge", "reviewer.judge_replay", "reviewer.commands.judge", "reviewer.toolcall", "reviewer.fsutil",
    "reviewer.boundaries",
    "reviewer.session", "reviewer.session.session", "reviewer.session.labels", "reviewer.session.state",
    "reviewer.session.rank", "reviewer.session.cache", "reviewer.session.search", "reviewer.session.promotion",
    "reviewer.store.schema", "reviewer.store.records", "reviewer.store.health", "reviewer.store.reader",
]  # fmt: skip


def test_non_ui_layers_do_not_import_textual():
    code = (
        "import importlib, sys\n"
        f"for m in {NON_UI!r}: importlib.import_module(m)\n"
        "from reviewer.cli import build_parser; build_parser()\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out.stdout


def test_building_the_cli_parser_stays_light():
    """Every command module is imported to build the parser; none may pull in the engine or the UI."""
    code = (
        "import sys\n"
        "from reviewer.cli import build_parser; build_parser()\n"
        "heavy = ('textual', 'httpx', 'aiohttp', 'pydantic', 'reviewer.diff.score', 'reviewer.export.changelog', 'jsonschema')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_storage_and_suites_do_not_import_http_or_ui():
    code = (
        "import sys, reviewer.store, reviewer.suite\n"
        "print(sorted(m for m in ('textual', 'httpx', 'aiohttp', 'rich.live') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_store_imports_no_layer_above_it():
    """The store package loads none of the layers that use it (ARCHITECTURE.md)."""
    code = (
        "import sys, reviewer.store, reviewer.store.health\nprint(sorted(m for m in sys.modules if m.startswith('reviewer.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    above = ("providers", "replay", "judge", "probe", "diff", "analysis", "importers", "export", "app", "session",
             "commands", "cli", "batch")  # fmt: skip
    loaded = [m for m in ast.literal_eval(out.stdout) if m.split(".")[1] in above]
    assert loaded == [], loaded

"""``reviewer demo``: the review app on a bundled recording of two real model versions
(Gemma 3 270M Q4_K_M against its Q3_K_S requantization, served by llama.cpp under one name).

No network, no key, no compile: the recording is replayed through the ``recorded`` provider into
a demo store of its own (``demo.db`` in the data dir), never the user's store unless ``--db``
says so. Labels given in the demo persist there between runs; ``--reset`` starts over.

The demo never writes to the bundled files: it reviews a copy of the suite kept beside its store
(``demo-suite/demo.yaml``), so ``p`` (promote) adds cases to that copy, and the recording still
matches the comparison afterwards. ``--reset`` restores the copy."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..app import ReviewApp

DEMO_NAME = "demo: gemma3-270m Q4_K_M → Q3_K_S"


def demo_dir() -> Path:
    """The bundled suite and recording (they live in the source checkout's suites/)."""
    return Path(__file__).resolve().parent.parent.parent / "suites"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="open the review app on a bundled recording of two real model versions (no key, offline)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("--db", metavar="PATH", help="store for the demo (default: demo.db in the data dir, not your store)")
    p.add_argument("--reviewer", "--as", dest="reviewer", metavar="'NAME <EMAIL>'", help="who is labelling")
    p.add_argument("--reset", action="store_true",
                   help="forget the demo store (labels included) and its suite copy (promoted cases included), and start over")  # fmt: skip
    p.add_argument("--no-app", action="store_true", help="prepare the demo comparison and print its id, without opening the app")


def suite_copy(db: Path) -> Path:
    """The demo's own copy of the bundled suite, beside its store: what ``p`` (promote) edits."""
    return db.parent / f"{db.stem}-suite" / "demo.yaml"


def _bundled() -> tuple[Path, Path, Path, Path]:
    root = demo_dir()
    paths = (
        root / "demo.yaml",
        root / "demo" / "baseline.jsonl",
        root / "demo" / "candidate.jsonl",
        root / "demo" / "recording.json",
    )
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"{path}: demo data not found (the demo ships with the source checkout: install with pip install -e .)"
            )
    return paths


def restore_copy(db: Path) -> Path:
    """Put the bundled suite's bytes in the demo's copy. A copy that differs (cases promoted into
    it) is kept as ``demo.yaml.bak`` beside it, never lost; returns the copy's path."""
    bundled = _bundled()[0]
    copy = suite_copy(db)
    copy.parent.mkdir(parents=True, exist_ok=True)
    if copy.exists() and copy.read_bytes() != bundled.read_bytes():
        backup = copy.with_name(copy.name + ".bak")
        copy.replace(backup)
        print(f"{copy}: the demo's suite copy had changed (promoted cases?); kept it as {backup}", file=sys.stderr)
    if not copy.exists():
        shutil.copyfile(bundled, copy)
    return copy


def prepare(db: Path) -> int:
    """Replay the recording into ``db`` (once) and return the comparison id. The bundled files
    are only read; the replay's suite is the demo's copy (restored from them when it replays)."""
    import asyncio

    from ..providers import parse_spec
    from ..replay import Replay, ReplayConfig
    from ..store import Store
    from ..suite import load_suite

    bundled_suite, base, cand, recording = _bundled()
    meta = json.loads(recording.read_text(encoding="utf-8"))
    digest = load_suite(bundled_suite).digest  # the recording's suite: promoted cases never change it
    copy = suite_copy(db)
    if not copy.exists():
        restore_copy(db)
    with Store(db) as store:
        for c in reversed(store.comparisons()):
            if c.name == DEMO_NAME and c.suite_digest == digest and c.status == "complete":
                return c.id
        loaded = load_suite(restore_copy(db))
        replay = Replay(
            store, loaded, parse_spec(f"recorded:{base}"), parse_spec(f"recorded:{cand}"),
            ReplayConfig(
                samples=int(meta.get("samples", 3)),
                name=DEMO_NAME,
                labels={
                    side: f"{meta.get('model_name', 'model')} {meta.get(side, {}).get('quant', side)}"
                    for side in ("baseline", "candidate")
                },
            ),
        )  # fmt: skip
        result = asyncio.run(replay.run())
        if result.failures:
            raise UsageError(f"the demo recording is incomplete: {result.failures[0].message}")
        from ..analysis import ranked

        ranked(store, result.comparison_id)  # the review app opens from the cache
        return result.comparison_id


def demo_db(explicit: str | None) -> Path:
    from ..locations import data_dir

    return Path(explicit) if explicit else data_dir() / "demo.db"


def reset(db: Path) -> None:
    """Forget the demo store and put the bundled suite back in the demo's copy."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    copy = suite_copy(db)
    bundled = _bundled()[0]
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundled, copy)


def make_app(db: Path, comparison_id: int, reviewer: str | None = None) -> ReviewApp:
    """The review app on the demo comparison; ``p`` writes to the demo's suite copy, whatever
    path the store remembers for the suite (stores made by older versions name the bundled file)."""
    from ..app import ReviewApp  # Textual is imported only here

    copy = suite_copy(db)
    return ReviewApp(
        db, comparison_id, reviewer=reviewer, promote_to=copy,
        promote_note="the demo's own copy: `reviewer demo --reset` restores it",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    db = demo_db(args.db)
    if args.reset:
        reset(db)
    comparison_id = prepare(db)
    if args.no_app:
        print(comparison_id)
        return 0
    print(f"Demo store: {db} (comparison {comparison_id}; its suite copy: {suite_copy(db)}). "
          "Press ? in the app for keys, q to quit.", file=sys.stderr)  # fmt: skip
    app = make_app(db, comparison_id, args.reviewer)
    try:
        app.run()
    finally:
        app.close_store()
    return app.finish()

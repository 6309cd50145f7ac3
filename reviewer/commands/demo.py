"""``reviewer demo``: the review app on a bundled recording of two real model versions
(Gemma 3 270M Q4_K_M against its Q3_K_S requantization, served by llama.cpp under one name).

No network, no key, no compile: the recording is replayed through the ``recorded`` provider into
a demo store of its own (``demo.db`` in the data dir), never the user's store unless ``--db``
says so. Labels given in the demo persist there between runs; ``--reset`` starts over."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError

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
    p.add_argument("--reset", action="store_true", help="forget the demo store (labels included) and start over")
    p.add_argument("--no-app", action="store_true", help="prepare the demo comparison and print its id, without opening the app")


def prepare(db: Path) -> int:
    """Replay the recording into ``db`` (once) and return the comparison id."""
    import asyncio

    from ..providers import parse_spec
    from ..replay import Replay, ReplayConfig
    from ..store import Store
    from ..suite import load_suite

    root = demo_dir()
    suite_path, base, cand = root / "demo.yaml", root / "demo" / "baseline.jsonl", root / "demo" / "candidate.jsonl"
    for path in (suite_path, base, cand):
        if not path.exists():
            raise UsageError(f"{path}: demo data not found (the demo ships with the source checkout: install with pip install -e .)")
    meta = json.loads((root / "demo" / "recording.json").read_text(encoding="utf-8"))
    loaded = load_suite(suite_path)
    with Store(db) as store:
        for c in reversed(store.comparisons()):
            if c.name == DEMO_NAME and c.suite_digest == loaded.digest and c.status == "complete":
                return c.id
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
        from ..analysis import assess_comparison

        assess_comparison(store, store.load_comparison(result.comparison_id))
        return result.comparison_id


def run(args: argparse.Namespace) -> int:
    from ..locations import data_dir

    db = Path(args.db) if args.db else data_dir() / "demo.db"
    if args.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    comparison_id = prepare(db)
    if args.no_app:
        print(comparison_id)
        return 0
    print(f"Demo store: {db} (comparison {comparison_id}). Press ? in the app for keys, q to quit.", file=sys.stderr)
    from ..app import ReviewApp  # Textual is imported only here

    app = ReviewApp(db, comparison_id, reviewer=args.reviewer)
    try:
        app.run()
    finally:
        app.close_store()
    return int(app.return_code or 0)

"""Signals speed: ``output_signals`` on 20,000 ordinary answers (the diff benchmark's seeded
prose, Markdown and JSON, ~2.4k chars each), its parts, and what importing the engine costs.

1. ``output_signals`` × 20,000 outputs, word count included. Goal: ≤ 0.6 s. Then the same with
   the word count given (what ``assess_case`` does: it counts words in its one split of the text),
   and each part alone on the same outputs: JSON extraction, the refusal/non-answer detector
   (``classify_decline``), ``markdown_shape`` (on the outputs that are not bare JSON, as
   ``output_signals`` runs it) and ``word_count``.
2. Import: ``import reviewer.diff.signals, reviewer.diff.align`` in a fresh interpreter (CPU ms,
   stdlib and rapidfuzz preloaded so only our modules count), and the whole
   ``reviewer diff a b`` command on two tiny files (CPU of the child process, and wall).

Times are CPU seconds of this process (what other load on a shared machine inflates least) and
wall seconds, median and best of --repeat runs; the load average is printed with them.
Fresh interpreters use bytecode caches in a temporary directory, as an installed package would.

    .venv/bin/python bench/signals.py [--outputs 20000] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diff import make_pair  # noqa: E402  (bench/ is on sys.path when a bench runs)

from reviewer.diff.jsonextract import extract_json  # noqa: E402
from reviewer.diff.signals import classify_decline, markdown_shape, output_signals  # noqa: E402
from reviewer.diff.tokens import word_count  # noqa: E402

GOAL_S = 0.6  # for 20,000 outputs

IMPORT_PROBE = """
import time, json, re, dataclasses, functools, typing, rapidfuzz.distance
t = time.process_time()
import reviewer.diff.signals, reviewer.diff.align
print(time.process_time() - t)
"""


def load() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def timed(fn, items, repeat: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for x in items:
            fn(x)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def line(label: str, walls: list[float], cpus: list[float], goal: float | None = None) -> None:
    med_c, med_w = statistics.median(cpus), statistics.median(walls)
    ratio = f"  {med_c / goal:4.2f}× goal ({goal * 1e3:g} ms, cpu)" if goal else ""
    print(f"{label:<44} cpu {med_c * 1e3:7.1f} ms (best {min(cpus) * 1e3:7.1f})  wall {med_w * 1e3:7.1f} ms{ratio}")


def fresh_env(cache: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_cost(repeat: int, cache: str) -> list[float]:
    env = fresh_env(cache)
    run = [sys.executable, "-c", IMPORT_PROBE]
    subprocess.run(run, env=env, cwd=ROOT, check=True, capture_output=True)  # writes the bytecode cache
    return [
        float(subprocess.run(run, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout) for _ in range(repeat)
    ]


def diff_command(repeat: int, cache: str) -> tuple[list[float], list[float]]:
    env = fresh_env(cache)
    with tempfile.TemporaryDirectory() as d:
        a, b = Path(d, "a.txt"), Path(d, "b.txt")
        a.write_text("one\ntwo\n")
        b.write_text("one\nthree\n")
        run = [sys.executable, "-m", "reviewer", "diff", str(a), str(b), "--width", "120"]
        subprocess.run(run, env=env, cwd=ROOT, capture_output=True)  # exit 1: they differ
        walls, cpus = [], []
        for _ in range(repeat):
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(run, env=env, cwd=ROOT, capture_output=True)
            walls.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return walls, cpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--outputs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2,000 outputs, 3 runs")
    args = ap.parse_args()
    if args.quick:
        args.outputs, args.repeat = 2_000, 3
    rng = random.Random(20240611)  # the diff benchmark's outputs
    texts = [t for _ in range((args.outputs + 1) // 2) for t in make_pair(rng)][: args.outputs]
    not_bare = [t for t in texts if extract_json(t).shape != "bare"]
    goal = GOAL_S * args.outputs / 20_000
    print(f"{len(texts)} outputs, mean {sum(map(len, texts)) / len(texts):.0f} chars; median of {args.repeat}; {load()}")
    output_signals(texts[0])  # compile the patterns used on first use, outside the timing
    line(f"output_signals × {len(texts)} (words counted)", *timed(output_signals, texts, args.repeat), goal)
    counted = [(t, word_count(t)) for t in texts]
    line("  with words given (assess_case's path)", *timed(lambda tw: output_signals(tw[0], words=tw[1]), counted, args.repeat))
    line("  extract_json", *timed(extract_json, texts, args.repeat))
    line("  classify_decline", *timed(classify_decline, texts, args.repeat))
    line(f"  markdown_shape (the {len(not_bare)} not bare JSON)", *timed(markdown_shape, not_bare, args.repeat))
    line("  word_count", *timed(word_count, texts, args.repeat))

    with tempfile.TemporaryDirectory() as cache:
        imports = import_cost(args.repeat, cache)
        print(
            f"import reviewer.diff.signals + align (fresh process)  cpu {statistics.median(imports) * 1e3:6.1f} ms "
            f"(best {min(imports) * 1e3:.1f})"
        )
        walls, cpus = diff_command(args.repeat, cache)
        print(
            f"reviewer diff a b (two tiny files, whole command)    cpu {statistics.median(cpus) * 1e3:6.1f} ms "
            f"(best {min(cpus) * 1e3:.1f})  wall {statistics.median(walls) * 1e3:.1f} ms; {load()}"
        )


if __name__ == "__main__":
    main()

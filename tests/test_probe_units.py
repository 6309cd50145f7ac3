"""The pure parts of probing: the seeded stratified sample of a large suite, and the change-point
flag on a per-probe series."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from reviewer.probe import cusum_flags, stratified_sample
from reviewer.suite import Case, load_suite


def cases(spec: dict[str, int]) -> list[Case]:
    out = []
    for tag, n in spec.items():
        out += [Case(id=f"{tag or 'none'}-{i}", tags=[tag] if tag else [], prompt="x") for i in range(n)]
    return out


def test_sample_is_proportional_per_tag_seeded_and_in_suite_order():
    all_cases = cases({"facts": 60, "json": 30, "safety": 9, "": 1})
    got = stratified_sample(all_cases, 20, seed=0)
    assert len(got) == 20
    per = Counter(c.tags[0] if c.tags else "" for c in got)
    assert per == {"facts": 11, "json": 6, "safety": 2, "": 1}  # every stratum, then by size
    assert [c.id for c in got] == [c.id for c in all_cases if c in got]  # suite order kept
    assert [c.id for c in stratified_sample(all_cases, 20, seed=0)] == [c.id for c in got]  # same seed, same cases
    assert [c.id for c in stratified_sample(all_cases, 20, seed=1)] != [c.id for c in got]


def test_sample_edges():
    all_cases = cases({"a": 3, "b": 3, "c": 3})
    assert stratified_sample(all_cases, 50) == all_cases
    two = stratified_sample(all_cases, 2, seed=3)
    assert len(two) == 2 and len({c.tags[0] for c in two}) == 2  # fewer cases than tags: one from each of two


def test_cusum_flags_a_slow_drift_no_single_step_shows():
    steady = [0.10, 0.11, 0.09, 0.10, 0.11, 0.10, 0.09, 0.10]
    assert not any(cusum_flags(steady))
    # +1.5 points a probe: each step is small next to the warm-up spread, the sum is not
    drift = [0.10, 0.11, 0.09] + [0.10 + 0.015 * i for i in range(1, 10)]
    flags = cusum_flags(drift)
    assert any(flags) and not any(flags[:5])
    assert cusum_flags([0.1, None, 0.1, 0.1, 0.9]) == [False, False, False, False, True]
    assert not any(cusum_flags([0.5, 0.9]))  # too few points to say anything


def test_the_example_probe_suite_loads_and_is_big_enough_to_tell():
    loaded = load_suite(Path(__file__).resolve().parent.parent / "suites" / "probe.yaml")
    # a flip of every case must survive Holm over the metrics that move with it (p = 2 / 2^n)
    assert len(loaded.suite.cases) >= 9
    assert len({c.tags[0] for c in loaded.suite.cases}) >= 4

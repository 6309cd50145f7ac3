"""StoreReader.run_tallies: the gate's per-case counts and a run's answer origins from one scan
are exactly sample_counts and answer_origins (errors, samples out of range, models and
fingerprints missing or several, in the same order)."""

from __future__ import annotations

import random

from test_analysis import make_comparison

from reviewer.store import Output


def test_one_scan_counts_what_the_two_scans_count(tmp_path):
    store, cid = make_comparison(tmp_path, {f"c{i}": (["a"], ["b"]) for i in range(40)})
    comp = store.comparison(cid)
    rng = random.Random(4)
    models, prints = [None, "gpt-x-2025", "gpt-x-2026", "Ünï-model"], [None, "fp_1", "fp_2"]
    outs = []
    for i in range(40):
        for sample in range(rng.choice([0, 1, 3, 5])):  # some cases short, some beyond the run's samples
            failed = rng.random() < 0.2
            outs.append(Output(f"c{i}", sample, None if failed else f"answer {i}", error="boom" if failed else None,
                               resolved_model=rng.choice(models), system_fingerprint=rng.choice(prints)))  # fmt: skip
    store.save_outputs(comp.candidate_run_id, outs)
    with store.reader() as reader:
        for run_id in (comp.baseline_run_id, comp.candidate_run_id):
            for samples in (0, 1, 3, 9):
                counts, origins = reader.run_tallies(run_id, samples)
                assert counts == store.sample_counts(run_id, samples)
                assert origins == reader.answer_origins(run_id)
                assert [list(m) for m in origins[2:]] == [list(m) for m in reader.answer_origins(run_id)[2:]]  # same order
    store.close()

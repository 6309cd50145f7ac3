"""Writes pairs.jsonl next to this file: the labelled set of `reviewer judge` (python make_pairs.py).

Five styles: the candidate states a wrong fact (candidate_worse) or corrects one (candidate_better),
both right in other words (equivalent), the candidate right but padded (verbosity_only), and both
right, reworded to the same length (position_only: only the position could decide). ``expected``
gives each pair's combined verdict under the scripted judges of tests/test_judge_logic.py;
``label`` what a reviewer would say.
"""

import json
from pathlib import Path

facts = [
    ("What is the capital of Australia?", "Canberra", "Sydney"),
    ("How many days does the refund window last?", "30 days", "14 days"),
    ("What is 17 * 23?", "391", "401"),
    ("Which HTTP status means 'Too Many Requests'?", "429", "503"),
    ("What is the boiling point of water at sea level in Celsius?", "100", "90"),
    ("Who wrote 'Pride and Prejudice'?", "Jane Austen", "Charlotte Brontë"),
    ("What is the chemical symbol for gold?", "Au", "Ag"),
    ("Which planet is closest to the sun?", "Mercury", "Venus"),
    ("In Python, which keyword defines a function?", "def", "func"),
    ("What port does HTTPS use by default?", "443", "8080"),
    ("Translate 'thank you' into German.", "Danke", "Bitte"),
    ("What is the square root of 144?", "12", "14"),
    ("Which SQL clause filters groups?", "HAVING", "WHERE"),
    ("What is the largest ocean?", "Pacific", "Atlantic"),
]
pairs = []


def add(style, prompt, ref, base, cand, expected, label):
    pairs.append(
        dict(
            id=f"{style}-{sum(p['style'] == style for p in pairs) + 1:02d}",
            style=style,
            prompt=prompt,
            reference=ref,
            baseline=base,
            candidate=cand,
            expected=expected,
            label=label,
        )
    )


# the candidate clearly worse: wrong fact
for q, right, wrong in facts[:13]:
    add(
        "candidate_worse",
        q,
        right,
        f"The answer is {right}.",
        f"The answer is {wrong}.",
        dict(
            fair="baseline_better",
            position_first="inconsistent",
            prefers_first_on_ties="baseline_better",
            prefers_longer_on_ties="baseline_better",
        ),
        "regression",
    )
# the candidate clearly better
for q, right, wrong in facts[1:14]:
    add(
        "candidate_better",
        q,
        right,
        f"I believe it is {wrong}.",
        f"It is {right}.",
        dict(
            fair="candidate_better",
            position_first="inconsistent",
            prefers_first_on_ties="candidate_better",
            prefers_longer_on_ties="candidate_better",
        ),
        "improvement",
    )
# equivalent, different wording, different lengths
for q, right, _wrong in facts[:12]:
    add(
        "equivalent",
        q,
        right,
        f"{right}.",
        f"That would be {right}, as far as I know.",
        dict(
            fair="tie",
            position_first="inconsistent",
            prefers_first_on_ties="inconsistent",
            prefers_longer_on_ties="candidate_better",
        ),
        "acceptable",
    )
# verbosity only: same answer, the candidate pads it
for q, right, _wrong in facts[2:14]:
    add(
        "verbosity_only",
        q,
        right,
        f"The answer is {right}.",
        f"Great question! The answer is {right}. I hope this helps; let me know if you have any other questions, "
        "and remember that details may vary depending on context.",
        dict(
            fair="tie",
            position_first="inconsistent",
            prefers_first_on_ties="inconsistent",
            prefers_longer_on_ties="candidate_better",
        ),
        "noise",
    )
# only position could decide: same length, same content, reworded
for q, right, _wrong in facts[:12]:
    a, b = f"Answer: {right}.", f"Result: {right}."
    assert len(a) == len(b)
    add(
        "position_only",
        q,
        right,
        a,
        b,
        dict(fair="tie", position_first="inconsistent", prefers_first_on_ties="inconsistent", prefers_longer_on_ties="tie"),
        "acceptable",
    )
with open(Path(__file__).with_name("pairs.jsonl"), "w") as f:
    for p in pairs:
        f.write(json.dumps(p, ensure_ascii=False) + "\n")
print(len(pairs))

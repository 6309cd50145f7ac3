"""The Markdown changelog for people: the body (what the body digest covers), then the sign-off block.

Untrusted text reaches the document only through :mod:`reviewer.export.mdescape` (``code``,
``fenced``, ``prose``), so model output cannot become Markdown structure.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TextIO

from ...diff.excerpt import EXCERPT_WIDTH, diff_excerpt
from ...diff.score import FLAG_LABELS
from ...diff.toolcalls import TOOL_CHANGE_LABELS
from ..mdescape import code, fenced, prose
from ..plural import plural
from ..signing import NAMESPACE, body_digest, signoff_marker, split_lines
from .ahead import Ahead
from .model import (
    CaseEntry,
    Changelog,
    FlipTest,
    JudgeSection,
    LabelEntry,
    Metric,
    SideInfo,
    SignaturePlan,
    ToolChangeEntry,
    require_figures,
)

__all__ = [
    "GROUP_IDS", "GROUP_NOTES", "GROUP_OVER", "UNREVIEWED_LISTED", "ExcerptsAhead", "render_body", "render_markdown",
    "render_signoff",
]  # fmt: skip

#: Unreviewed cases listed one per line before "… and N more".
UNREVIEWED_LISTED = 100
#: Improvements and acceptable changes are listed one per line up to this many; beyond, they are
#: grouped: counts by tag and by note, each with its first GROUP_IDS ids and "+N more".
GROUP_OVER = 10
GROUP_IDS = 3
#: Notes listed in a grouped section (the most common first; every label is in the JSON export).
GROUP_NOTES = 10


def _when(iso: str | datetime | None) -> str:
    """``2025-01-02 10:00 UTC`` (minutes are enough for people; the JSON keeps full times)."""
    if iso is None or iso == "":
        return "—"
    try:
        dt = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return prose(str(iso))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    s = f"{x * 100:.1f}"
    return ("0" if s in ("0.0", "-0.0") else s.removesuffix(".0")) + "%"


def _amount(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    if unit == "rate":
        return _pct(x)
    if unit == "usd":
        return f"${x:,.2f}" if x >= 0.1 or x == 0 else f"${x:,.4f}"
    if unit == "ms":
        return f"{x:,.0f} ms"
    if abs(x - round(x)) < 1e-9:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def _p(p: float) -> str:
    """``p = 0.25``, ``p = 0.031``, ``p < 0.001``."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.1 else f"p = {p:.3f}"


def _change_text(m: Metric) -> str | None:
    ch = m.change
    if ch is None:
        return None
    if m.unit == "rate":
        pp = ch * 100
        return "±0 pp" if abs(pp) < 0.05 else f"{pp:+.1f} pp"
    if math.isinf(ch):
        return "new"
    pc = ch * 100
    return "±0%" if abs(pc) < 0.5 else f"{pc:+.0f}%"


def _change(m: Metric) -> str:
    """The change, with its p-value (the adjusted one for per-tag rows). Bold only when it is
    outside the tolerance *and* significant; a change within noise says so and is never bold."""
    text = _change_text(m)
    if text is None:
        return "—"
    if text.startswith("±0"):
        return text
    if m.p_adjusted is None:  # nothing to test it on: the tolerance alone decides
        return text if m.within_tolerance else f"**{text}**"
    if not m.significant:
        return f"{text}, {_p(m.p_adjusted)}, within noise"
    return f"{text} ({_p(m.p_adjusted)})" if m.within_tolerance else f"**{text}** ({_p(m.p_adjusted)})"


def _consistency(c: CaseEntry) -> str | None:
    """``pass^2 yes → no, sample flips 0 → 0.5`` (None: no checks, or one sample a side)."""
    k = c.consistency
    if k is None or max(k.baseline.k, k.candidate.k) < 2:
        return None
    b, d = k.baseline, k.candidate

    def yn(x: bool) -> str:
        return "yes" if x else "no"

    text = (f"pass^{b.k} {yn(b.pass_k)} → {yn(d.pass_k)}" if b.k == d.k
            else f"pass^{b.k} {yn(b.pass_k)} → pass^{d.k} {yn(d.pass_k)}")  # fmt: skip
    if b.flip_rate or d.flip_rate:
        text += f", sample flips {_rate2(b.flip_rate)} → {_rate2(d.flip_rate)}"
    return text


def _rate2(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}".rstrip("0").rstrip(".") if x else "0"


def _significant_changes(cl: Changelog) -> list[str]:
    """The significant metric changes, overall then per tag, as short phrases."""
    out = [f"{m.name} {_change_text(m)} ({_p(m.p_adjusted)})" for m in cl.metrics
           if m.significant and m.p_adjusted is not None]  # fmt: skip
    for t in cl.tags:
        out += [f"{code(t.tag)} {m.name} {_change_text(m)} ({_p(m.p_adjusted)}, Holm)" for m in t.metrics.values()
                if m.significant and m.p_adjusted is not None]  # fmt: skip
    return out


def _p_cell(p: float | None, significant: bool) -> str:
    if p is None:
        return "—"
    return _p(p).removeprefix("p = ") + ("" if significant else " (within noise)")


def _flip_p(t: FlipTest) -> str:
    if t.p_value is None:
        return ""
    return f" (McNemar {_p(t.p_value)}{'' if t.significant else ', within noise'})"


def _tolerance(m: Metric) -> str:
    return f"±{m.tolerance * 100:.0f} pp" if m.unit == "rate" else f"±{m.tolerance * 100:.0f}%"


def _tags(tags: Sequence[str]) -> str:
    return " ".join(code(t) for t in tags) if tags else "—"


def _flags(c: CaseEntry) -> str:
    words = []
    for f in c.flags:
        w = FLAG_LABELS.get(f, f)
        if f == "format_drift" and c.format_drift:
            w += " (" + "; ".join(c.format_drift) + ")"
        words.append(w)
    return ", ".join(words)


def _name(identity: str) -> str:
    """ "Ada Lovelace <ada@example.com>" → "Ada Lovelace" (the full identity is in the header)."""
    m = re.fullmatch(r"\s*(.+?)\s*<[^<>]*>\s*", identity)
    return m.group(1) if m else identity


def _label_line(lab: LabelEntry) -> str:
    sev = f", {lab.severity_name} severity" if lab.severity_name else ""
    note = f": {prose(lab.note)}" if lab.note and lab.note.strip() else ""
    return f"**{prose(_name(lab.reviewer))}** ({_when(lab.at)}) {lab.verdict}{sev}{note}"


def _parts(parts: Sequence[tuple[str, str]]) -> str:
    return "".join(code(t, limit=120) if k == "code" else prose(t, strip=False) for k, t in parts)


def _side_rows(cl: Changelog) -> list[str]:
    b, c = cl.baseline, cl.candidate

    def seen(d: dict[str, int]) -> str:
        if not d:
            return "—"
        return "<br>".join(f"{code(k, table=True, limit=80)} ({n})" for k, n in d.items())

    def params(p: dict[str, Any]) -> str:
        return code(json.dumps(p, ensure_ascii=False, sort_keys=True), table=True, limit=200) if p else "—"

    def dates(s: SideInfo) -> str:
        start = _when(s.started_at)
        if not s.finished_at:
            return f"{start} ({s.status})"
        end = _when(s.finished_at)
        if end[:10] == start[:10]:
            return f"{start.removesuffix(' UTC')} → {end[11:]}"
        return f"{start} → {end}"

    rows = [
        ("Requested model", code(b.shown, table=True), code(c.shown, table=True)),
        ("Resolved model ids seen", seen(b.resolved_models), seen(c.resolved_models)),
        ("System fingerprints seen", seen(b.fingerprints), seen(c.fingerprints)),
        ("Parameters", params(b.params), params(c.params)),
        ("Samples per case", str(b.samples), str(c.samples)),
        ("Answers (errors)", f"{b.outputs:,} ({b.errors:,})", f"{c.outputs:,} ({c.errors:,})"),
        ("Run", dates(b), dates(c)),
    ]
    if b.label or c.label:
        rows.insert(1, ("Run label", prose(b.label or "—"), prose(c.label or "—")))
    if b.base_url or c.base_url:
        rows.insert(1, ("Endpoint", code(b.base_url, table=True) if b.base_url else "—",
                        code(c.base_url, table=True) if c.base_url else "—"))  # fmt: skip
    lines = ["| | Baseline | Candidate |", "|---|---|---|"]
    lines += [f"| {name} | {x} | {y} |" for name, x, y in rows]
    return lines


def _collapsed(ids: Sequence[str], shown: int = GROUP_IDS) -> str:
    """``a``, ``b``, ``c`` … +9 more (ids as code spans, in triage order)."""
    head = ", ".join(code(x) for x in ids[:shown])
    return head + (f" … +{len(ids) - shown:,} more" if len(ids) > shown else "")


def _grouped(items: Sequence[CaseEntry], verdict: str) -> list[str]:
    """Many improvements or acceptable changes, grouped: by tag with their most common flags,
    then by the note that explains them (who wrote it), each with its ids collapsed."""
    n = len(items)
    lines = [(f"{plural(n, 'case')} labelled {verdict}, grouped (a case with several tags counts under each; "
              "each case and label is in the JSON export)."), ""]  # fmt: skip
    by_tag: dict[str, list[CaseEntry]] = defaultdict(list)
    untagged: list[CaseEntry] = []
    for c in items:
        for t in c.tags:
            by_tag[t].append(c)
        if not c.tags:
            untagged.append(c)
    groups = sorted(by_tag.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    if untagged:
        groups.append(("", untagged))
    lines += ["**By tag**", ""]
    for tag, members in groups:
        flags = Counter(FLAG_LABELS.get(f, f) for c in members for f in c.flags)
        common = ", ".join(f"{w} {k}" for w, k in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        name = code(tag) if tag else "untagged"
        lines.append(f"- {name} ({len(members):,}): {_collapsed([c.id for c in members])}" + (f" · {common}" if common else ""))
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    silent = 0
    for c in items:
        eff = c.effective
        if eff is None or not (eff.note and eff.note.strip()):
            silent += 1
            continue
        notes[(" ".join(eff.note.split()), _name(eff.reviewer))].append(c.id)
    if notes:
        lines += ["", "**Notes**", ""]
        ranked = sorted(notes.items(), key=lambda kv: -len(kv[1]))  # stable: first seen first on ties
        for (note, who), ids in ranked[:GROUP_NOTES]:
            lines.append(f"- {prose(who)}: {prose(note, limit=EXCERPT_WIDTH)} ({len(ids):,}: {_collapsed(ids)})")
        rest = ranked[GROUP_NOTES:]
        if rest:
            lines.append(f"- … {plural(len(rest), 'more note')} on {plural(sum(len(i) for _, i in rest), 'case')}")
        if silent:
            lines.append(f"- {plural(silent, 'case')} without a note")
    return lines


#: The Tool calls section's groups, in the order listed (over-quoting apart from other type changes).
TOOL_GROUP_LABELS: dict[str, str] = {"over_quoted": "over-quoted argument (a value became a string that spells it)",
                                     **TOOL_CHANGE_LABELS}  # fmt: skip


def _json_code(v: Any) -> str:
    try:
        text = json.dumps(v, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = str(v)
    return code(text, limit=60)


def _tool_example(ch: ToolChangeEntry) -> str:
    """One change in words; names, paths and values (model output) only inside code spans."""
    bits = [code(ch.name, limit=60)]
    if ch.new_name is not None:
        bits.append(f"→ {code(ch.new_name, limit=60)}")
    if ch.path is not None:
        bits.append(code(ch.path, limit=60) + (f" → {code(ch.new_path, limit=60)}" if ch.new_path else ""))
    if ch.kind in ("arg_changed", "arg_type_changed", "arg_renamed"):
        bits.append(f"{_json_code(ch.old)} → {_json_code(ch.new)}")
    elif ch.kind == "arg_added":
        bits.append(_json_code(ch.new))
    elif ch.kind == "arg_removed":
        bits.append(_json_code(ch.old))
    return " ".join(bits)


def _tool_section(cl: Changelog) -> list[str]:
    t = cl.tool_calls
    if t is None:
        return []
    lines = ["## Tool calls", ""]
    if not t.changed:
        lines += [f"No case's tool calls changed beyond the baseline's own variation "
                  f"({plural(t.cases_with_tools, 'case')} with tools).", ""]  # fmt: skip
        return lines
    lines += [f"{plural(t.changed, 'case')} of {plural(t.cases_with_tools, 'case')} with tools call differently "
              "beyond the baseline's own variation (flag: tool drift), by kind of change (a case can show "
              "several; each change is in the JSON export). Example: the first case's change.", ""]  # fmt: skip
    by_id = {c.id: c for c in cl.cases}
    order = list(TOOL_GROUP_LABELS)
    for g, ids in sorted(t.groups.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])):
        ex = next((ch for ch in by_id[ids[0]].tool_changes if ch.group == g), None)
        tail = f" · e.g. {_tool_example(ex)}" if ex is not None else ""
        lines.append(f"- **{TOOL_GROUP_LABELS.get(g, g)}** ({len(ids):,}): {_collapsed(ids)}{tail}")
    lines.append("")
    return lines


def _share(r: dict[str, Any] | None) -> str:
    if not r or r.get("share") is None:
        return "—"
    ci = r.get("ci95")
    interval = f", 95% CI {_pct(ci[0])}–{_pct(ci[1])}" if ci else ""
    return f"{_pct(r['share'])} ({r['k']:,} of {r['n']:,}{interval})"


def _judge_section(j: JudgeSection | None) -> list[str]:
    if j is None:
        return []
    r = j.report
    v = r.get("verdicts", {})
    models = ", ".join(code(m) for m in j.resolved_models) or "not reported"
    lines = ["## Judge (a suggestion, not a review)", "",
             "A model judged the baseline's and the candidate's answers in both orders (`reviewer judge`). Its "
             "verdicts are suggestions: none is counted as a label or a review above, and none signs anything off. "
             "The figures below say how far it can be trusted on this suite.", "",
             f"- **Judge**: {code(j.judge)} (answered as {models}) · rubric sha256 {code(j.rubric_digest[:16])}",
             f"- **Cases judged**: {r.get('judged', 0):,} — {v.get('candidate_better', 0):,} candidate better, "
             f"{v.get('baseline_better', 0):,} baseline better, {v.get('tie', 0):,} tie, "
             f"{v.get('inconsistent', 0):,} inconsistent (the order decided), {v.get('unparsed', 0):,} unreadable"]  # fmt: skip
    agreement = r.get("agreement")
    if agreement:
        kappa = r.get("kappa")
        lines.append(f"- **Agreement with reviewers** (cases judged and labelled): {_share(agreement)}; Cohen's κ "
                     f"{'—' if kappa is None else f'{kappa:.2f}'}")  # fmt: skip
    else:
        lines.append("- **Agreement with reviewers**: unknown (no case is both judged and labelled)")
    lines += [f"- **Position bias** (non-tie answers that chose Answer 1; 50% is unbiased): {_share(r.get('position_bias'))}",
              f"- **Length bias** (non-tie answers that chose the longer answer): {_share(r.get('length_bias'))}",
              f"- **Flip rate** (pairs whose choice changed when the answers swapped places): {_share(r.get('flip_rate'))}"]  # fmt: skip
    if j.others:
        lines.append(f"- {plural(len(j.others), 'other judge run')} on this comparison not shown (the latest is)")
    lines.append("")
    return lines


class ExcerptsAhead(Ahead):
    """The regressions' diff excerpts made by a forked child from the moment the cases are final
    (see :mod:`.ahead`): aligning 1,372 pairs takes ~0.45 s, which the child spends while this
    process still makes the changelog's sums. :meth:`excerpts` gives them to the renderer."""

    def __call__(self, cases: Sequence[CaseEntry], digest: object = None) -> None:
        self._start(cases, partial(_write_excerpts, cases=cases))

    def excerpts(self, cases: Sequence[CaseEntry]) -> dict[str, tuple[str, str]] | None:
        """Each shown case's (info, excerpt) by id, from the child started for these cases; None
        when there is none or it failed (the renderer makes them)."""
        child = self.take(cases)
        if child is None:
            return None
        try:
            if not child.done():
                return None
            rows = json.loads("".join(child.pieces()))
            return {cid: (info, text) for cid, info, text in rows}
        except (OSError, ValueError, TypeError):
            return None
        finally:
            child.close()


def _write_excerpts(out: TextIO, *, cases: Sequence[CaseEntry]) -> None:
    # ASCII JSON: every string (even one a model made odd) reads back exactly
    out.write(json.dumps([[c.id, *diff_excerpt(*c.texts)] for c in cases if c.texts is not None]))


def render_body(cl: Changelog, excerpts: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The document body: everything above the sign-off block (what the body digest covers).
    ``excerpts``: the regressions' diff excerpts by case id, made ahead (any missing is made here)."""
    require_figures(cl)
    s = cl.summary
    out: list[str] = []
    add = out.append

    # 1. header
    add(f"# Behavioural changelog: {prose(cl.suite_name)}")
    add("")
    name = f" ({prose(cl.comparison_name)})" if cl.comparison_name else ""

    def who(side: SideInfo) -> str:
        resolved = list(side.resolved_models)
        shown = code(side.shown)
        if len(resolved) == 1 and resolved[0] != side.model:
            shown = f"{shown} ({code(resolved[0])})"
        return f"{prose(side.label)} ({shown})" if side.label and side.label.strip() else shown

    add(f"{who(cl.baseline)} → {who(cl.candidate)} · comparison #{cl.comparison_id}{name} · "
        f"suite {prose(cl.suite_name)} ({plural(s.cases, 'case')}, sha256 {code(cl.suite_digest[:16])})")  # fmt: skip
    add("")
    out += _side_rows(cl)
    add("")
    reviewers = ", ".join(prose(r) for r in cl.reviewers) if cl.reviewers else "none yet"
    add(f"Reviewers: {reviewers}.  ")
    add(f"Generated {_when(cl.generated_at)} by {prose(cl.generated_by or 'unknown')} with {prose(cl.tool)}.")
    add("")

    # 2. verdict summary
    add("## Verdict")
    add("")
    headline = []
    if s.regressions:
        sev = ", ".join(f"{n} {k}" for k, n in s.regressions_by_severity.items() if k != "unset")
        headline.append(f"**{plural(s.regressions, 'regression')}**" + (f" ({sev})" if sev else ""))
    else:
        headline.append("**no regressions**")
    if s.checked_cases:
        headline.append(
            f"**{plural(s.negative_flips, 'negative flip')}** ({_pct(s.negative_flip_rate)} of "
            f"{plural(s.checked_cases, 'checked case')})"
        )
    headline.append(plural(s.improvements, "improvement"))
    if s.unreviewed:
        headline.append(f"**{plural(s.unreviewed, 'unreviewed change')}**")
    add(" · ".join(headline))
    add("")
    sig = _significant_changes(cl)
    alpha = cl.significance.alpha if cl.significance else 0.05
    if sig:
        add(f"- **Significant changes** (paired tests over cases, α = {alpha:g}): " + "; ".join(sig) + ".")
    else:
        add(f"- **Significant changes** (paired tests over cases, α = {alpha:g}): none; every metric change "
            "is within noise.")  # fmt: skip
    if s.noise_unknown:
        one = cl.baseline.samples == 1 and cl.candidate.samples == 1
        why = "1 sample a side" if one else "fewer than 2 usable samples a side"
        add(f"- **Noise floor unknown**: {why} on {plural(s.noise_unknown, 'case')}, so "
            f"{'it' if s.noise_unknown == 1 else 'they'} cannot be told from sampling noise (replay with "
            "--samples 3 or more).")  # fmt: skip
    add(f"- **Cases**: {s.cases:,} — {s.unchanged:,} unchanged, {s.noise:,} within the noise floor, "
        f"{s.changed:,} changed or flagged.")  # fmt: skip
    add(f"- **Reviewed** (a case's verdict is its latest label): {plural(s.regressions, 'regression')}, "
        f"{plural(s.improvements, 'improvement')}, {s.acceptable:,} acceptable, "
        f"{s.labelled_noise:,} noise; {plural(s.unreviewed, 'changed case')} unreviewed.")  # fmt: skip
    if s.checked_cases:
        waived = f" ({s.negative_flips_waived} judged not a regression by a reviewer)" if s.negative_flips_waived else ""
        add(f"- **Check flips** (a side passes a check when most of its samples do): {s.negative_flips:,} "
            f"negative ({_pct(s.negative_flip_rate)}){waived}, {s.positive_flips:,} positive "
            f"({_pct(s.positive_flip_rate)}) of {plural(s.checked_cases, 'case')} with checks"
            f"{_flip_p(s.flips_test)}.")  # fmt: skip
    if s.disagreements:
        add(f"- **Disagreements**: reviewers gave different verdicts on {plural(s.disagreements, 'case')}; "
            "the latest label counts (listed below).")  # fmt: skip
    if cl.new_cases and cl.previous_comparison:
        pid, pat = cl.previous_comparison
        add(f"- **New cases** since comparison #{pid} ({_when(pat)}): " + ", ".join(code(x) for x in cl.new_cases) + ".")
    if cl.warnings:
        add(f"- ⚠ **{plural(len(cl.warnings), 'provenance warning')}**: see [Provenance](#provenance).")
    add("")
    if cl.checks:
        add("| Check | Cases | Passing before | Passing after | Negative flips | Positive flips | McNemar p (Holm) |")
        add("|---|---:|---:|---:|---:|---:|---:|")
        for r in cl.checks:
            add(f"| {code(r.kind, table=True)} | {r.cases:,} | {r.baseline_passing:,} ({_pct(r.baseline_passing / r.cases)}) "
                f"| {r.candidate_passing:,} ({_pct(r.candidate_passing / r.cases)}) | {r.negative_flips:,} | {r.positive_flips:,} "
                f"| {_p_cell(r.p_adjusted, r.significant)} |")  # fmt: skip
        add("")

    # 3. behaviour deltas
    add("## Behaviour deltas")
    add("")
    add("Over every answered sample. Each change carries the p-value of a paired test over cases (a rate: "
        "McNemar or sign-flip; an amount: a sign test on the per-case change); per-tag p-values are Holm-adjusted "
        "across the tags. A change that is not significant says \"within noise\"; changes outside the "
        "tolerance and significant are in bold. Intervals are in the JSON export.")  # fmt: skip
    add("")
    add("| Metric | Baseline | Candidate | Change | Tolerance |")
    add("|---|---:|---:|---:|---:|")
    fd = sum(1 for c in cl.cases if "format_drift" in c.flags)
    for m in cl.metrics:
        add(f"| {m.name} | {_amount(m.baseline, m.unit)} | {_amount(m.candidate, m.unit)} | {_change(m)} | {_tolerance(m)} |")
    add(f"| Cases whose format drifted | — | {fd:,} of {s.cases:,} | {'**' + str(fd) + '**' if fd else '0'} | 0 |")
    add("")

    # 4. per tag
    if cl.tags:
        add("## By tag")
        add("")
        tooled = any("tool_call_rate" in t.metrics for t in cl.tags)
        extra = " Tool calls | Valid tool arguments |" if tooled else ""
        add(
            "| Tag | Cases | Changed | Negative flips | Regressions | Unreviewed | Median words | Refusals | Valid JSON |" + extra
        )
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if tooled else ""))
        for t in cl.tags:
            mw, rf, js = t.metrics.get("words_median"), t.metrics.get("refusal_rate"), t.metrics.get("json_valid_rate")

            def pair(m: Metric | None) -> str:
                if m is None:
                    return "—"
                return f"{_amount(m.baseline, m.unit)} → {_amount(m.candidate, m.unit)} ({_change(m)})"

            add(f"| {code(t.tag, table=True)} | {t.cases:,} | {t.changed:,} | {t.negative_flips:,} | {t.regressions:,} "
                f"| {t.unreviewed:,} | {pair(mw)} | {pair(rf)} | {pair(js)} |"
                + (f" {pair(t.metrics.get('tool_call_rate'))} | {pair(t.metrics.get('tool_args_valid_rate'))} |"
                   if tooled else ""))  # fmt: skip
        add("")

    out.extend(_tool_section(cl))

    # 5. regressions, improvements, acceptable, unreviewed
    regressions = [c for c in cl.cases if c.verdict == "regression"]
    order = {3: 0, 2: 1, 1: 2}
    regressions.sort(key=lambda c: (order.get(c.effective.severity or 0, 3), c.rank))  # type: ignore[union-attr]
    add("## Regressions")
    add("")
    if not regressions:
        add("None labelled.")
        add("")
    for c in regressions:
        eff = c.effective
        assert eff is not None
        sev = f" — {eff.severity_name} severity" if eff.severity_name else ""
        add(f"### {code(c.id)}{sev}")
        add("")
        facts = ([f"Tags: {_tags(c.tags)}"] if c.tags else []) + [
            f"change {c.change:.2f}" + (f" (noise floor {c.within:.2f})" if c.within is not None else "")
        ]
        if c.flags:
            facts.append(f"flags: {_flags(c)}")
        if (k := _consistency(c)) is not None:
            facts.append(k)
        failing = [ch.check for ch in c.checks if ch.baseline.passed and not ch.candidate.passed]
        if failing:
            facts.append("now failing: " + ", ".join(code(x, limit=80) for x in failing))
        add(" · ".join(facts) + ("  " if c.origin else ""))
        if c.origin:
            add(f"Origin: {prose(c.origin)}")
        add("")
        for lab in c.labels:
            add(f"- {_label_line(lab)}")
        add("")
        if c.texts is not None:
            made = excerpts.get(c.id) if excerpts is not None else None
            info, excerpt = made if made is not None else diff_excerpt(*c.texts)
            add(fenced(excerpt, info))
            add("")

    def one_liners(title: str, verdict: str) -> None:
        items = [c for c in cl.cases if c.verdict == verdict]
        add(f"## {title}")
        add("")
        if not items:
            add("None labelled.")
            add("")
            return
        if len(items) > GROUP_OVER:
            out.extend(_grouped(items, verdict))
            add("")
            return
        for c in items:
            eff = c.effective
            assert eff is not None
            bits = [code(c.id)]
            if c.tags:
                bits.append(_tags(c.tags))
            if c.flags:
                bits.append(_flags(c))
            if (k := _consistency(c)) is not None:
                bits.append(k)
            note = f": {prose(eff.note)}" if eff.note and eff.note.strip() else ""
            bits.append(f"{prose(_name(eff.reviewer))}{note}")
            add("- " + " · ".join(bits))
        add("")

    one_liners("Improvements", "improvement")
    one_liners("Acceptable changes", "acceptable")

    unreviewed = cl.unreviewed
    if unreviewed:
        add("## Unreviewed changes")
        add("")
        n = len(unreviewed)
        add(f"{plural(n, 'case')} changed above the noise floor or {'was' if n == 1 else 'were'} flagged, "
            "and nobody labelled them yet.")  # fmt: skip
        add("")
        for c in unreviewed[:UNREVIEWED_LISTED]:
            bits = [code(c.id), f"change {c.change:.2f}"]
            if c.flags:
                bits.append(_flags(c))
            if (k := _consistency(c)) is not None:
                bits.append(k)
            if c.tags:
                bits.append(_tags(c.tags))
            add("- " + " · ".join(bits))
        if len(unreviewed) > UNREVIEWED_LISTED:
            add(f"- … and {len(unreviewed) - UNREVIEWED_LISTED:,} more (all are in the JSON export)")
        add("")

    disagreements = [c for c in cl.cases if c.disagreement]
    if disagreements:
        add("## Reviewer disagreements")
        add("")
        add("The latest label is the case's verdict; every label is listed.")
        add("")
        for c in disagreements:
            eff = c.effective
            assert eff is not None
            each = "; ".join(
                f"{prose(_name(lab.reviewer))}: {lab.verdict}" + (f" ({lab.severity_name})" if lab.severity_name else "")
                for lab in c.labels
            )
            add(f"- {code(c.id)}: {each} → **{eff.verdict}**")
        add("")

    out.extend(_judge_section(cl.judge))

    # 6. what did not change
    add("## What did not change")
    add("")
    steady = [m for m in cl.metrics if m.within_tolerance]
    if steady:
        add("- **Metrics within tolerance**: " + "; ".join(
            f"{m.name} {_amount(m.baseline, m.unit)} → "
            f"{_amount(m.candidate, m.unit)} ({_tolerance(m)})" for m in steady) + ".")  # fmt: skip
    else:
        add("- **Metrics within tolerance**: none.")
    noisy_m = [(m, m.p_adjusted) for m in cl.metrics if m.p_adjusted is not None and not m.significant
               and not (_change_text(m) or "±0").startswith("±0")]  # fmt: skip
    if noisy_m:
        add("- **Changes within noise** (not significant): " + "; ".join(
            f"{m.name} {_change_text(m)} ({_p(p)})" for m, p in noisy_m) + ".")  # fmt: skip
    quiet = [t for t in cl.tags if t.changed == 0]
    if quiet:
        add("- **Tags with no change**: " + ", ".join(f"{code(t.tag)} ({plural(t.cases, 'case')})" for t in quiet) + ".")
    elif cl.tags:
        add("- **Tags with no change**: none: every tag has a changed case.")
    holding = []
    for r in cl.checks:
        still = r.baseline_passing - r.negative_flips
        if still:
            holding.append(f"{code(r.kind)} on {still:,} of {plural(r.cases, 'case')}")
    if holding:
        add("- **Checks still passing**: " + ", ".join(holding) + ".")
    add(f"- **Unchanged cases**: {s.unchanged:,} identical, {s.noise:,} within the noise floor "
        "(the candidate differs from the baseline no more than the baseline differs from itself).")  # fmt: skip
    if s.labelled_noise:
        noisy = [c.id for c in cl.cases if c.verdict == "noise"]
        shown = ", ".join(code(x) for x in noisy[:20]) + (f" and {len(noisy) - 20:,} more" if len(noisy) > 20 else "")
        add(f"- **Labelled noise by a reviewer**: {shown}.")
    add("")

    # 7. provenance
    add("## Provenance")
    add("")
    if cl.warning_parts:
        for w in cl.warning_parts:
            add(f"- ⚠ {_parts(w)}.")
    else:
        add("No warnings: each run answered with one resolved model and fingerprint"
            + (", the same on both sides." if cl.baseline.spec == cl.candidate.spec else "."))  # fmt: skip
    add("")
    return "\n".join(out)


def render_signoff(cl: Changelog, body: str, *, filename: str, signature: SignaturePlan | None = None) -> str:
    """The sign-off block that follows ``body``: its marker line, the sign-offs, the digest and how
    to check it (and the signature) without reviewer."""
    n = len(split_lines(body))
    digest = body_digest(body)

    def block(signed_lines: int) -> str:
        out = [signoff_marker(body), "## Sign-off", ""]
        if cl.signoffs:
            out += ["| Signed off by | When | Note | Reviewed state |", "|---|---|---|---|"]
            for s in cl.signoffs:
                state = {True: "current", False: "⚠ changed since (labels or outputs)", None: "not recorded"}[s.current]
                out.append(f"| {prose(s.signer)} | {_when(s.at)} | {prose(s.note) if s.note else '—'} | {state} |")
        else:
            out.append("Not signed off yet (record an approval with `reviewer signoff`).")
        out.append("")
        out.append(f"**Body digest**: SHA-256 of lines 1–{n} of this file (UTF-8, LF line endings): {code(digest)}.  ")
        out.append(f"Check it without reviewer: {code(f'head -n {n} {filename} | sha256sum')}")
        out.append("")
        if signature is not None:
            plain = f"ssh-keygen -Y verify -f allowed_signers -I {signature.principal} -n {NAMESPACE}"
            ours = f"reviewer verify {filename} --allowed-signers allowed_signers"
            if signature.mode == "detached":
                where = f"in {code(filename + '.sig')}"
                cmds = [ours, f"{plain} -s {filename}.sig < {filename}"]
            else:
                m = signed_lines
                where = f"embedded at the end of this file (it covers lines 1–{m})"
                armor = "'/^-----BEGIN SSH SIGNATURE-----$/,/^-----END SSH SIGNATURE-----$/p'"
                cmds = [
                    ours,
                    f"head -n {m} {filename} > signed.md",
                    f"tail -n +{m + 1} {filename} | sed -n {armor} > signed.md.sig",
                    f"{plain} -s signed.md.sig < signed.md",
                ]
            out.append(f"**Signature**: SSH signature by {code(signature.key)}, namespace {code(NAMESPACE)}, {where}. Verify:")
            out.append("")
            out.append(fenced("\n".join(cmds), "sh"))
            out.append("")
        return "\n".join(out) + "\n"

    text = block(0)
    # an embedded signature covers body + this block; the block's line count does not depend on
    # the number written into it, so one more pass settles it
    return block(n + len(split_lines(text)))


def render_markdown(
    cl: Changelog,
    *,
    filename: str = "CHANGELOG.md",
    signature: SignaturePlan | None = None,
    excerpts: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The whole document: body, then the sign-off block (the signature, if any, is appended later
    by :func:`reviewer.export.signing.embed_signature`); ``excerpts`` as :func:`render_body`'s."""
    body = render_body(cl, excerpts)
    if not body.endswith("\n"):
        body += "\n"
    return body + render_signoff(cl, body, filename=filename, signature=signature)

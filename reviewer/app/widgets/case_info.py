"""What is shown about the case on screen, above its diff: title, prompt, checks, each side's
provenance, JSON path changes.

Each ``*_text`` function builds a Rich renderable from plain strings and style spans only
(untrusted text goes through :func:`~reviewer.app.visible.make_visible`); the widgets are plain
``Static`` s the screen updates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from reviewer.session.state import FLAG_LABELS, Entry

from ..visible import make_visible
from .case_list import FLAG_MARKS, VERDICT_MARKS

if TYPE_CHECKING:
    from reviewer.diff.checks import CheckResult, SideCheck
    from reviewer.diff.jsondiff import PathChange
    from reviewer.diff.score import Assessment
    from reviewer.session.session import Provenance
    from reviewer.store import Output, Run
    from reviewer.suite import Case, Defaults

DIM = Style(dim=True)
BOLD = Style(bold=True)
SPECIAL = Style(color="#d7af00", italic=True)
BAD = Style(color="#ff5f5f", bold=True)
GOOD = Style(color="#5fd75f", bold=True)
WARN = Style(color="#ffaf00", bold=True)
VERDICT_STYLES = {
    "unreviewed": DIM,
    "regression": BAD,
    "improvement": GOOD,
    "acceptable": Style(color="#5fafff", bold=True),
    "noise": DIM,
}
FLAG_STYLES = {
    "negative_flip": BAD, "error": BAD, "positive_flip": GOOD,
    "refusal_flip": WARN, "non_answer_flip": WARN, "truncation": WARN, "format_drift": WARN,
}  # fmt: skip


def vis(text: str, style: Style | str = "", *, limit: int | None = None) -> Text:
    """Untrusted text as a Text: control and invisible characters shown as dim stand-ins."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    v = make_visible(text)
    t = Text(v.text, style=style, end="")
    for s, e in v.specials:
        t.stylize(SPECIAL, s, e)
    return t


def _join(parts: Sequence[Text], sep: str = " · ") -> Text:
    out = Text(end="")
    for i, p in enumerate(parts):
        if i:
            out.append(sep, DIM)
        out.append_text(p)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Title
# ---------------------------------------------------------------------------------------------


def title_text(entry: Entry, assessment: Assessment | None) -> Text:
    case = entry.case
    lines: list[Text] = []
    first = Text(end="")
    first.append_text(vis(case.id, BOLD))
    for tag in case.tags:
        first.append(" ")
        first.append_text(vis("#" + tag, Style(color="#87afd7")))
    extra = []
    if case.origin:
        extra.append(Text.assemble(("origin ", DIM), vis(_one_line(case.origin), limit=120)))
    if case.added:
        extra.append(Text.assemble(("added ", DIM), case.added.isoformat()))
    if extra:
        first.append("   ")
        first.append_text(_join(extra))
    lines.append(first)

    second: list[Text] = []
    if assessment is None:
        second.append(Text("assessing…", DIM))
    else:
        a = assessment
        if a.change == 0:
            second.append(Text("unchanged", DIM))
        else:
            second.append(Text.assemble(("change ", DIM), (f"{a.change:.2f}", BOLD)))
        if a.within is not None:
            floor = Text.assemble(("noise floor ", DIM), f"{a.within:.2f}")
            if a.noise:
                floor.append(" (within noise)", WARN)
            second.append(floor)
        for f in a.flags:
            label = f"{FLAG_MARKS.get(f, '')} {FLAG_LABELS.get(f, f)}"
            t = Text(label, FLAG_STYLES.get(f, WARN))
            if f == "format_drift" and a.pair.format_drift:
                t.append(": ", DIM)
                t.append_text(vis(", ".join(a.pair.format_drift)))
            second.append(t)
        ratio = a.pair.length_ratio
        if a.change and abs(ratio - 1) >= 0.2:
            second.append(Text.assemble(("length ", DIM), f"×{ratio:.2f}"))
    lines.append(_join(second))

    third: list[Text] = []
    mine = entry.mine
    if mine is None:
        third.append(Text.assemble(("you: ", DIM), ("unreviewed", DIM)))
    else:
        v = Text.assemble(("you: ", DIM), (f"{VERDICT_MARKS[mine.verdict]} {mine.verdict}", VERDICT_STYLES[mine.verdict]))
        if mine.severity:
            v.append(f" (severity {mine.severity})", BAD)
        third.append(v)
    for reviewer, lab in sorted(entry.others.items()):
        style = VERDICT_STYLES.get(lab.verdict, DIM)
        t = Text.assemble(vis(_short_name(reviewer), DIM), ": ", (f"{VERDICT_MARKS.get(lab.verdict, '?')} {lab.verdict}", style))
        if mine is not None and lab.verdict != mine.verdict:
            t.append(" ≠", WARN)
        if lab.note:
            t.append(" “", DIM)
            t.append_text(vis(_one_line(lab.note), DIM, limit=60))
            t.append("”", DIM)
        third.append(t)
    lines.append(_join(third))
    return Text("\n", end="").join(lines)


def run_name(run: Run) -> str:
    """What to call a run: its label when it has one (``gemma3 Q4_K_M``), else provider:model.
    A recorded run's spec is a file path, which says little and takes the whole line."""
    return run.label or run.spec


def _short_name(reviewer: str) -> str:
    name = reviewer.split("<", 1)[0].strip()
    return name or reviewer


# ---------------------------------------------------------------------------------------------
# Prompt
# ---------------------------------------------------------------------------------------------


def prompt_text(case: Case, defaults: Defaults, *, expanded: bool, width: int = 100) -> Text:
    """The messages sent (system, then the prompt or conversation) and the reference answer.
    Collapsed: one line that says how much there is."""
    messages = case.build_messages(defaults)
    if not expanded:
        t = Text(end="", no_wrap=True, overflow="ellipsis")
        t.append("▶ prompt ", BOLD)
        t.append(f"({len(messages)} message{'s' if len(messages) != 1 else ''}" + (" + reference" if case.reference else "") + ") ", DIM)
        last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), messages[-1]["content"] if messages else "")
        t.append_text(vis(_one_line(last), limit=max(20, width)))
        return t
    t = Text(end="")
    t.append("▼ prompt", BOLD)
    for m in messages:
        t.append("\n")
        t.append(f"{m['role']}: ", Style(color="#87afd7", bold=True))
        t.append_text(vis(m["content"]))
    if case.reference:
        t.append("\nreference: ", Style(color="#87d787", bold=True))
        t.append_text(vis(case.reference))
    if case.params:
        t.append("\nparams: ", DIM)
        t.append_text(vis(json.dumps(case.params, sort_keys=True, ensure_ascii=False), DIM))
    return t


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def checks_table(
    assessment: Assessment | None,
    baseline_now: Sequence[CheckResult],
    candidate_now: Sequence[CheckResult],
) -> Table | None:
    """One row per check: pass/fail per side (majority over samples, and the shown sample's
    reason when it fails)."""
    if not baseline_now and not candidate_now:
        return None
    table = Table(box=None, show_header=True, header_style=DIM, padding=(0, 1), expand=True, show_edge=False)
    table.add_column("check", ratio=2, no_wrap=True, overflow="ellipsis")
    table.add_column("baseline", ratio=3, no_wrap=True, overflow="ellipsis")
    table.add_column("candidate", ratio=3, no_wrap=True, overflow="ellipsis")
    b_side = {id(sc.check): sc for sc in assessment.baseline_checks} if assessment else {}
    c_side = {id(sc.check): sc for sc in assessment.candidate_checks} if assessment else {}
    b_list = list(assessment.baseline_checks) if assessment else []
    c_list = list(assessment.candidate_checks) if assessment else []
    for i, (rb, rc) in enumerate(zip(baseline_now, candidate_now, strict=False)):
        sb = b_side.get(id(rb.check)) or (b_list[i] if i < len(b_list) else None)
        sc = c_side.get(id(rc.check)) or (c_list[i] if i < len(c_list) else None)
        label = vis(rb.check.label(), limit=60)
        b = _check_cell(rb, sb)
        c = _check_cell(rc, sc)
        if sb is not None and sc is not None and sb.passed and not sc.passed:
            label.stylize(BAD)
        table.add_row(label, b, c)
    return table


def _check_cell(result: CheckResult, side: SideCheck | None) -> Text:
    t = Text(end="")
    if side is not None:
        style = GOOD if side.passed else BAD
        t.append("✓" if side.passed else "✗", style)
        if side.samples > 1:
            t.append(f" {side.passes}/{side.samples}", DIM)
    else:
        t.append("✓" if result.passed else "✗", GOOD if result.passed else BAD)
    if not result.passed and result.detail:
        t.append("  ")
        t.append_text(vis(_one_line(result.detail), DIM, limit=80))
    return t


# ---------------------------------------------------------------------------------------------
# Each side's provenance
# ---------------------------------------------------------------------------------------------


def side_text(
    title: str,
    run: Run,
    output: Output | None,
    sample: int,
    samples: int,
    provenance: Provenance | None,
) -> Text:
    t = Text(end="", no_wrap=True, overflow="ellipsis")
    t.append(title, BOLD)
    t.append(" ")
    t.append_text(vis(run_name(run)))
    if samples > 1:
        t.append(f"  sample {sample + 1}/{samples}", Style(color="#87afd7"))
    t.append("\n")
    if output is None:
        t.append("no output recorded for this case", WARN)
        return t
    parts: list[Text] = []
    if output.resolved_model:
        parts.append(Text.assemble(("→ ", DIM), vis(output.resolved_model, limit=60)))
    if output.system_fingerprint:
        parts.append(vis(output.system_fingerprint, DIM, limit=40))
    if output.latency_ms is not None:
        parts.append(Text(f"{output.latency_ms:,.0f} ms", DIM))
    if output.input_tokens is not None or output.output_tokens is not None:
        parts.append(Text(f"{output.input_tokens if output.input_tokens is not None else '?'}→{output.output_tokens if output.output_tokens is not None else '?'} tok", DIM))
    if output.finish_reason:
        reason = output.finish_reason
        parts.append(vis(reason, WARN if reason.lower() not in ("stop", "end_turn", "stop_sequence") else DIM, limit=30))
    t.append_text(_join(parts) if parts else Text("no metadata", DIM))
    warnings = provenance_warnings(output, provenance)
    if output.error:
        t.append("\n")
        t.append("error: ", BAD)
        status = f"{output.error_status} " if output.error_status else ""
        t.append_text(vis(status + _one_line(output.error), limit=200))
    if output.refusal:
        t.append("\n")
        t.append("refusal: ", WARN)
        t.append_text(vis(_one_line(output.refusal), limit=200))
    for w in warnings:
        t.append("\n")
        t.append("⚠ ", WARN)
        t.append_text(vis(w, WARN))
    return t


def provenance_warnings(output: Output | None, provenance: Provenance | None) -> list[str]:
    """Why this answer's provenance deserves a look: it came from another model or fingerprint
    than most of its run's answers. (That the run mixes them at all is said once, in the top bar.)"""
    if provenance is None or output is None:
        return []
    out = []
    usual_model, usual_fp = provenance.usual()
    if provenance.model_changed and output.resolved_model and output.resolved_model != usual_model:
        out.append(f"answered by {output.resolved_model}, not {usual_model} like most of this run")
    if provenance.fingerprint_changed and output.system_fingerprint and output.system_fingerprint != usual_fp:
        out.append(f"fingerprint {output.system_fingerprint}, not {usual_fp} like most of this run")
    return out


# ---------------------------------------------------------------------------------------------
# JSON path changes
# ---------------------------------------------------------------------------------------------

_CHANGE_MARKS = {
    "added": ("+", GOOD),
    "removed": ("-", BAD),
    "renamed": ("~", WARN),
    "type_changed": ("!", BAD),
    "value_changed": ("~", WARN),
    "reordered": ("↕", WARN),
}


def _short_json(value: Any, limit: int = 40) -> str:
    try:
        s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        s = repr(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def json_changes_text(left_shape: str, right_shape: str, changes: Sequence[PathChange]) -> Text:
    t = Text(end="")
    t.append("JSON ", BOLD)
    t.append(f"{left_shape} → {right_shape}" if left_shape != right_shape else left_shape, WARN if left_shape != right_shape else DIM)
    t.append(f" · {len(changes)} path change{'s' if len(changes) != 1 else ''}" if changes else " · same structure and values", DIM)
    for ch in changes:
        mark, style = _CHANGE_MARKS.get(ch.kind, ("?", WARN))
        t.append("\n")
        t.append(f"{mark} ", style)
        t.append(f"{ch.kind.replace('_', ' '):<13} ", DIM)
        t.append_text(vis(ch.path))
        if ch.kind == "renamed" and ch.new_path:
            t.append(" → ", DIM)
            t.append_text(vis(ch.new_path))
        elif ch.kind in ("value_changed", "type_changed"):
            t.append("  ")
            t.append_text(vis(_short_json(ch.old), Style(color="#ff8787")))
            t.append(" → ", DIM)
            t.append_text(vis(_short_json(ch.new), Style(color="#87d787")))
        elif ch.kind == "added":
            t.append("  ")
            t.append_text(vis(_short_json(ch.new), Style(color="#87d787")))
        elif ch.kind == "removed":
            t.append("  ")
            t.append_text(vis(_short_json(ch.old), Style(color="#ff8787")))
    return t


class InfoStatic(Static):
    """A Static that never parses markup (its content is always a Rich renderable anyway) and
    can say what it shows as plain text."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes=classes)
        self.shown: Any = ""

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        self.shown = content
        super().update(content, layout=layout)

    def plain(self, width: int | None = None) -> str:
        """What this shows, as plain text (``width`` defaults to the widget's)."""
        import io

        from rich.console import Console

        out = io.StringIO()
        Console(file=out, width=width or max(20, self.size.width) or 120, color_system=None, legacy_windows=False).print(self.shown)
        return out.getvalue()

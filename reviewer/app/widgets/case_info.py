"""What is shown about the case on screen, above its diff: the title (id, tags, change, flags,
verdicts), the prompt, the checks. Each sibling :mod:`.side_info` shows one side's provenance.

Each ``*_text`` function builds a Rich renderable from plain strings and style spans only, with
the :class:`~.info.Palette` it is given (untrusted text goes through :func:`~.info.vis`); each
widget renders itself from what it is shown (:meth:`~.info.InfoStatic.show`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from reviewer.session.session import run_name
from reviewer.session.state import FLAG_LABELS, Entry

from .case_list import FLAG_MARKS, VERDICT_MARKS
from .info import BOLD, DIM, InfoStatic, Palette, join, one_line, vis

if TYPE_CHECKING:
    from reviewer.diff.checks import CheckResult, SideCheck
    from reviewer.diff.score import Assessment
    from reviewer.suite import Case, Defaults

__all__ = ["CaseTitle", "ChecksInfo", "PromptInfo", "checks_table", "judge_text", "prompt_text", "run_name", "title_text"]


def _short_name(reviewer: str) -> str:
    name = reviewer.split("<", 1)[0].strip()
    return name or reviewer


# ---------------------------------------------------------------------------------------------
# Title
# ---------------------------------------------------------------------------------------------


def title_text(entry: Entry, assessment: Assessment | None, p: Palette | None = None, judge: str | None = None) -> Text:
    p = p or Palette()
    case = entry.case
    lines: list[Text] = []
    first = Text(end="")
    first.append_text(vis(case.id, BOLD, special=p.special))
    for tag in case.tags:
        first.append(" ")
        first.append_text(vis("#" + tag, p.tag, special=p.special))
    extra = []
    if case.origin:
        extra.append(Text.assemble(("origin ", DIM), vis(one_line(case.origin), limit=120, special=p.special)))
    if case.added:
        extra.append(Text.assemble(("added ", DIM), case.added.isoformat()))
    if extra:
        first.append("   ")
        first.append_text(join(extra))
    lines.append(first)
    lines.append(join(_change_parts(assessment, p)))
    lines.append(join(_verdict_parts(entry, p)))
    if entry.judge is not None:
        lines.append(judge_text(entry, p, judge))
    return Text("\n", end="").join(lines)


def judge_text(entry: Entry, p: Palette, judge: str | None = None) -> Text:
    """The judge's suggestion for the case, on its own line apart from the reviewers' verdicts:
    its verdict, the judge, its reason (model output), and whether it disagrees with your label."""
    from reviewer.session.judge import JUDGE_LABELS

    verdict = entry.judge or ""
    style = {"baseline_better": p.bad, "candidate_better": p.good, "inconsistent": p.warn}.get(verdict, DIM)
    t = Text(end="", no_wrap=True, overflow="ellipsis")
    t.append(JUDGE_LABELS.get(verdict, f"judge: {verdict}"), style)
    if judge:
        t.append(" (", DIM)
        t.append_text(vis(judge, DIM, limit=40, special=p.special))
        t.append(", a suggestion)", DIM)
    if entry.judge_disagrees:
        t.append(" ≠ your label", p.warn)
    if entry.judge_reason:
        t.append(" “", DIM)
        t.append_text(vis(one_line(entry.judge_reason), limit=160, special=p.special))
        t.append("”", DIM)
    return t


def _change_parts(a: Assessment | None, p: Palette) -> list[Text]:
    if a is None:
        return [Text("assessing…", DIM)]
    out: list[Text] = []
    if a.change == 0:
        out.append(Text("unchanged", DIM))
    else:
        out.append(Text.assemble(("change ", DIM), (f"{a.change:.2f}", BOLD)))
    if a.within is not None:
        floor = Text.assemble(("noise floor ", DIM), f"{a.within:.2f}")
        if a.noise:
            floor.append(" (within noise)", p.warn)
        out.append(floor)
    elif not a.noise_known and a.change > 0:
        out.append(Text("noise floor unknown (1 sample a side)", DIM))
    for f in a.flags:
        t = Text(f"{FLAG_MARKS.get(f, '')} {FLAG_LABELS.get(f, f)}", p.flag(f))
        if f == "format_drift" and a.pair.format_drift:
            t.append(": ", DIM)
            t.append_text(vis(", ".join(a.pair.format_drift), special=p.special))
        out.append(t)
    ratio = a.pair.length_ratio
    if a.change and abs(ratio - 1) >= 0.2:
        out.append(Text.assemble(("length ", DIM), f"×{ratio:.2f}"))
    return out


def _verdict_parts(entry: Entry, p: Palette) -> list[Text]:
    out: list[Text] = []
    styles = p.verdicts
    mine = entry.mine
    if mine is None:
        out.append(Text.assemble(("you: ", DIM), ("unreviewed", DIM)))
    else:
        v = Text.assemble(("you: ", DIM), (f"{VERDICT_MARKS[mine.verdict]} {mine.verdict}", styles[mine.verdict]))
        if mine.severity:
            v.append(f" (severity {mine.severity})", p.bad)
        out.append(v)
    for reviewer, lab in sorted(entry.others.items()):
        style = styles.get(lab.verdict, DIM)
        t = Text.assemble(
            vis(_short_name(reviewer), DIM, special=p.special),
            ": ",
            (f"{VERDICT_MARKS.get(lab.verdict, '?')} {lab.verdict}", style),
        )
        if mine is not None and lab.verdict != mine.verdict:
            t.append(" ≠", p.warn)
        if lab.note:
            t.append(" “", DIM)
            t.append_text(vis(one_line(lab.note), DIM, limit=60, special=p.special))
            t.append("”", DIM)
        out.append(t)
    return out


class CaseTitle(InfoStatic):
    """``show(entry, assessment, judge=SPEC)``."""

    def build(self, entry: Entry, assessment: Assessment | None, judge: str | None = None) -> Text:
        return title_text(entry, assessment, self.palette, judge)


# ---------------------------------------------------------------------------------------------
# Prompt
# ---------------------------------------------------------------------------------------------


def prompt_text(case: Case, defaults: Defaults, *, expanded: bool, width: int = 100, p: Palette | None = None) -> Text:
    """The messages sent (system, then the prompt or conversation) and the reference answer.
    Collapsed: one line that says how much there is."""
    p = p or Palette()
    messages = case.build_messages(defaults)
    if not expanded:
        t = Text(end="", no_wrap=True, overflow="ellipsis")
        t.append("▶ prompt ", BOLD)
        t.append(
            f"({len(messages)} message{'s' if len(messages) != 1 else ''}" + (" + reference" if case.reference else "") + ") ",
            DIM,
        )
        last = next(
            (m["content"] for m in reversed(messages) if m["role"] == "user"), messages[-1]["content"] if messages else ""
        )
        t.append_text(vis(one_line(last), limit=max(20, width), special=p.special))
        return t
    t = Text(end="")
    t.append("▼ prompt", BOLD)
    for m in messages:
        t.append("\n")
        t.append(f"{m['role']}: ", p.role)
        t.append_text(vis(m["content"], special=p.special))
    if case.reference:
        t.append("\nreference: ", p.reference)
        t.append_text(vis(case.reference, special=p.special))
    if case.params:
        t.append("\nparams: ", DIM)
        t.append_text(vis(json.dumps(case.params, sort_keys=True, ensure_ascii=False), DIM, special=p.special))
    return t


class PromptInfo(InfoStatic):
    """``show(case, defaults, expanded=…, width=…)``."""

    def build(self, case: Case, defaults: Defaults, *, expanded: bool, width: int = 100) -> Text:
        return prompt_text(case, defaults, expanded=expanded, width=width, p=self.palette)


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def checks_table(
    assessment: Assessment | None,
    baseline_now: Sequence[CheckResult],
    candidate_now: Sequence[CheckResult],
    p: Palette | None = None,
) -> Table | None:
    """One row per check: pass/fail per side (majority over samples, and the shown sample's
    reason when it fails)."""
    if not baseline_now and not candidate_now:
        return None
    p = p or Palette()
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
        label = vis(rb.check.label(), limit=60, special=p.special)
        if sb is not None and sc is not None and sb.passed and not sc.passed:
            label.stylize(p.bad)
        table.add_row(label, _check_cell(rb, sb, p), _check_cell(rc, sc, p))
    return table


def _check_cell(result: CheckResult, side: SideCheck | None, p: Palette) -> Text:
    t = Text(end="")
    if side is not None:
        t.append("✓" if side.passed else "✗", p.good if side.passed else p.bad)
        if side.samples > 1:
            t.append(f" {side.passes}/{side.samples}", DIM)
    else:
        t.append("✓" if result.passed else "✗", p.good if result.passed else p.bad)
    if not result.passed and result.detail:
        t.append("  ")
        t.append_text(vis(one_line(result.detail), DIM, limit=80, special=p.special))
    return t


def shown_checks(case: Case, b: Any, c: Any) -> tuple[list[CheckResult], list[CheckResult]]:
    """The case's checks run on the shown pair (a failed call fails every check)."""
    from reviewer.diff.checks import run_checks

    ref = case.reference
    tools, rf = case.tools, case.response_format  # the tool checks read the answer's calls

    def run(o: Any) -> list[Any]:
        return run_checks(
            case.checks, o.text or "", reference=ref, tool_calls=o.tool_calls or (), tools=tools, response_format=rf
        )

    rb = run(b) if b else []
    rc = run(c) if c else []
    if b is not None and b.error:
        rb = [type(r)(r.check, False, "the call failed") for r in rb]
    if c is not None and c.error:
        rc = [type(r)(r.check, False, "the call failed") for r in rc]
    return rb, rc


class ChecksInfo(InfoStatic):
    """``show(entry, assessment, baseline_output, candidate_output)``: hidden without checks."""

    def build(self, entry: Entry, assessment: Assessment | None, b: Any, c: Any) -> Any:
        table = None
        if entry.case.checks:
            table = checks_table(assessment, *shown_checks(entry.case, b, c), self.palette)
        self.display = table is not None
        return table if table is not None else ""

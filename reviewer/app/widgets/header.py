"""The two header panels: the top bar (which comparison, which runs, who reviews) and the case
list's header (counts by verdict and flag, sort, filter, search, ranking progress). Each renders
itself from what it is shown, with the stylesheet's :class:`~.info.Palette`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from reviewer.session.state import SORT_LABELS, ReviewState

from .case_info import run_name
from .case_list import FLAG_MARKS, VERDICT_MARKS
from .info import DIM, InfoStatic, Palette, vis

if TYPE_CHECKING:
    from reviewer.session.session import Session

__all__ = ["HEADER_FLAGS", "ListHeader", "TopBar", "list_header_text", "top_bar_text"]

#: The flags counted in the list header, in this order.
HEADER_FLAGS = (
    "negative_flip",
    "format_drift",
    "tool_drift",
    "refusal_flip",
    "non_answer_flip",
    "truncation",
    "error",
    "positive_flip",
)


def top_bar_text(s: Session, provenance: dict[str, Any], p: Palette | None = None) -> Text:
    p = p or Palette()
    sp = p.special
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    t.append(" reviewer ", "bold reverse")
    t.append(f" #{s.comparison.id}", "bold")
    if s.comparison.name:
        t.append(" ")
        t.append_text(vis(s.comparison.name, "bold", special=sp))
    t.append(" · ", DIM)
    t.append_text(vis(s.suite_head.name, special=sp))
    t.append(" · ", DIM)
    t.append_text(vis(run_name(s.baseline), special=sp))
    t.append(" → ", DIM)
    t.append_text(vis(run_name(s.candidate), "bold", special=sp))
    for side, prov in provenance.items():
        what = [w for w, changed in (("model", prov.model_changed), ("fingerprint", prov.fingerprint_changed)) if changed]
        if what:
            t.append(f"  ⚠ {side} {' and '.join(what)} changed within the run", p.warn)
    t.append(" · you: ", DIM)
    t.append_text(vis(s.reviewer.split("<", 1)[0].strip() or s.reviewer, special=sp))
    return t


def list_header_text(state: ReviewState, ranking: bool, progress: tuple[int, int] | None, p: Palette | None = None) -> Text:
    p = p or Palette()
    c = state.counts()
    t = Text(end="")
    t.append(f"{c.total:,} cases", "bold")
    t.append(f" · {c.verdicts['unreviewed']:,} to review", DIM)
    if ranking:  # a line of its own: it fits the list's column at 100,000 cases
        t.append("\nranking…", p.notice)
        if progress and progress[1]:
            done, total = progress
            t.append(f" {done * 100 // total}%", p.notice)
    elif not state.ranked or state.ranked_by_earlier or state.assessed_so_far is not None:  # it failed
        t.append("\nranking failed", p.warn)
        if not state.ranked:
            t.append(" · order: the suite's", p.notice)
    if state.ranked_by_earlier:  # after an upgrade: the earlier engine's order meanwhile
        t.append(" · order: last version's", p.notice)
    elif state.assessed_so_far is not None:  # a partial ranking: those cases first
        t.append(f" · {state.assessed_so_far:,} ranked first", p.notice)
    t.append("\n")
    verdicts = p.verdicts
    for i, v in enumerate(("regression", "improvement", "acceptable", "noise")):
        t.append("  " if i else "")
        t.append(f"{VERDICT_MARKS[v]} {c.verdicts[v]}", verdicts[v] if c.verdicts[v] else DIM)
    if c.others_labelled:
        t.append(f"  ≠ {c.disagreements}", p.warn if c.disagreements else DIM)
    t.append("\n")
    for i, f in enumerate(HEADER_FLAGS):
        n = c.flags.get(f, 0)
        t.append("  " if i else "")
        t.append(f"{FLAG_MARKS[f]} {n}", p.flag(f) if n else DIM)
    t.append("\n")
    if state.judged:
        judged = state.judged_count
        t.append(f"⚖ judge: {judged:,} judged", DIM)
        rate, kappa = state.judge_agreement()
        if rate is None:
            t.append(" · none labelled yet", DIM)
        else:
            t.append(f" · agrees {rate.k}/{rate.n} ({rate.share:.0%})", "bold")
            t.append(" · κ " + ("—" if kappa is None else f"{kappa:.2f}"), DIM)
        t.append("\n")
    t.append(f"sort: {SORT_LABELS[state.sort]}", DIM)
    if state.filter.active or state.search:
        t.append(f" · showing {c.shown:,}", "bold")
    if state.filter.active:
        t.append("\nfilter: ", DIM)
        t.append_text(vis(state.filter.describe(), "bold", special=p.special))
    needle = state.searching or state.search
    if needle:
        t.append("\nsearch: ", DIM)
        t.append_text(vis(needle, "bold", special=p.special))
        if state.searching:  # the list still shows the last search's cases, or every case
            t.append(" · finding…", DIM)
    return t


class TopBar(InfoStatic):
    """``show(session, provenance)``."""

    def build(self, session: Session, provenance: dict[str, Any]) -> Text:
        return top_bar_text(session, provenance, self.palette)


class ListHeader(InfoStatic):
    """``show(state, ranking, progress)``."""

    def build(self, state: ReviewState, ranking: bool, progress: tuple[int, int] | None) -> Text:
        return list_header_text(state, ranking, progress, self.palette)

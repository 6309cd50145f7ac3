"""The right-hand side: the case on screen, above and in its diff. It renders itself from what it
is shown (:meth:`CasePane.show`: an entry of the review state) and the view it keeps (sample, word
or JSON view, whitespace, prompt folded or not). Outputs and built diffs are kept in small LRUs; a
very large pair is aligned in a worker while a placeholder shows. It never writes: labels and the
note's submission are the screen's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Click
from textual.message import Message
from textual.widgets import Input

from reviewer.errors import ReviewerError
from reviewer.session.cache import LRU

from ..diffrender import BIG_PAIR, Built, DiffKey, build_diff
from ..visible import make_visible
from .case_info import CaseTitle, ChecksInfo, PromptInfo
from .diff_view import DiffView
from .side_info import JsonChanges, SideInfo
from .tool_calls import ToolCalls, answers, has_calls

if TYPE_CHECKING:
    from reviewer.diff.score import Assessment
    from reviewer.session.session import CaseOutputs, Session
    from reviewer.session.state import Entry, ReviewState

__all__ = ["CasePane"]

JSON_SHAPES = ("bare", "fenced", "embedded")


class CasePane(Vertical):
    class DiffBuilt(Message):
        def __init__(self, key: DiffKey, built: Built) -> None:
            super().__init__()
            self.key = key
            self.built = built

    def __init__(self, session: Session, state: ReviewState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.state = state
        self.entry: Entry | None = None
        self.provenance: dict[str, Any] = {}
        self.sample = 0
        self.json_mode = False
        self.ignore_whitespace = False
        self.prompt_expanded = False
        self.outputs: LRU[str, CaseOutputs] = LRU(64)
        self.diffs: LRU[DiffKey, Built] = LRU(24)
        #: full assessments of recently shown cases, when the ranking gave only light rows
        self.details: LRU[str, Assessment] = LRU(64)
        self.shown_key: DiffKey | None = None
        self._building: set[DiffKey] = set()  # big pairs being aligned in a worker

    def compose(self) -> ComposeResult:
        yield CaseTitle(id="title")
        with VerticalScroll(id="prompt-box"):
            yield PromptInfo(id="prompt")
        yield ChecksInfo(id="checks")
        with Horizontal(id="sides"):
            yield SideInfo(id="side-baseline", classes="side")
            yield SideInfo(id="side-candidate", classes="side")
        with VerticalScroll(id="tools-box"):
            yield ToolCalls(id="tool-calls")
        with VerticalScroll(id="json-box"):
            yield JsonChanges(id="json-changes")
        yield DiffView(id="diff")
        yield Input(placeholder="note: e to edit · enter saves · esc cancels", id="note")

    def on_mount(self) -> None:
        self.query_one("#json-box").display = False
        self.query_one("#tools-box").display = False

    # -- what is shown ------------------------------------------------------------------------

    def outputs_of(self, case_id: str) -> CaseOutputs:
        return self.outputs.get_or_make(case_id, self.session.case_outputs)

    def detail_of(self, entry: Entry, outs: CaseOutputs | None = None) -> Assessment:
        """The case's full assessment: the ranking's when it gave one, else made from its
        outputs (exactly as the ranking made it) and kept in a small LRU; before the ranking is
        ready it also tells the list the case's change and flags."""
        a = entry.assessment
        if a is not None and hasattr(type(a), "baseline_signals"):  # a full Assessment (not a light row)
            return a
        found = self.details.get(entry.id)
        if found is None:
            found = self.details.put(entry.id, self.session.assess(entry.case, outs or self.outputs_of(entry.id)))
            self.state.set_assessment(entry.id, found)
        return found

    assessment_of = detail_of

    def pair(self, outs: CaseOutputs, sample: int | None = None) -> tuple[Any, Any]:
        """The shown sample (or ``sample``) of each side."""
        n = self.sample if sample is None else sample
        b = outs.baseline[n % len(outs.baseline)] if outs.baseline else None
        c = outs.candidate[n % len(outs.candidate)] if outs.candidate else None
        return b, c

    def shown_signals(self, entry: Entry, sample: int | None = None) -> tuple[Any, Any]:
        """The signals of the shown sample (or ``sample``) of each side."""
        a = self.detail_of(entry)
        n = self.sample if sample is None else sample
        b = a.baseline_signals[n % len(a.baseline_signals)] if a.baseline_signals else None
        c = a.candidate_signals[n % len(a.candidate_signals)] if a.candidate_signals else None
        return b, c

    def samples(self, entry: Entry) -> int | None:
        """The most samples of a side of ``entry``, when its outputs are loaded."""
        outs = self.outputs.peek(entry.id)
        return None if outs is None else max(len(outs.baseline), len(outs.candidate))

    def json_available(self, entry: Entry) -> bool:
        """Both shown samples hold JSON (from the assessment's signals: no parsing here)."""
        b, c = self.shown_signals(entry)
        return b is None or c is None or (b.json_shape in JSON_SHAPES and c.json_shape in JSON_SHAPES)

    def show(self, entry: Entry | None, *, keep_sample: bool = False, keep_scroll: bool = False) -> None:
        """Fill the pane with this case (None: nothing on screen)."""
        if entry is None:
            self.entry = None
            return
        try:
            entry.case  # noqa: B018  # validated when first shown (Session.case)
        except ReviewerError as e:  # a stored case that no longer validates: one line, no crash
            self.entry = None
            self.query_one(DiffView).show(None, make_visible(str(e)).text)
            return
        changed = self.entry is None or self.entry.id != entry.id
        self.entry = entry
        if changed and not keep_sample:
            self.sample = 0
        outs = self.outputs_of(entry.id)
        assessment = self.assessment_of(entry, outs)
        self.query_one(CaseTitle).show(entry, assessment, judge=self.state.judge_name)
        self.update_prompt()
        b, c = self.pair(outs)
        self.query_one(ChecksInfo).show(entry, assessment, b, c)
        nb, nc = len(outs.baseline), len(outs.candidate)
        prov, (sb, sc) = self.provenance, self.shown_signals(entry)
        s = self.session
        self.query_one("#side-baseline", SideInfo).show(
            "BASELINE", s.baseline, b, self.sample % max(nb, 1), nb, prov.get("baseline"), sb
        )
        self.query_one("#side-candidate", SideInfo).show(
            "CANDIDATE", s.candidate, c, self.sample % max(nc, 1), nc, prov.get("candidate"), sc
        )
        self.update_tool_calls(entry, b, c)
        note = self.query_one("#note", Input)
        if not note.has_focus:
            note.value = entry.mine.note or "" if entry.mine else ""
        self.update_diff(keep_scroll=keep_scroll and not changed)

    def update_tool_calls(self, entry: Entry, b: Any, c: Any) -> None:
        """The shown samples' tool calls as their own aligned block (hidden when neither calls one)."""
        box = self.query_one("#tools-box")
        box.display = has_calls(b, c)
        if box.display:
            self.query_one(ToolCalls).show(*answers(b, c, entry.case.tools))

    def update_title(self) -> None:
        if self.entry is not None:
            self.query_one(CaseTitle).show(self.entry, self.detail_of(self.entry), judge=self.state.judge_name)

    def update_prompt(self) -> None:
        if self.entry is None:
            return
        self.query_one("#prompt-box").set_class(self.prompt_expanded, "expanded")
        width = max(20, self.size.width - 30)
        self.query_one(PromptInfo).show(self.entry.case, self.session.defaults, expanded=self.prompt_expanded, width=width)

    # -- the view -----------------------------------------------------------------------------

    def toggle_json(self) -> None:
        self.json_mode = not self.json_mode
        self.update_diff()
        key = self.shown_key
        if self.json_mode and key is not None:
            built = self.diffs.get(key)
            if built is not None and built.json is None:
                self.notify("no JSON on both sides: showing the text diff", timeout=3)

    def toggle_whitespace(self) -> None:
        self.ignore_whitespace = not self.ignore_whitespace
        self.notify("whitespace ignored" if self.ignore_whitespace else "whitespace compared", timeout=2)
        self.update_diff(keep_scroll=True)

    def cycle_sample(self) -> None:
        if self.entry is None:
            return
        outs = self.outputs_of(self.entry.id)
        n = max(len(outs.baseline), len(outs.candidate))
        if n <= 1:
            self.notify("one sample per side", timeout=2)
            return
        self.sample = (self.sample + 1) % n
        self.show(self.entry, keep_sample=True)

    def toggle_prompt(self) -> None:
        self.prompt_expanded = not self.prompt_expanded
        self.update_prompt()

    @on(Click, "#prompt")
    def _prompt_clicked(self) -> None:
        self.toggle_prompt()

    # -- the diff -----------------------------------------------------------------------------

    def diff_key(self) -> DiffKey | None:
        return None if self.entry is None else self.key_for(self.entry, self.sample)

    def key_for(self, entry: Entry, sample: int) -> DiffKey:
        """The diff of this sample of ``entry`` in the pane's view (JSON or words, whitespace, search)."""
        outs = self.outputs_of(entry.id)
        nb, nc = len(outs.baseline), len(outs.candidate)
        sb, sc = self.shown_signals(entry, sample)
        return DiffKey(
            entry.id, sample % max(nb, 1), sample % max(nc, 1), self.json_mode,
            self.ignore_whitespace, self.state.search, sb.decline_span if sb else None, sc.decline_span if sc else None,
        )  # fmt: skip

    def prepare(self, entry: Entry) -> bool:
        """Make what showing ``entry`` would make, ahead of it: its outputs, its full assessment,
        and its first sample's diff in the pane's view, laid out at the diff view's width (kept in
        the pane's LRUs, where showing it finds them). Nothing for a case not yet ranked (its
        assessment would also change the list), for one that no longer validates, or for a very
        large pair (aligned in a worker when shown). True when a diff was made."""
        if entry.assessment is None:
            return False
        try:
            entry.case  # noqa: B018  # validated when first read (Session.case)
        except ReviewerError:
            return False
        key = self.key_for(entry, 0)
        if key in self.diffs:
            return False
        left, right = self._texts(entry.id, 0)
        if len(left) + len(right) > BIG_PAIR:
            return False
        built = self.diffs.put(key, build_diff(key, left, right))
        width = self.query_one(DiffView).text_width()
        if built.model is not None and width > 0:
            built.model.height(width)
        return True

    def _texts(self, case_id: str, sample: int) -> tuple[str, str]:
        """This sample's text of each side ("" for none)."""
        b, c = self.pair(self.outputs_of(case_id), sample)
        return (b.text or "") if b else "", (c.text or "") if c else ""

    def update_diff(self, *, keep_scroll: bool = False) -> None:
        key = self.diff_key()
        view = self.query_one(DiffView)
        if key is None:
            view.show(None, "no case")
            return
        built = self.diffs.get(key)
        if built is not None:
            self._show_built(key, built, keep_scroll=keep_scroll)
            return
        left, right = self._texts(key.case_id, self.sample)
        if len(left) + len(right) > BIG_PAIR:
            self.shown_key = key
            view.show(None, f"aligning {(len(left) + len(right)) / 1e6:.1f} M characters…")
            self.query_one("#json-box").display = False
            if key not in self._building:  # once per pair: moving away and back does not start another
                self._building.add(key)
                self.build_diff_in_worker(key, left, right)
            return
        built = self.diffs.put(key, build_diff(key, left, right))
        self._show_built(key, built, keep_scroll=keep_scroll)

    def _show_built(self, key: DiffKey, built: Built, *, keep_scroll: bool = False) -> None:
        self.shown_key = key
        view = self.query_one(DiffView)
        box = self.query_one("#json-box")
        if key.json and built.json is not None:
            self.query_one(JsonChanges).show(built.json)
            box.display = True
        else:
            box.display = False
        if built.model is None:
            view.show(None, built.note)
        else:
            view.show(built.model, keep_scroll=keep_scroll)

    # not exclusive: a thread cannot be stopped, so a cancelled build would run on anyway, and
    # its diff is worth keeping for going back to that case
    @work(thread=True, group="diff")
    def build_diff_in_worker(self, key: DiffKey, left: str, right: str) -> None:
        try:
            built = build_diff(key, left, right)
            if built.model is not None:
                built.model.height(max(40, self.query_one(DiffView).size.width))  # lay out off the UI thread
        except BaseException:
            self.app.call_from_thread(self._building.discard, key)  # the next look tries again
            raise
        self.post_message(self.DiffBuilt(key, built))

    @on(DiffBuilt)
    def _diff_built(self, event: DiffBuilt) -> None:
        self._building.discard(event.key)
        self.diffs.put(event.key, event.built)
        if event.key == self.shown_key:
            self._show_built(event.key, event.built)

"""The promote form: turn the case under review into a new golden case in the suite file the
comparison came from — with the known-good answer as its reference and checks suggested from
the signals — appended without reformatting the file (``reviewer.suite_edit``).

Everything shown that came from a suite or a model (ids, prompts, outputs, check values) is a
``rich.text.Text`` (or an Input's plain value): never parsed as markup.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from ..errors import ReviewerError
from ..suite import Case, Check
from .widgets.info import InfoStatic, Palette

REFERENCE_CHOICES = ("baseline", "candidate", "none")


_MARKS = {" ": "␠", "\n": "⏎", "\t": "⇥", "\r": "␍"}
_NAMES = {" ": "space", "\n": "newline", "\t": "tab", "\r": "carriage return"}


def _marks(ws: str, limit: int = 12) -> str:
    """Whitespace made visible, one mark per character (␠ ⏎ ⇥ ␍, · for any other)."""
    out = "".join(_MARKS.get(c, "·") for c in ws[:limit])
    return out + ("…" if len(ws) > limit else "")


def _describe(ws: str) -> str:
    """``"2 newlines and 1 space"``: what a run of whitespace is made of, in order of appearance."""
    counts: dict[str, int] = {}
    for c in ws:
        name = _NAMES.get(c, "other whitespace character")
        counts[name] = counts.get(name, 0) + 1
    parts = [f"{n} {name}" + ("s" if n != 1 and not name.endswith("s") else "") for name, n in counts.items()]
    return " and ".join(parts)


def edge_whitespace(text: str) -> str | None:
    """What a reference would keep at its ends that a one-line preview hides, e.g. ``"ends with
    2 newlines"``; None when it starts and ends with a visible character."""
    core = text.strip()
    if not core:
        return None
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    said = []
    if lead:
        said.append(f"starts with {_describe(lead)}")
    if trail:
        said.append(f"ends with {_describe(trail)}")
    return "; ".join(said) or None


def _preview(text: str, limit: int = 160, p: Palette | None = None) -> Text:
    """One line of untrusted output: whitespace inside folded, control characters never reach the
    terminal. Whitespace at either end — which the reference keeps exactly — is shown as marks
    (␠ ⏎ ⇥) and said in words on the next line."""
    p = p or Palette()
    core = text.strip()
    if not core:
        return Text("(empty)" if not text else f"(only whitespace: {_marks(text)})", "dim", end="")
    one = " ".join(core.split())
    if len(one) > limit:
        one = one[:limit] + "…"
    one = "".join(c if c.isprintable() else "\ufffd" for c in one)
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    out = Text(end="")
    if lead:
        out.append(_marks(lead), p.warn)
    out.append(one)
    if trail:
        out.append(_marks(trail), p.warn)
    note = edge_whitespace(text)
    if note:
        out.append(f"\n{note} (kept exactly in the reference)", p.notice)
    return out


def parse_tags(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


class PromotePreview(InfoStatic):
    """``show(label, text)``: one side's output as the reference would get it."""

    def build(self, label: str, text: str) -> Text:
        return Text(label, "bold", end="").append_text(_preview(text, p=self.palette))


class PromoteScreen(ModalScreen[Case | None]):
    """ctrl+s (or enter in a field) saves; escape cancels. Errors show inline and keep the form."""

    DEFAULT_CSS = """
    PromoteScreen { align: center middle; }
    #promote-dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    #promote-dialog Label { margin-top: 1; color: $text-muted; }
    #promote-dialog Input { margin: 0; }
    #promote-title { text-style: bold; }
    #promote-reference { height: auto; width: 100%; }
    .promote-preview { color: $text-muted; padding-left: 4; height: auto; }
    #promote-checks { height: auto; }
    #promote-error { color: $error; height: auto; margin-top: 1; }
    #promote-error.-empty { display: none; }
    #promote-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    #promote-buttons Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="promote.cancel"),
        Binding("ctrl+s", "save", "Save", id="promote.save"),
    ]

    def __init__(
        self,
        *,
        suite_path: Path,
        case: Case,
        baseline_text: str,
        candidate_text: str,
        suggested_checks: list[Check],
        origin: str | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.suite_path = Path(suite_path)
        self.case = case
        self.baseline_text = baseline_text
        self.candidate_text = candidate_text
        self.existing = list(case.checks)
        # first of each, by value (a tool_args check holds a dict: not hashable)
        self.suggested = [c for i, c in enumerate(suggested_checks) if c not in suggested_checks[:i] and c not in self.existing]
        self.today = today
        self.default_origin = origin if origin is not None else (
            f"promoted from case {case.id}" + (f" ({case.origin})" if case.origin else "")
        )  # fmt: skip
        self.saved: Case | None = None

    # -- layout ---------------------------------------------------------------------------------

    def _default_id(self) -> str:
        from ..suite import SuiteError, load_suite
        from ..suite_edit import free_id

        try:
            taken = set(load_suite(self.suite_path).case_lines) if self.suite_path.is_file() else set()
        except (SuiteError, OSError):
            taken = set()
        return free_id(self.case.id, taken | {self.case.id})

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="promote-dialog"):
            title = Text("Promote ", "bold", end="")
            title.append(self.case.id)
            title.append(" to a golden case in ")
            title.append(str(self.suite_path))
            yield Static(title, id="promote-title", markup=False)
            yield Label("id")
            yield Input(self._default_id(), id="promote-id")
            yield Label("tags (space or comma separated)")
            yield Input(" ".join(self.case.tags), id="promote-tags")
            yield Label("origin (incident, ticket, why)")
            yield Input(self.default_origin, id="promote-origin")
            yield Label("known-good reference")
            with RadioSet(id="promote-reference"):
                yield RadioButton(Text("baseline output"), value=True, id="ref-baseline")
                yield RadioButton(Text("candidate output"), id="ref-candidate")
                none = "none (keep the case's reference)" if self.case.reference is not None else "none"
                yield RadioButton(Text(none), id="ref-none")
            for label, text in (("baseline:  ", self.baseline_text), ("candidate: ", self.candidate_text)):
                preview = PromotePreview(classes="promote-preview")
                preview.show(label, text)
                yield preview
            yield Label("checks")
            with Vertical(id="promote-checks"):
                for i, c in enumerate(self.existing):
                    yield Checkbox(
                        Text(c.label() + "  (already on the case)"), True, id=f"check-old-{i}", disabled=True, compact=True
                    )
                for i, c in enumerate(self.suggested):
                    yield Checkbox(Text(c.label()), True, id=f"check-new-{i}", compact=True)
                if not self.existing and not self.suggested:
                    yield Static(Text("no checks suggested by the signals", "dim"), markup=False)
            yield Static("", id="promote-error", classes="-empty", markup=False)
            with Horizontal(id="promote-buttons"):
                yield Button("Save  ctrl+s", variant="primary", id="promote-save")
                yield Button("Cancel  esc", id="promote-cancel")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#promote-id", Input))

    # -- reading the form -----------------------------------------------------------------------

    @property
    def reference_choice(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return (pressed.id or "ref-none").removeprefix("ref-") if pressed else "none"

    def chosen_checks(self) -> list[Check]:
        picked = [c for i, c in enumerate(self.suggested) if self.query_one(f"#check-new-{i}", Checkbox).value]
        return self.existing + picked

    def build_case(self) -> Case:
        """The new case from the form (raises ReviewerError / ValidationError)."""
        choice = self.reference_choice
        reference = {"baseline": self.baseline_text, "candidate": self.candidate_text}.get(choice, self.case.reference)
        if choice in ("baseline", "candidate") and not (reference or "").strip():
            raise ReviewerError(f"the {choice} has no output to use as the reference")
        origin = self.query_one("#promote-origin", Input).value.strip() or None
        data = self.case.model_dump()
        data.update(
            id=self.query_one("#promote-id", Input).value.strip(),
            tags=parse_tags(self.query_one("#promote-tags", Input).value),
            origin=origin,
            reference=reference,
            checks=[c.model_dump() for c in self.chosen_checks()],
            added=self.today or date.today(),
        )
        return Case.model_validate(data)

    # -- actions --------------------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        err = self.query_one("#promote-error", Static)
        err.update(Text(message))
        err.set_class(not message, "-empty")

    def action_save(self) -> None:
        from ..suite_edit import append_case

        if self.suite_path.suffix.lower() not in (".yaml", ".yml", ".jsonl"):
            self.show_error(f"this comparison's suite has no suite file to add to ({self.suite_path or 'none'})")
            return
        try:
            case = self.build_case()
            append_case(self.suite_path, case, create=False)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "case"
            self.show_error(f"{where}: {err['msg'].removeprefix('Value error, ')}")
            return
        except ReviewerError as e:
            self.show_error(str(e))
            return
        except OSError as e:
            self.show_error(f"{self.suite_path}: {e.strerror or e}")
            return
        self.saved = case
        self.dismiss(case)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#promote-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#promote-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

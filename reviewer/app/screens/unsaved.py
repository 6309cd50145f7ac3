"""Asked at quit when labels could not be written to the store (read-only file or mount, full
disk, locked past the busy timeout): the app never drops them silently.

The dialog says how many and why, keeps trying the store, and offers to write them to a labels
file (``reviewer labels export``'s JSONL, for ``reviewer labels import``). Quitting without
them takes a second, explicit ctrl+q. Once the store takes them (the retry, or another process
let go of a lock), the app quits as asked.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from reviewer.export.plural import plural
from reviewer.session.labels import labels_file_lines

if TYPE_CHECKING:
    from ..app import ReviewApp


def default_labels_file(comparison_id: int) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / f"reviewer-labels-{comparison_id}-{stamp}.jsonl"


class UnsavedLabelsScreen(ModalScreen[None]):
    """enter writes the labels file and quits; ctrl+r tries the store again; ctrl+q quits
    without them; escape goes back to the review."""

    DEFAULT_CSS = """
    UnsavedLabelsScreen { align: center middle; }
    #unsaved-dialog {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    #unsaved-title { text-style: bold; color: $error; }
    #unsaved-why { color: $text-muted; height: auto; }
    #unsaved-dialog Label { margin-top: 1; }
    #unsaved-error { color: $error; height: auto; }
    #unsaved-error.-empty { display: none; }
    #unsaved-buttons { height: auto; margin-top: 1; }
    #unsaved-buttons Button { margin-right: 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back to the review", id="unsaved.back"),
        Binding("ctrl+r", "retry", "Try the store again", id="unsaved.retry", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[int, str | None] | None = None

    @property
    def review_app(self) -> ReviewApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.review_app
        with Vertical(id="unsaved-dialog"):
            yield Static("", id="unsaved-title", markup=False)
            yield Static("", id="unsaved-why", markup=False)
            yield Label("Write them to a labels file (later: reviewer labels import FILE):")
            yield Input(str(default_labels_file(app.session.id)), id="unsaved-path", select_on_focus=False)
            yield Static("", id="unsaved-error", classes="-empty", markup=False)
            with Horizontal(id="unsaved-buttons"):
                yield Button("Write, quit  enter", variant="primary", id="unsaved-write")
                yield Button("Retry  ctrl+r", id="unsaved-retry")
                yield Button("Back  esc", id="unsaved-back")
                yield Button("Quit, lose them  ctrl+q", variant="error", id="unsaved-discard")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#unsaved-path", Input))
        self.update_texts()
        self.set_interval(0.25, self.update_texts)

    def update_texts(self) -> None:
        app = self.review_app
        n = app.writer.pending
        if n == 0:  # the store took them after all: quit, as asked
            app.exit()
            return
        if (n, app.writer.last_error) == self._shown:
            return
        self._shown = (n, app.writer.last_error)
        title = Text(f"{plural(n, 'label change')} could not be saved to the store", end="")
        self.query_one("#unsaved-title", Static).update(title)
        why = Text(str(app.store_path), end="")
        why.append(": ")
        why.append(app.writer.last_error or "not written yet (the store is busy)")
        why.append("\nQuitting now would lose them. Write them to a file, try again, or press ctrl+q to quit without them.")
        self.query_one("#unsaved-why", Static).update(why)

    def show_error(self, message: str) -> None:
        err = self.query_one("#unsaved-error", Static)
        err.update(Text(message))
        err.set_class(not message, "-empty")

    # -- actions --------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_retry(self) -> None:
        self.show_error("")
        self.retry()

    @work(thread=True, exclusive=True, group="unsaved-retry")
    def retry(self) -> None:
        writer = self.review_app.writer
        writer.drain()
        if writer.pending:
            self.app.call_from_thread(self.show_error, f"still not saved: {writer.last_error or 'the store is busy'}")

    def action_write(self) -> None:
        app = self.review_app
        raw = self.query_one("#unsaved-path", Input).value.strip()
        if not raw:
            self.show_error("give a file name")
            return
        path = Path(os.path.expanduser(raw))
        ops = app.writer.snapshot()
        try:
            lines, removals = labels_file_lines(app.store, app.session.id, app.session.reviewer, ops)
            with open(path, "x", encoding="utf-8") as f:  # never over another file
                f.write("".join(line + "\n" for line in lines))
        except FileExistsError:
            self.show_error(f"{path}: already exists; choose another name")
            return
        except OSError as e:
            self.show_error(f"{path}: {e.strerror or e}")
            return
        except Exception as e:  # the store cannot even be read
            self.show_error(f"cannot read the comparison from the store: {e}")
            return
        app.writer.forget(ops)
        note = f"{plural(len(lines), 'label')} that could not be saved to {app.store_path} written to {path}"
        note += f": import them with `reviewer labels import {path}`"
        if removals:
            note += f" ({plural(removals, 'label removal')} cannot be written to a labels file: redo them)"
        app.exit_notes.append(note)
        app.exit()

    def quit_anyway(self) -> None:
        app = self.review_app
        n = app.writer.pending
        app.exit_notes.append(f"{plural(n, 'label change')} not saved to {app.store_path} (quit without them)")
        app.exit()

    @on(Input.Submitted, "#unsaved-path")
    def _submitted(self) -> None:
        self.action_write()

    @on(Button.Pressed, "#unsaved-write")
    def _write_pressed(self) -> None:
        self.action_write()

    @on(Button.Pressed, "#unsaved-retry")
    def _retry_pressed(self) -> None:
        self.action_retry()

    @on(Button.Pressed, "#unsaved-back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#unsaved-discard")
    def _discard_pressed(self) -> None:
        self.quit_anyway()

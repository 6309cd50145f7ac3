"""The review app: open one comparison, triage its cases by keyboard, save labels as they are given.

The app owns the store, the :class:`~reviewer.session.session.Session` and the label writer; the
:class:`~reviewer.app.screens.review.ReviewScreen` does the rest. Every label is handed to the
writer at once and written by a worker thread; whatever is still pending when the app closes —
``q``, ctrl+c, an exception — is written before the store closes. When the store will not take
them (read-only, full, locked), ``q`` does not quit silently: it says so and offers to write them
to a labels file (:mod:`reviewer.app.screens.unsaved`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
from pathlib import Path

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input

from reviewer.identity import reviewer_identity
from reviewer.session.cache import paused_gc
from reviewer.session.labels import LabelWriter
from reviewer.session.session import Session
from reviewer.store import Store, why_not_writable

from . import strips
from .commands import ReviewCommands


def load_keymap() -> tuple[dict[str, str], str | None]:
    """``keymap.yaml`` in the config directory: ``binding-id: key[,key…]`` (e.g.
    ``label.noise: z``). Returns the keymap and a problem to report, if any."""
    from reviewer.locations import config_dir

    path = Path(os.environ.get("REVIEWER_KEYMAP") or config_dir() / "keymap.yaml")
    if not path.exists():
        return {}, None
    from reviewer.safeyaml import FileProblem, load_yaml, read_text

    try:  # bounded like every YAML read here: size, depth, alias expansion
        data = load_yaml(read_text(path), path) or {}
    except FileProblem as e:  # a broken keymap must not stop a review
        return {}, f"{e} (keymap ignored)"
    except OSError as e:
        return {}, f"{path}: ignored ({e.strerror or e})"
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return {}, f"{path}: ignored (expected lines like `label.noise: z`)"
    return data, None


class ReviewApp(App[None]):
    """``ReviewApp(store_path, comparison_id=None, reviewer=None)``: review one comparison
    (the latest by default) as ``reviewer`` ("Name <email>"; default: git config, then the OS
    user). Raises ``ReviewerError`` at construction when the store or comparison can't be opened."""

    CSS_PATH = "review.tcss"
    TITLE = "reviewer"
    COMMANDS = App.COMMANDS | {ReviewCommands}
    BINDINGS = [Binding("q", "quit", "quit", id="app.quit", tooltip="Quit (never drops an unsaved label)")]

    #: How long ``q`` waits for labels still being written before it asks what to do with them.
    QUIT_WAIT_S = 1.0

    def __init__(
        self,
        store_path: str | os.PathLike[str],
        comparison_id: int | None = None,
        reviewer: str | None = None,
        *,
        promote_to: str | os.PathLike[str] | None = None,
        promote_note: str | None = None,
    ) -> None:
        """``promote_to``: the suite file ``p`` adds cases to (default: the file the comparison's
        suite was loaded from), with ``promote_note`` said after where it went."""
        super().__init__()
        strips.install()  # painted lines die when dropped, not in a full collection
        self.store_path = Path(store_path)
        self.promote_to = Path(promote_to) if promote_to is not None else None
        self.promote_note = promote_note
        self.exit_notes: list[str] = []  # said on stderr by :meth:`finish` once the app is gone
        # a store this process cannot write opens read-only: the review still works, and the
        # labels given stay in the writer's queue until q offers to save them to a labels file
        self.store = Store(self.store_path, readonly="auto")
        self.readonly_why = (why_not_writable(self.store_path) or "opened read-only") if self.store.readonly else None
        try:
            # the suite's 100,000 case rows live as long as the app: frozen, never scanned
            with paused_gc(freeze=True):
                self.session = Session(self.store, comparison_id, reviewer_identity(reviewer))
        except BaseException:
            self.store.close()
            raise
        self.writer = LabelWriter(self.store, self.session.id, self.session.reviewer)
        self.user_keymap, self._keymap_problem = load_keymap()

    def on_mount(self) -> None:
        from .screens.review import ReviewScreen

        self._idle_gc_start()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(self.SWITCH_INTERVAL_S)
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if self._keymap_problem:
            self.notify(self._keymap_problem, severity="warning", markup=False)
        if self.readonly_why is not None:
            self.notify(
                f"{self.store_path} is read-only ({self.readonly_why}): labels cannot be saved there; "
                "q offers to write them to a labels file",
                title="read-only store", severity="warning", timeout=15, markup=False,
            )  # fmt: skip
        self.push_screen(ReviewScreen())

    #: The interpreter's thread switch interval while the app runs (Python's default: 5 ms).
    #: Each time the UI thread lets the GIL go (every turn of the event loop, in its select), a
    #: worker thread that computes (the cached ranking unpacked and staged, the outputs searched)
    #: may keep it that long, so a key handled over several turns waited up to 5 ms at each:
    #: the keys pressed while a reopen at 100,000 cases stages its ranking took 87-103 ms
    #: (bench/app.py, two runs), 43-49 ms at 1 ms (two runs; the ranking staged in the same
    #: 0.7 s); at 0.5 and 0.2 ms the keys were slower again (up to 57-72 ms), the switches' own cost.
    SWITCH_INTERVAL_S = 0.001

    # -- the cyclic collector: full passes when the reviewer is idle ---------------------------

    #: No key or mouse event for this long: a full collection now goes unnoticed.
    IDLE_GC_S = 1.0
    #: Young-generation passes after which a full one runs even mid-typing, so that what cyclic
    #: garbage there is stays bounded. (Textual's painted strips were most of it, ~3 MB a pass
    #: while keys were held down, until :mod:`.strips` and the diff's FIFO line cache.)
    FORCE_GC_AFTER = 40

    def _idle_gc_start(self) -> None:
        """A full (generation 2) collection walks every tracked object: 30-150 ms in the middle
        of a key at 10,000 cases, the slowest keys' whole excess over 50 ms (bench/app.py counted
        55 of them in one run of its keys). While the app runs, the collector's young passes go
        on as usual and the full ones wait for a second with no input (:meth:`_collect_idle`),
        or for :data:`FORCE_GC_AFTER` young passes, so the garbage left meanwhile stays bounded."""
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], 1_000_000)
        self._last_input = time.monotonic()
        self.set_interval(self.IDLE_GC_S / 2, self._collect_idle)

    def _collect_idle(self) -> None:
        # as often as the collector would have (every 10 young-generation passes) once idle;
        # between keys (never inside one) when typing goes on for long
        passes = gc.get_count()[2]
        if passes >= self.FORCE_GC_AFTER or (
            passes >= self._gc_threshold[2] and time.monotonic() - self._last_input >= self.IDLE_GC_S
        ):
            gc.collect(2)

    def idle_for(self) -> float:
        """Seconds since the last key or mouse event."""
        return time.monotonic() - self._last_input

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._last_input = time.monotonic()
        await super().on_event(event)

    #: How long after a key :meth:`wait_for_input` takes it to be handled and shown. Textual
    #: tells no "the key is shown": a callback after the refresh can run before the focused
    #: widget has even read the key. Most keys take 20-30 ms at 100,000 cases (bench/app.py); at
    #: 40 ms a ranking staged under keys pressed all along took 1.2 s instead of 0.3, at 15 ms
    #: the keys shared the GIL with it again (up to 55 ms).
    INPUT_HANDLED_S = 0.025
    #: The longest a worker waits at a time there: keys held down hold a ranking back, but not
    #: for long (it goes on ~2 ms between waits).
    INPUT_WAIT_S = 0.05

    def wait_for_input(self) -> None:
        """For a worker thread that computes (a ranking staged): wait while the last key or
        mouse event may still be handled (:data:`INPUT_HANDLED_S`), at most :data:`INPUT_WAIT_S`.
        Side by side, the two threads take turns at the GIL and the key takes twice as long.
        At a reopen at 100,000 cases (bench/app.py, two runs each way, keys pressed all along):
        keys while the cached ranking is staged p50 71-105 → 23-24 ms, max 73-120 → 32-57 ms
        (with the 1 ms switch interval; the longest is the key the new list is shown in), the
        list ranked after 0.8 s instead of 0.7. (The searches wait with no bound instead, while
        keys came in the last 0.15 s: :meth:`ReviewScreen.keys_coming`.)"""
        deadline = time.monotonic() + self.INPUT_WAIT_S
        while (left := min(self.INPUT_HANDLED_S - self.idle_for(), deadline - time.monotonic())) > 0:
            time.sleep(left)

    def on_unmount(self) -> None:
        from .screens.review import ReviewScreen

        if hasattr(self, "_gc_threshold"):
            gc.set_threshold(*self._gc_threshold)
        if hasattr(self, "_switch_interval"):
            sys.setswitchinterval(self._switch_interval)

        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen):
                screen.stop_ranking()
        self.close_store()

    async def action_quit(self) -> None:
        """``q`` / ctrl+q: quit once every label is in the store; else ask (ctrl+q in that
        dialog is the explicit "quit without them")."""
        from .screens.unsaved import UnsavedLabelsScreen

        if isinstance(self.screen, UnsavedLabelsScreen):
            self.screen.quit_anyway()
            return
        if self.writer.pending:  # a label given a moment ago is usually on its way
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.to_thread(self.writer.drain), self.QUIT_WAIT_S)
        if not self.writer.pending:
            self.exit()
            return
        self.push_screen(UnsavedLabelsScreen())

    async def _on_key(self, event: events.Key) -> None:
        """A letter that reaches the app while an input has the focus was read by the widget
        focused before it: typed right after ``e`` (note) or ``/`` (search), both keys were
        handed to the case list, and by the time this one came up the focus had moved. It is a
        letter of that input — never a label key, never lost. (An input stops every letter
        it reads itself, so no other letter gets here while one has the focus.)"""
        focused = self.focused
        if isinstance(focused, Input) and focused.check_consume_key(event.key, event.character):
            event.prevent_default()  # not App._on_key: the bindings are not for this key
            event.stop()
            focused.post_message(events.Key(event.key, event.character))

    def finish(self) -> int:
        """After the app has closed (and :meth:`close_store`): say on stderr what became of
        labels that could not be saved; the exit status (2 when some are lost)."""
        for note in self.exit_notes:
            print(note, file=sys.stderr)
        lost = self.writer.pending
        if lost:
            if not self.exit_notes:
                print(
                    f"{lost} label change(s) could not be saved to {self.store_path}: {self.writer.last_error}", file=sys.stderr
                )
            return 2
        return int(self.return_code or 0)

    def close_store(self) -> None:
        """Write every pending label, then close. Safe to call twice."""
        if self.store is None:
            return
        self.writer.drain()
        self.session.close()
        self.store.close()
        self.store = None  # type: ignore[assignment]
        gc.unfreeze()  # what the review screen froze can be collected again (tests open many apps)

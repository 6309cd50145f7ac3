"""The review app: open one comparison, triage its cases by keyboard, save labels as they are given.

The app owns the store, the :class:`~reviewer.app.data.Session` and the label writer; the
:class:`~reviewer.app.screens.review.ReviewScreen` does the rest. Every label is handed to the
writer at once and written by a worker thread; whatever is still pending when the app closes —
``q``, ctrl+c, an exception — is written before the store closes.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from reviewer.identity import reviewer_identity
from reviewer.store import Store

from .commands import ReviewCommands
from .data import LabelWriter, Session


def load_keymap() -> tuple[dict[str, str], str | None]:
    """``keymap.yaml`` in the config directory: ``binding-id: key[,key…]`` (e.g.
    ``label.noise: z``). Returns the keymap and a problem to report, if any."""
    from reviewer.locations import config_dir

    path = Path(os.environ.get("REVIEWER_KEYMAP") or config_dir() / "keymap.yaml")
    if not path.exists():
        return {}, None
    try:
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except Exception as e:  # a broken keymap must not stop a review
        return {}, f"{path}: ignored ({str(e).splitlines()[0]})"
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
    BINDINGS = [Binding("q", "quit", "quit", id="app.quit", tooltip="Quit (every label is already saved)")]

    def __init__(self, store_path: str | os.PathLike[str], comparison_id: int | None = None, reviewer: str | None = None) -> None:
        super().__init__()
        self.store_path = Path(store_path)
        self.store = Store(self.store_path)
        try:
            self.session = Session(self.store, comparison_id, reviewer_identity(reviewer))
        except BaseException:
            self.store.close()
            raise
        self.writer = LabelWriter(self.store, self.session.id, self.session.reviewer)
        self.user_keymap, self._keymap_problem = load_keymap()

    def on_mount(self) -> None:
        from .screens.review import ReviewScreen

        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if self._keymap_problem:
            self.notify(self._keymap_problem, severity="warning", markup=False)
        self.push_screen(ReviewScreen())

    def on_unmount(self) -> None:
        from .screens.review import ReviewScreen

        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen):
                screen.stop_ranking()
        self.close_store()

    def close_store(self) -> None:
        """Write every pending label, then close. Safe to call twice."""
        if self.store is None:
            return
        self.writer.drain()
        self.session.close()
        self.store.close()
        self.store = None  # type: ignore[assignment]

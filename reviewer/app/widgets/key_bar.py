"""The bottom line: the keys that apply now, greyed when they would do nothing.

Textual's ``Footer`` rebuilds one widget per key every time bindings may have changed (moving to
another case, focusing an input, opening a dialog): ~40 ms each time on this screen, the largest
single cost of a keypress. This bar is one line of text rebuilt in well under a millisecond, and
clicking a key presses it.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static


class KeyBar(Static):
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self.shown_keys: list[tuple[str, str, bool]] = []  # (key display, description, enabled)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.refresh_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: object) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh_keys()

    def refresh_keys(self) -> None:
        if not self.is_attached:
            return
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        desc_style = self.get_component_rich_style("key-bar--description", partial=True)
        off_style = self.get_component_rich_style("key-bar--disabled", partial=True)
        seen: set[str] = set()
        shown: list[tuple[str, str, bool]] = []
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            shown.append((display, binding.description, active.enabled))
            meta = Style(meta={"key": key})
            text.append(f" {display} ", (key_style if active.enabled else off_style) + meta)
            text.append(f"{binding.description} ", (desc_style if active.enabled else off_style) + meta)
        if self.app.ENABLE_COMMAND_PALETTE:
            text.append(" ^p ", key_style + Style(meta={"key": "ctrl+p"}))
            text.append("palette ", desc_style + Style(meta={"key": "ctrl+p"}))
        self.shown_keys = shown
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        key = event.style.meta.get("key")
        if key:
            self.app.simulate_key(key)

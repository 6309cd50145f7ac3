"""What every text panel of the app shares: the :class:`Palette` its colours come from (read
from the ``.tcss`` through component classes, so a theme or a user's stylesheet recolours them
without touching Python), :func:`vis` for untrusted text, and :class:`InfoStatic`, a ``Static``
that renders itself from the state it is shown (:meth:`InfoStatic.show`) and again when the
stylesheet changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ..visible import make_visible

__all__ = ["BOLD", "DIM", "InfoStatic", "Palette", "join", "one_line", "vis"]

DIM = Style(dim=True)
BOLD = Style(bold=True)


@dataclass(frozen=True, slots=True)
class Palette:
    """Styles by meaning. The defaults (no colour) serve only where no stylesheet applies; on
    screen each field is the component class ``info--<field>`` of the ``.tcss``."""

    special: Style = field(default_factory=lambda: Style(italic=True))  # a control or invisible character's stand-in
    bad: Style = field(default_factory=lambda: Style(bold=True))  # regression, failed check, error, removed
    good: Style = field(default_factory=lambda: Style(bold=True))  # improvement, passed check, added
    warn: Style = field(default_factory=lambda: Style(bold=True))  # flags, warnings, renamed/changed
    accept: Style = field(default_factory=lambda: Style(bold=True))  # the "acceptable" verdict
    notice: Style = field(default_factory=lambda: Style(italic=True))  # work in progress ("ranking…")
    tag: Style = field(default_factory=Style.null)
    role: Style = field(default_factory=lambda: Style(bold=True))  # a message's role in the prompt
    reference: Style = field(default_factory=lambda: Style(bold=True))
    sample: Style = field(default_factory=Style.null)  # "sample 2/3"
    old: Style = field(default_factory=Style.null)  # a JSON value before
    new: Style = field(default_factory=Style.null)  # a JSON value after
    moved: Style = field(default_factory=lambda: Style(bold=True))  # the diff's moved-line marker (help)
    filler: Style = field(default_factory=Style.null)  # the diff's "nothing on this side" (help)
    key: Style = field(default_factory=lambda: Style(bold=True))  # a key in the help
    decline: Style = field(default_factory=lambda: Style(underline=True))  # the words that decline to answer
    dim: Style = field(default_factory=lambda: DIM)
    bold: Style = field(default_factory=lambda: BOLD)

    @classmethod
    def classes(cls) -> set[str]:
        return {f"info--{f.name}" for f in fields(cls) if f.name not in ("dim", "bold")}

    @classmethod
    def of(cls, widget: Any) -> Palette:
        """The palette as ``widget``'s stylesheet says (KeyError before styles apply)."""
        g = widget.get_component_rich_style
        return cls(**{f.name: g(f"info--{f.name}", partial=True) for f in fields(cls) if f.name not in ("dim", "bold")})

    @property
    def verdicts(self) -> dict[str, Style]:
        return {
            "unreviewed": self.dim,
            "regression": self.bad,
            "improvement": self.good,
            "acceptable": self.accept,
            "noise": self.dim,
        }

    def flag(self, name: str) -> Style:
        return self.good if name == "positive_flip" else self.bad if name in ("negative_flip", "error") else self.warn


def vis(text: str, style: Style | str = "", *, limit: int | None = None, special: Style | None = None) -> Text:
    """Untrusted text as a Text: control and invisible characters shown as stand-ins, styled
    ``special`` (italic by default)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    v = make_visible(text)
    t = Text(v.text, style=style, end="")
    for s, e in v.specials:
        t.stylize(special or Palette().special, s, e)
    return t


def join(parts: Sequence[Text], sep: str = " · ") -> Text:
    out = Text(end="")
    for i, p in enumerate(parts):
        if i:
            out.append(sep, DIM)
        out.append_text(p)
    return out


def one_line(text: str) -> str:
    return " ".join(text.split())


class InfoStatic(Static):
    """A Static that never parses markup, renders itself from what it was last shown
    (:meth:`show` → :meth:`build`, with :attr:`palette`), and can say what it shows as plain
    text. Used as is, :meth:`show` takes a ready renderable."""

    COMPONENT_CLASSES = Palette.classes()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes=classes)
        self.shown: Any = ""
        self._args: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._painted_with: Palette | None = None
        self._palette: Palette | None = None  # until the styles change: ~20 component styles cost ~1 ms

    @property
    def palette(self) -> Palette:
        found = self._palette
        if found is None:
            try:
                found = self._palette = Palette.of(self)
            except KeyError:  # not styled yet: painted again once it is (notify_style_update)
                return Palette()
        return found

    def build(self, *args: Any, **kwargs: Any) -> RenderableType:
        """What to show for these arguments (subclasses); here the one argument itself."""
        return args[0] if args else ""

    def show(self, *args: Any, **kwargs: Any) -> None:
        self._args = (args, kwargs)
        self._paint()

    def _paint(self) -> None:
        if self._args is None:
            return
        self._painted_with = self.palette
        args, kwargs = self._args
        self.update(self.build(*args, **kwargs))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        if self._args is not None and self.palette != self._painted_with:
            self._paint()

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        self.shown = content
        super().update(content, layout=layout)

    def plain(self, width: int | None = None) -> str:
        """What this shows, as plain text (``width`` defaults to the widget's)."""
        import io

        from rich.console import Console

        out = io.StringIO()
        Console(file=out, width=width or max(20, self.size.width) or 120, color_system=None, legacy_windows=False).print(
            self.shown
        )
        return out.getvalue()

"""The app's view of :mod:`reviewer.untrusted`, the project's one sanitiser, with the app's
defaults: a tab becomes :data:`TAB` (a fixed width, so columns never depend on the tab stop) and a
stray newline ``␊`` (text here is already split into lines). Everything else — which characters are
special, their stand-ins, offset mapping — is the sanitiser's own. No Textual here."""

from __future__ import annotations

from reviewer.untrusted import TAB, Visible
from reviewer.untrusted import has_special as _has_special
from reviewer.untrusted import make_visible as _make_visible
from reviewer.untrusted import stand_in as _stand_in

__all__ = ["TAB", "Visible", "has_special", "make_visible", "stand_in"]


def make_visible(text: str, *, tab: str = TAB, newline: bool = False) -> Visible:
    """:func:`reviewer.untrusted.make_visible` with the app's tab and newline."""
    return _make_visible(text, tab=tab, newline=newline)


def stand_in(ch: str) -> str:
    """What the app shows in place of one special character (a tab: :data:`TAB`)."""
    return TAB if ch == "\t" else _stand_in(ch)


def has_special(text: str) -> bool:
    """Whether :func:`make_visible` would replace anything in ``text`` (tabs and newlines too)."""
    return "\t" in text or "\n" in text or _has_special(text)

"""The Textual review app: screens, widgets, one ``.tcss``. What it knows and does without a UI
(the session, its state, label writes, search, caches, ranking) is :mod:`reviewer.session`.
``ReviewApp`` is imported lazily, so ``visible`` and ``diffrender`` load without Textual; only the
``review`` and ``demo`` commands import the app, inside their ``run``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ReviewApp

__all__ = ["ReviewApp"]


def __getattr__(name: str) -> Any:
    if name == "ReviewApp":
        from .app import ReviewApp

        return ReviewApp
    raise AttributeError(name)

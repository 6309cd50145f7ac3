"""The Textual review app. ``ReviewApp`` is imported lazily, so the Textual-free helpers of this
package (``data``, ``state``, ``visible``, ``diffrender``, ``rank``) load without Textual; only the
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

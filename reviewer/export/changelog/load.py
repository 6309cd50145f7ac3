"""Loading a changelog's inputs from a store, then building it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .build import build_changelog
from .model import Changelog, Price
from .significance import ALPHA

if TYPE_CHECKING:
    from ...store import Store

__all__ = ["load_changelog", "previous_comparison"]


def previous_comparison(store: Store, suite_name: str, comparison_id: int) -> tuple[int, str] | None:
    """(id, created_at) of the latest earlier comparison of the same suite, for "cases added since"."""
    return store.previous_comparison(suite_name, comparison_id)


def load_changelog(
    store: Store,
    comparison: str | int | None = None,
    *,
    generated_at: datetime | None = None,
    generated_by: str = "",
    prices: Mapping[str, Price] | None = None,
    allow_unreviewed: bool = False,
    alpha: float = ALPHA,
) -> Changelog:
    """The changelog of a comparison (an id, a name, or None for the latest) in ``store``."""
    from ...analysis import assess_comparison

    data = store.load_comparison(store.resolve_comparison_id(comparison))
    assessments = assess_comparison(store, data)
    previous = previous_comparison(store, data.suite.name, data.comparison.id)
    return build_changelog(
        data, assessments, store.labels(data.comparison.id), store.signoffs(data.comparison.id),
        generated_at=generated_at or datetime.now(UTC), generated_by=generated_by, prices=prices,
        previous_comparison=previous, allow_unreviewed=allow_unreviewed, alpha=alpha,
    )  # fmt: skip

"""Loading a changelog's inputs from a store, then building it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..resolve import resolve_comparison_id
from .build import build_changelog
from .model import Changelog, Price
from .significance import ALPHA

if TYPE_CHECKING:
    from ...store import Store

__all__ = ["load_changelog", "previous_comparison"]


def previous_comparison(store: Store, suite_name: str, comparison_id: int) -> tuple[int, str] | None:
    """(id, created_at) of the latest earlier comparison of the same suite, for "cases added since".

    The one SQL statement outside the store in the export; it belongs in the store as a method
    (issue 11: the store owns SQL)."""
    row = store.db.execute(
        "SELECT c.id, c.created_at FROM comparisons c JOIN suites s ON s.id = c.suite_id"
        " WHERE s.name = ? AND c.id < ? ORDER BY c.id DESC LIMIT 1",
        (suite_name, comparison_id),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


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

    data = store.load_comparison(resolve_comparison_id(store, comparison))
    assessments = assess_comparison(store, data)
    previous = previous_comparison(store, data.suite.name, data.comparison.id)
    return build_changelog(
        data, assessments, store.labels(data.comparison.id), store.signoffs(data.comparison.id),
        generated_at=generated_at or datetime.now(UTC), generated_by=generated_by, prices=prices,
        previous_comparison=previous, allow_unreviewed=allow_unreviewed, alpha=alpha,
    )  # fmt: skip

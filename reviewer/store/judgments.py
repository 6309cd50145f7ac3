"""A pairwise judge's answers (``reviewer judge``): suggestions kept apart from the labels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .core import StoreCore
from .records import JUDGMENT_COLS, Judgment, now_iso

__all__ = ["JudgmentsMixin"]


class JudgmentsMixin(StoreCore):
    # -- judgments (a pairwise judge's suggestions; never labels) --------------------------------

    def save_judgments(self, judgments: Iterable[Judgment]) -> None:
        """Store judge answers in one transaction; one already stored for the same comparison,
        case, sample, judge, rubric and order is replaced (a retried error, a changed output)."""
        ts = now_iso()
        rows = [(*(getattr(j, c) for c in JUDGMENT_COLS), ts) for j in judgments]
        if not rows:
            return
        cols = ", ".join([*JUDGMENT_COLS, "created_at"])
        marks = ", ".join("?" * (len(JUDGMENT_COLS) + 1))
        with self.transaction() as c:
            c.executemany(f"INSERT OR REPLACE INTO judgments ({cols}) VALUES ({marks})", rows)

    def judgments(self, comparison_id: int, *, judge: str | None = None, rubric_digest: str | None = None) -> list[Judgment]:
        """A comparison's judge answers (of one judge / rubric when given), by case, sample, judge, order."""
        sql = "SELECT * FROM judgments WHERE comparison_id = ?"
        params: list[Any] = [comparison_id]
        if judge is not None:
            sql += " AND judge = ?"
            params.append(judge)
        if rubric_digest is not None:
            sql += " AND rubric_digest = ?"
            params.append(rubric_digest)
        rows = self._query(sql + " ORDER BY case_id, sample, judge, rubric_digest, position", params)
        return [Judgment(**r) for r in rows]

    def judges(self, comparison_id: int) -> list[tuple[str, str, int]]:
        """(judge, rubric digest, answers stored) of every judge run on a comparison, latest first."""
        rows = self._query(
            "SELECT judge, rubric_digest, COUNT(*) AS n, MAX(id) AS last FROM judgments WHERE comparison_id = ?"
            " GROUP BY judge, rubric_digest ORDER BY last DESC",
            (comparison_id,),
        )
        return [(r["judge"], r["rubric_digest"], r["n"]) for r in rows]

    def cached_judgments(self, cache_keys: Iterable[str]) -> dict[str, Judgment]:
        """Answered judge calls by cache key (the oldest answer wins, so reruns are stable)."""
        keys = list(dict.fromkeys(cache_keys))
        found: dict[str, Judgment] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._query(f"SELECT * FROM judgments WHERE error IS NULL AND cache_key IN ({marks}) ORDER BY id", chunk):
                found.setdefault(r["cache_key"], Judgment(**r))
        return found

"""Labels (each reviewer's verdict per case, with their history) and sign-offs."""

from __future__ import annotations

from .comparisons import ComparisonsMixin
from .records import VERDICTS, Label, Signoff, Verdict, label_from_row, now_iso

__all__ = ["LabelsMixin"]


class LabelsMixin(ComparisonsMixin):
    # -- labels ---------------------------------------------------------------------------------

    def set_label(
        self,
        comparison_id: int,
        case_id: str,
        reviewer: str,
        verdict: Verdict | str,
        *,
        severity: int | None = None,
        note: str | None = None,
        source: str = "app",
        at: str | None = None,
    ) -> Label:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        v = Verdict(verdict)
        if severity is not None and v is not Verdict.REGRESSION:
            severity = None
        ts = at or now_iso()
        with self.transaction() as c:
            c.execute(
                """INSERT INTO labels (comparison_id, case_id, reviewer, verdict, severity, note, created_at, updated_at)
                   VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT (comparison_id, case_id, reviewer) DO UPDATE SET
                     verdict = excluded.verdict, severity = excluded.severity, note = excluded.note,
                     updated_at = excluded.updated_at""",
                (comparison_id, case_id, reviewer, v.value, severity, note, ts, ts),
            )
            c.execute(
                "INSERT INTO label_events (comparison_id, case_id, reviewer, verdict, severity, note, at, source) VALUES (?,?,?,?,?,?,?,?)",
                (comparison_id, case_id, reviewer, v.value, severity, note, ts, source),
            )
        return Label(comparison_id, case_id, reviewer, v, severity, note, ts, ts)

    def remove_label(self, comparison_id: int, case_id: str, reviewer: str, *, source: str = "app") -> None:
        with self.transaction() as c:
            c.execute(
                "DELETE FROM labels WHERE comparison_id = ? AND case_id = ? AND reviewer = ?", (comparison_id, case_id, reviewer)
            )
            c.execute(
                "INSERT INTO label_events (comparison_id, case_id, reviewer, verdict, at, source) VALUES (?,?,?,NULL,?,?)",
                (comparison_id, case_id, reviewer, now_iso(), source),
            )

    def labels(self, comparison_id: int) -> list[Label]:
        rows = self._query(
            "SELECT comparison_id, case_id, reviewer, verdict, severity, note, created_at, updated_at"
            " FROM labels WHERE comparison_id = ? ORDER BY case_id, reviewer",
            (comparison_id,),
        )
        return [label_from_row(r) for r in rows]

    def label_token(self, comparison_id: int) -> int:
        """Changes whenever anyone sets or removes a label on this comparison."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COALESCE(MAX(id), 0) FROM label_events WHERE comparison_id = ?", (comparison_id,)
            ).fetchone()
        return int(row[0])

    # -- sign-offs ------------------------------------------------------------------------------

    def add_signoff(self, comparison_id: int, signer: str, *, note: str | None = None, body_digest: str | None = None) -> Signoff:
        self.comparison(comparison_id)
        ts = now_iso()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO signoffs (comparison_id, signer, note, created_at, body_digest) VALUES (?,?,?,?,?)",
                (comparison_id, signer, note, ts, body_digest),
            )
        return Signoff(comparison_id, signer, note, ts, body_digest, int(cur.lastrowid))  # type: ignore[arg-type]

    def signoffs(self, comparison_id: int) -> list[Signoff]:
        rows = self._query("SELECT * FROM signoffs WHERE comparison_id = ? ORDER BY id", (comparison_id,))
        return [Signoff(**r) for r in rows]

"""Reading what users already have: promptfoo configs and results, JSONL production logs,
OpenTelemetry GenAI spans (OTLP JSON) and Langfuse observation exports.

Every importer validates its whole input first and reports bad input as ``file:line: field:
message`` (:class:`ImportProblems`, a list of :class:`reviewer.errors.Problem`, re-exported here);
only then does anything get written (a suite file atomically, the store in one transaction), so a
failed import leaves nothing half-done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem, ReviewerError

__all__ = ["MAX_PROBLEMS", "ImportProblems", "Problem", "read_trace"]

#: An import stops collecting problems after this many (the first ones are the useful ones).
MAX_PROBLEMS = 20


class ImportProblems(ReviewerError):
    """Bad input in an import: one line per problem, each naming the file, line and field."""

    def __init__(self, problems: list[Problem], *, more: int = 0):
        self.problems = problems
        lines = [str(p) for p in problems]
        if more:
            lines.append(f"… and {more} more problem{'s' if more != 1 else ''}")
        super().__init__("\n".join(lines))


def read_trace(path: str | Path) -> Any:
    """An OTLP JSON file or a Langfuse export, told apart by its first document (a JSON array, or
    objects with ``type``/``data``, is Langfuse; anything else is read as OTLP JSON, so a file that
    is neither gets the OTLP error). Returns an :class:`~reviewer.importers.otlp.TraceRead`."""
    from .langfuse import read_langfuse
    from .otlp import json_documents, read_otlp

    docs = json_documents(path, what="OTLP JSON or a Langfuse export")
    first = docs[0][1]
    if isinstance(first, list) or (
        isinstance(first, dict) and ("type" in first or "data" in first) and "resourceSpans" not in first
    ):
        return read_langfuse(path)
    return read_otlp(path)

"""Reading what users already have: promptfoo configs and results, JSONL production logs.

Every importer validates its whole input first and reports bad input as ``file:line: field:
message`` (:class:`ImportProblems`, a list of :class:`reviewer.errors.Problem`, re-exported here);
only then does anything get written (a suite file atomically, the store in one transaction), so a
failed import leaves nothing half-done.
"""

from __future__ import annotations

from ..errors import Problem, ReviewerError

__all__ = ["MAX_PROBLEMS", "ImportProblems", "Problem"]

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

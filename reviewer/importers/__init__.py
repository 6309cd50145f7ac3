"""Reading what users already have: promptfoo configs and results, JSONL production logs.

Every importer validates its whole input first and reports bad input as ``file:line: field:
message`` (:class:`ImportProblems`); only then does anything get written (a suite file atomically,
the store in one transaction), so a failed import leaves nothing half-done.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ReviewerError

__all__ = ["Problem", "ImportProblems", "MAX_PROBLEMS"]

#: An import stops collecting problems after this many (the first ones are the useful ones).
MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    field: str  # e.g. "messages[1].content", "" when about the line as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ImportProblems(ReviewerError):
    """Bad input in an import: one line per problem, each naming the file, line and field."""

    def __init__(self, problems: list[Problem], *, more: int = 0):
        self.problems = problems
        lines = [str(p) for p in problems]
        if more:
            lines.append(f"… and {more} more problem{'s' if more != 1 else ''}")
        super().__init__("\n".join(lines))

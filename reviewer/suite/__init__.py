"""Golden suites: the file format (YAML or JSONL), its pydantic schemas, and loading with
errors that say file:line, case id and field.

- :mod:`.tools`: tools, tool_choice, response_format, JSON paths, schema meta-validation;
- :mod:`.checks`: the check kinds and :class:`Check`;
- :mod:`.models`: :class:`Message`, :class:`Defaults`, :class:`Case`, :class:`Suite`;
- :mod:`.loading`: :func:`load_suite`, :class:`LoadedSuite`, :class:`SuiteError` (its problems
  are :class:`reviewer.errors.Problem`, the package's one type).

Never imports the store, providers, the diff engine or Textual: every other layer reads suites.
"""

from __future__ import annotations

from ..errors import Problem
from .checks import CHECK_KINDS, Check, CheckKind
from .loading import LoadedSuite, SuiteError, load_suite
from .models import Case, Defaults, Message, MessageToolCall, Suite
from .tools import TOOL_CHOICES, parse_json_path

__all__ = [
    "CHECK_KINDS",
    "TOOL_CHOICES",
    "Case",
    "Check",
    "CheckKind",
    "Defaults",
    "LoadedSuite",
    "Message",
    "MessageToolCall",
    "Problem",
    "Suite",
    "SuiteError",
    "load_suite",
    "parse_json_path",
]

"""The behavioural changelog: one data model computed from a comparison, rendered as Markdown for
people and JSON for machines.

- :mod:`.model` — the dataclasses, and how each is serialised;
- :mod:`.build` — ``build_changelog``, pure: the loaded comparison, its assessments (from
  :func:`reviewer.analysis.assess_comparison`, in triage order), labels and sign-offs, with the
  generation time and identity as parameters, so the same inputs always give the same bytes;
- :mod:`.load` — ``load_changelog``: fetches those inputs from a store;
- :mod:`.markdown` — the Markdown document (body and sign-off block);
- :mod:`.jsondoc` — the JSON document, from the model's own serialisation.

Every name the rest of the package imports from ``reviewer.export.changelog`` is re-exported
here; ``diff_excerpt`` lives in :mod:`reviewer.diff.excerpt` and ``resolve_comparison_id`` in
:mod:`reviewer.export.resolve`.
"""

from __future__ import annotations

from ...diff.excerpt import EXCERPT_LINES, EXCERPT_SCAN, EXCERPT_WIDTH, diff_excerpt
from ..resolve import resolve_comparison_id
from .build import build_changelog
from .jsondoc import RowsAhead, iter_json, render_json, to_dict, to_jsonable
from .load import load_changelog
from .markdown import (
    GROUP_IDS,
    GROUP_NOTES,
    GROUP_OVER,
    UNREVIEWED_LISTED,
    ExcerptsAhead,
    render_body,
    render_markdown,
    render_signoff,
)
from .model import (
    SEVERITY_NAMES,
    STATE_DIGEST_PREFIX,
    CaseEntry,
    Changelog,
    CheckEntry,
    CheckRow,
    CheckSide,
    LabelEntry,
    Metric,
    Price,
    SideInfo,
    SignaturePlan,
    SignoffEntry,
    Status,
    Summary,
    TagRow,
    latest_label,
    review_state_digest,
    short_model,
)

__all__ = [
    "EXCERPT_LINES",
    "EXCERPT_SCAN",
    "EXCERPT_WIDTH",
    "GROUP_IDS",
    "GROUP_NOTES",
    "GROUP_OVER",
    "SEVERITY_NAMES",
    "STATE_DIGEST_PREFIX",
    "UNREVIEWED_LISTED",
    "CaseEntry",
    "Changelog",
    "CheckEntry",
    "CheckRow",
    "CheckSide",
    "ExcerptsAhead",
    "LabelEntry",
    "Metric",
    "Price",
    "RowsAhead",
    "SideInfo",
    "SignaturePlan",
    "SignoffEntry",
    "Status",
    "Summary",
    "TagRow",
    "build_changelog",
    "diff_excerpt",
    "iter_json",
    "latest_label",
    "load_changelog",
    "render_body",
    "render_json",
    "render_markdown",
    "render_signoff",
    "resolve_comparison_id",
    "review_state_digest",
    "short_model",
    "to_dict",
    "to_jsonable",
]  # fmt: skip

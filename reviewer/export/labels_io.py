"""Sharing labels between machines as JSONL: ``reviewer labels export`` / ``reviewer labels import``.

One label per line, each line self-contained, so files from several reviewers can simply be
concatenated::

    {"format": "reviewer-labels/1",
     "comparison": {"suite": "support-bot", "suite_digest": "a194…", "baseline": "openai:gpt-4o",
                    "candidate": "openai:gpt-4o", "name": "march-refresh", "outputs": "9f1c…"},
     "case": "refund-json", "reviewer": "Ada <ada@example.com>", "verdict": "regression",
     "severity": 3, "note": "…", "time": "2025-03-13T11:00:00.000Z"}

A comparison is identified by what survives a copy to another machine: the suite's content digest,
the two requested models, and the comparison's name; ``outputs`` (a digest of both runs' answers)
picks between local comparisons that share that identity (the same suite and models run twice).

Import is all-or-nothing for malformed input (any bad line: nothing is imported, every problem is
listed as ``file:line: message``), idempotent (a label already present is unchanged), and newer
wins (a label replaces the local one of the same reviewer only when its time is later). A label
whose comparison or case does not exist here is reported with its line, never dropped silently;
the others are imported in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..boundaries import NonEmptyStr, OptionalStr, problems_from
from ..errors import Problem, ReviewerError, UsageError
from ..safeyaml import FileProblem, json_value, read_text
from ..store.records import VERDICTS, Verdict

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["FORMAT", "ImportReport", "LabelLine", "comparison_identity", "export_labels", "import_labels", "parse_label_lines"]

FORMAT = "reviewer-labels/1"
_IDENTITY_KEYS = ("suite", "suite_digest", "baseline", "candidate", "name")


def _norm_time(value: Any, *, prefix: str = "time: ") -> str:
    """An aware ISO 8601 time → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the store's format, so times compare as text)."""
    if not isinstance(value, str):
        raise ValueError(f"{prefix}expected an ISO 8601 string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValueError(f"{prefix}not an ISO 8601 time: {value!r}") from None
    if dt.tzinfo is None:
        raise ValueError(f"{prefix}{value!r} has no time zone (write it as UTC, e.g. 2025-03-13T11:00:00Z)")
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _outputs_digest(store: Store, baseline_run_id: int, candidate_run_id: int) -> str:
    h = hashlib.sha256()
    for run_id, side in ((baseline_run_id, b"b"), (candidate_run_id, b"c")):
        for case_id, sample, text, failed in store.answer_texts(run_id):
            h.update(side + b"\0" + case_id.encode() + b"\0" + str(sample).encode() + b"\0")
            h.update((text or "").encode("utf-8", "surrogatepass") + b"\0" + (b"E" if failed else b"") + b"\1")
    return h.hexdigest()


def comparison_identity(store: Store, comparison_id: int) -> dict[str, Any]:
    """How a comparison is named in a labels file (see the module docstring)."""
    comp = store.comparison(comparison_id)
    suite = store.suite(comp.suite_id)
    base, cand = store.run(comp.baseline_run_id), store.run(comp.candidate_run_id)
    return {
        "suite": suite.name,
        "suite_digest": suite.digest,
        "baseline": base.spec,
        "candidate": cand.spec,
        "name": comp.name,
        "outputs": _outputs_digest(store, comp.baseline_run_id, comp.candidate_run_id),
    }


def export_labels(store: Store, comparison_id: int) -> list[str]:
    """Every reviewer's current label of the comparison, one JSON line each (ordered by case, reviewer)."""
    ident = comparison_identity(store, comparison_id)
    lines = []
    for lab in store.labels(comparison_id):
        obj = {
            "format": FORMAT, "comparison": ident, "case": lab.case_id, "reviewer": lab.reviewer,
            "verdict": lab.verdict, "severity": lab.severity, "note": lab.note,
            "time": lab.updated_at or lab.created_at,
        }  # fmt: skip
        lines.append(json.dumps(obj, ensure_ascii=False, sort_keys=False))
    return lines


@dataclass(frozen=True, slots=True)
class ParsedLabel:
    line: int
    comparison: dict[str, Any]
    case: str
    reviewer: str
    verdict: Verdict
    severity: int | None
    note: str | None
    time: str

    @property
    def identity_key(self) -> tuple[Any, ...]:
        return tuple(self.comparison.get(k) for k in _IDENTITY_KEYS)


class LabelComparison(BaseModel):
    """Which comparison a label belongs to; other keys (``suite``, ``outputs``) are kept as given."""

    model_config = ConfigDict(extra="allow")
    suite_digest: NonEmptyStr = Field(default=None, validate_default=True)
    baseline: NonEmptyStr = Field(default=None, validate_default=True)
    candidate: NonEmptyStr = Field(default=None, validate_default=True)
    name: OptionalStr = None

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected an object with suite_digest, baseline, candidate, name")
        return value


def _case(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a case id")
    return value


def _reviewer(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _verdict(value: Any) -> Verdict:
    if not isinstance(value, str) or value not in VERDICTS:
        raise ValueError(f"expected one of {', '.join(VERDICTS)}, got {value!r}")
    return Verdict(value)


def _severity(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or value not in (1, 2, 3)):
        raise ValueError(f"expected 1, 2, 3 or null, got {value!r}")
    return None if value is None else int(value)


def _format(value: Any) -> str:
    if value != FORMAT:
        raise ValueError(f"expected {FORMAT!r}, got {value!r}")
    return FORMAT


class LabelLine(BaseModel):
    """One line of a labels file. Keys beyond these are ignored (a newer writer may add some); an
    absent field is reported by its own validator, in the same words as a wrong one."""

    model_config = ConfigDict(extra="ignore")
    format: Annotated[str, BeforeValidator(_format)] = Field(default=None, validate_default=True)
    comparison: LabelComparison = Field(default=None, validate_default=True)
    case: Annotated[str, BeforeValidator(_case)] = Field(default=None, validate_default=True)
    reviewer: Annotated[str, BeforeValidator(_reviewer)] = Field(default=None, validate_default=True)
    verdict: Annotated[Verdict, BeforeValidator(_verdict)] = Field(default=None, validate_default=True)
    severity: Annotated[int | None, BeforeValidator(_severity)] = None
    note: OptionalStr = None
    time: Annotated[str, BeforeValidator(lambda v: _norm_time(v, prefix=""))] = Field(default=None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("each line is a JSON object (one label)")
        return value

    def parsed(self, line: int) -> ParsedLabel:
        severity = self.severity if self.verdict == "regression" else None  # as Store.set_label does
        comparison = self.comparison.model_dump(exclude_unset=True)
        return ParsedLabel(line, comparison, self.case, self.reviewer, self.verdict, severity, self.note, self.time)


def parse_label_lines(path: Path) -> list[ParsedLabel]:
    """Parse and validate every line; raise ``ReviewerError`` listing every problem as file:line: field: message."""
    try:
        text = read_text(path)  # bounded in size; a bad byte is named by line; a BOM is dropped
    except FileProblem as e:
        raise UsageError(str(e)) from None
    out: list[ParsedLabel] = []
    problems: list[str] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json_value(raw, path, n)
        except json.JSONDecodeError as e:
            problems.append(str(Problem(str(path), n, f"invalid JSON: {e.msg} (column {e.colno})")))
            continue
        except FileProblem as e:
            problems.append(str(e))
            continue
        try:
            label = LabelLine.model_validate(obj)
        except ValidationError as e:
            problems += [str(p) for p in problems_from(e, str(path), n)]
            continue
        out.append(label.parsed(n))
    if problems:
        shown = problems[:50]
        more = [f"… and {len(problems) - 50} more problems"] if len(problems) > 50 else []
        raise ReviewerError("\n".join(shown + more + [f"{path}: nothing imported (fix the lines above)"]))
    return out


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_local: int = 0  # the local label is newer (or equally new): it stays
    skipped: list[str] = field(default_factory=list)  # "file:line: why", for labels not imported
    notes: list[str] = field(default_factory=list)  # informational, e.g. outputs differ
    comparisons: set[int] = field(default_factory=set)

    @property
    def changed(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.kept_local:
            parts.append(f"{self.kept_local} kept (the local label is newer)")
        if self.skipped:
            parts.append(f"{len(self.skipped)} not imported (listed above)")
        where = ", ".join(f"#{c}" for c in sorted(self.comparisons)) or "no comparison"
        return f"labels: {', '.join(parts)} — into comparison {where}"


def _describe(comp: dict[str, Any]) -> str:
    name = f" named {comp.get('name')!r}" if comp.get("name") else " without a name"
    digest = str(comp.get("suite_digest", ""))[:12]
    return f"suite {comp.get('suite', '?')} (sha256 {digest}…), {comp.get('baseline')} → {comp.get('candidate')},{name}"


def import_labels(store: Store, path: Path, *, into: int | None = None, dry_run: bool = False) -> ImportReport:
    """Import a labels JSONL file (see the module docstring). ``into`` sends every label to that
    local comparison regardless of the identity on the lines (its cases must still exist)."""
    from ..store import StoreError

    labels = parse_label_lines(path)
    report = ImportReport()

    # which local comparison each identity names
    summaries = store.comparisons()
    if into is not None:
        try:
            store.comparison(into)
        except StoreError as e:
            raise UsageError(f"--into: {e}") from None
    resolved: dict[tuple[Any, ...], int | str] = {}
    outputs_cache: dict[int, str] = {}

    def local_outputs(cid: int) -> str:
        if cid not in outputs_cache:
            comp = store.comparison(cid)
            outputs_cache[cid] = _outputs_digest(store, comp.baseline_run_id, comp.candidate_run_id)
        return outputs_cache[cid]

    def resolve(lab: ParsedLabel) -> int | str:
        if into is not None:
            return into
        key = (*lab.identity_key, lab.comparison.get("outputs"))
        if key in resolved:
            return resolved[key]
        c = lab.comparison
        matches = [
            s.id for s in summaries
            if s.suite_digest == c["suite_digest"] and s.baseline == c["baseline"] and s.candidate == c["candidate"]
            and s.name == c.get("name")
        ]  # fmt: skip
        result: int | str
        if not matches:
            result = f"no local comparison matches ({_describe(c)})"
        elif len(matches) == 1:
            result = matches[0]
            if c.get("outputs") and c["outputs"] != local_outputs(matches[0]):
                report.notes.append(
                    f"{path}:{lab.line}: comparison #{matches[0]} matches by suite, models and name, but its "
                    "outputs differ from the labelled ones (a re-run?): imported anyway"
                )
        else:
            same = [m for m in matches if c.get("outputs") and local_outputs(m) == c["outputs"]]
            if len(same) == 1:
                result = same[0]
            else:
                ids = ", ".join(f"#{m}" for m in matches)
                result = f"{len(matches)} local comparisons match ({ids}): choose one with --into ID"
        resolved[key] = result
        return result

    case_ids: dict[int, set[str]] = {}

    def cases_of(cid: int) -> set[str]:
        if cid not in case_ids:
            comp = store.comparison(cid)
            case_ids[cid] = {c.id for c in store.suite(comp.suite_id).suite.cases}
        return case_ids[cid]

    accepted: dict[tuple[int, str, str], ParsedLabel] = {}
    for lab in labels:
        target = resolve(lab)
        if isinstance(target, str):
            report.skipped.append(str(Problem(str(path), lab.line, target)))
            continue
        if lab.case not in cases_of(target):
            report.skipped.append(str(Problem(str(path), lab.line, f"case {lab.case!r} is not in comparison #{target}")))
            continue
        k = (target, lab.case, lab.reviewer)
        prev = accepted.get(k)
        if prev is None or lab.time > prev.time:  # the file itself may hold several versions
            accepted[k] = lab
        report.comparisons.add(target)

    # one transaction (Store.transaction is re-entrant: set_label joins it): all or nothing
    with store.transaction():
        local = {(cid, lab.case_id, lab.reviewer): lab for cid in {k[0] for k in accepted} for lab in store.labels(cid)}
        for (cid, case, reviewer), lab in sorted(accepted.items(), key=lambda kv: (kv[1].time, kv[1].line)):
            mine = local.get((cid, case, reviewer))
            if mine is not None:
                if (mine.verdict, mine.severity, mine.note) == (lab.verdict, lab.severity, lab.note):
                    report.unchanged += 1
                    continue
                if _safe_norm(mine.updated_at) >= lab.time:
                    report.kept_local += 1
                    continue
            if not dry_run:
                store.set_label(cid, case, reviewer, lab.verdict, severity=lab.severity, note=lab.note,
                                source="import", at=lab.time)  # fmt: skip
            if mine is None:
                report.added += 1
            else:
                report.updated += 1
    return report


def _safe_norm(value: str | None) -> str:
    try:
        return _norm_time(value)
    except ValueError:
        return value or ""


def write_lines(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)

"""``reviewer import jsonl LOG.jsonl --as-run NAME``: production log lines become a stored run
(provider ``log``, label NAME) that a comparison can use as its baseline or candidate.

With ``--suite SUITE`` each answered line is matched to a case of that suite — by the id the line
names (``case_id``/``custom_id``/``metadata.case_id``), else by its request messages equal to
what the case sends — and lines matching no case are skipped and counted. Without a suite, the
distinct requests of the log become the cases (ids from the line's id, else a slug of the prompt
plus a content hash, so the same request gets the same id on every import); ``-o`` writes that
suite to a file so it can be replayed against a candidate.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..store import Output
from ..suite import Case, LoadedSuite, Suite
from . import ImportProblems, Problem
from .logs import LogEntry, entry_to_case, iter_log, reread_log
from .promptfoo import slug
from .storing import ImportedRun

__all__ = ["LogRun", "build_log_run", "messages_key", "read_log_run"]


def messages_key(messages: list[dict[str, str]]) -> str:
    """Canonical form of the messages a request sends (role and content only)."""
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)


@dataclass
class LogRun:
    suite: Suite
    run: ImportedRun
    lines: int  # log lines read
    matched: int  # lines that became outputs
    unmatched: list[int] = field(default_factory=list)  # line numbers matching no case (with --suite)
    unanswered: list[int] = field(default_factory=list)  # request-only lines (no answer, no error)
    new_suite: bool = True  # the suite was built from the log
    output_lines: list[int] = field(default_factory=list)  # the line of each of run.outputs


def _output(entry: LogEntry, case_id: str, sample: int) -> Output:
    return Output(
        case_id=case_id, sample=sample, text=entry.output, resolved_model=entry.resolved_model,
        system_fingerprint=entry.system_fingerprint, finish_reason=entry.finish_reason, refusal=entry.refusal,
        usage=entry.usage, input_tokens=entry.input_tokens, output_tokens=entry.output_tokens,
        latency_ms=entry.latency_ms, error=entry.error, error_status=entry.error_status, request_id=entry.request_id,
        tool_calls=entry.tool_calls,
    )  # fmt: skip


def _common_params(entries: list[LogEntry]) -> dict[str, Any]:
    if not entries:
        return {}
    common = dict(entries[0].params)
    for e in entries[1:]:
        common = {k: v for k, v in common.items() if e.params.get(k) == v}
    return common


#: Outputs written per statement while an import streams a log into the store.
STREAM_CHUNK = 2000


def read_log_run(path: str | Path, *, name: str, suite: LoadedSuite | None = None) -> LogRun:
    """Read and match the whole log; raises ImportProblems before anything could be written.

    Memory stays flat in the log's size: while matching, each line keeps only what matching and
    the run's summary need (its prompt shared with the suite's case when it is the same, its
    answer's text dropped); the answers are read again, line by line, as the run is stored
    (``ImportedRun.stream``)."""
    p = Path(path)
    shared: dict[str, list[dict[str, str]]] = {}
    if suite is not None:
        for c in suite.suite.cases:
            msgs = c.build_messages(suite.suite.defaults)
            shared.setdefault(messages_key(msgs), msgs)

    def keep(e: LogEntry) -> LogEntry:
        messages = e.messages
        if messages is not None and shared:
            messages = shared.get(messages_key(messages), messages)
        return replace(
            e, messages=messages, output=None if e.output is None else "", refusal=None if e.refusal is None else "",
            usage=None,
        )  # fmt: skip

    entries = list(iter_log(p, keep=keep))
    if not entries:
        raise ImportProblems([Problem(str(p), None, "no log lines")])
    imp = build_log_run(p, entries, name=name, suite=suite)
    place = {line: (o.case_id, o.sample) for o, line in zip(imp.run.outputs, imp.output_lines, strict=True)}

    def stream() -> Iterator[list[Output]]:
        chunk: list[Output] = []
        for e in reread_log(p, place):
            case_id, sample = place[e.line]
            chunk.append(_output(e, case_id, sample))
            if len(chunk) >= STREAM_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    imp.run.stream = stream
    return imp


def build_log_run(
    p: Path, entries: list[LogEntry], *, name: str, suite: LoadedSuite | None = None, provider: str = "log", kind: str = "log"
) -> LogRun:
    """The run (and, without ``suite``, the suite) of normalised entries, whatever they were read
    from (a JSONL log, OTLP spans, Langfuse observations); ``kind`` names the file in messages."""
    answered = [e for e in entries if e.answered or e.error is not None]
    unanswered = [e.line for e in entries if not (e.answered or e.error is not None)]
    if not answered:
        raise ImportProblems(
            [Problem(str(p), entries[0].line, "no line holds an answer (output, refusal or error): nothing to import as a run")]
        )

    per_case: dict[str, list[LogEntry]] = {}
    unmatched: list[int] = []
    if suite is not None:
        s = suite.suite
        ids = {c.id for c in s.cases}
        by_messages: dict[str, str] = {}
        for c in s.cases:
            by_messages.setdefault(messages_key(c.build_messages(s.defaults)), c.id)
        for e in answered:
            cid = e.case_id if e.case_id in ids else None
            if cid is None and e.messages is not None:
                cid = by_messages.get(messages_key(e.messages))
            if cid is None:
                unmatched.append(e.line)
                continue
            per_case.setdefault(cid, []).append(e)
        if not per_case:
            raise ImportProblems(
                [Problem(str(p), None, f"no line matches a case of {suite.path} (by case_id/custom_id or by its messages)")]
            )
        built = s
    else:
        problems = []
        keyed: dict[str, str] = {}
        cases: list[Case] = []
        taken: set[str] = set()
        for e in answered:
            if e.messages is None:
                problems.append(
                    Problem(
                        e.where if e.span_id else str(p),
                        None if e.span_id else e.line,
                        "an answer without its request: pass --suite to match it by case id",
                    )
                )
                continue
            key = messages_key(e.messages)
            cid = keyed.get(key)
            if cid is None:
                last_user = next((m["content"] for m in reversed(e.messages) if m["role"] == "user"), "")
                digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                wanted = e.case_id or f"{slug(' '.join(last_user.split()[:8]), limit=40)}-{digest}"
                cid = wanted if wanted not in taken else f"{wanted}-{digest}"
                if cid in taken:
                    problems.append(Problem(str(p), e.line, f"{e.case_id!r} names two different requests", field="case_id"))
                    continue
                try:
                    cases.append(entry_to_case(e, case_id=cid))
                except ValidationError as err:
                    x = err.errors()[0]
                    problems.append(Problem(e.where if e.span_id else str(p), None if e.span_id else e.line,
                                            x["msg"].removeprefix("Value error, "), field=".".join(str(i) for i in x["loc"])))  # fmt: skip
                    continue
                taken.add(cid)
                keyed[key] = cid
            per_case.setdefault(cid, []).append(e)
        if problems:
            raise ImportProblems(problems[:20], more=max(0, len(problems) - 20))
        built = Suite(suite=slug(p.stem, limit=60), description=f"requests from the {kind} {p.name}", cases=cases)

    outputs: list[Output] = []
    used: list[LogEntry] = []
    for cid, es in per_case.items():
        for sample, e in enumerate(es):
            outputs.append(_output(e, cid, sample))
            used.append(e)
    models = Counter(e.model for e in used if e.model)
    times = sorted(e.started_at for e in used if e.started_at)
    run = ImportedRun(provider=provider, model=models.most_common(1)[0][0] if models else "unknown", label=name,
                      outputs=outputs, params=_common_params(used),
                      started_at=times[0] if times else None, finished_at=times[-1] if times else None)  # fmt: skip
    return LogRun(
        suite=built, run=run, lines=len(entries), matched=len(used), unmatched=unmatched, unanswered=unanswered,
        new_suite=suite is None, output_lines=[e.line for e in used],
    )  # fmt: skip

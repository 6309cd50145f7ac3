"""Outputs recorded elsewhere: ``recorded:PATH.jsonl``, one JSON object a line with at least
``case_id`` and ``output`` (or ``tool_calls``, or both); optional ``sample`` (else lines of one case
are samples 0, 1, …), ``model``, ``system_fingerprint``, ``latency_ms``, ``usage``,
``finish_reason``, ``refusal``, ``reasoning``, ``stop_details``.

``tool_calls`` is a list of ``{name, arguments, id}``: ``arguments`` a JSON object or the JSON text the
model wrote (kept as written, even when it is not valid JSON), ``id`` optional. Nothing is sent
anywhere, so the suite's tools are not used: the recorded calls are the answer.

No network and no key: this is how the demo opens with nothing installed but reviewer.

The file is checked whole when the provider is made (every error names its line before any call),
but only an index is kept: per (case id, sample) the line's offset and length in the file. A
call reads and decodes its one line again, so memory stays flat in the number of cases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..toolcall import ToolCall
from . import Answer, Call, ProviderError, Spec


class RecordedProvider:
    provider = "recorded"
    cacheable = False  # reading the file is the cheap path; the file may change between runs
    _fd: int | None = None  # opened at the first call, to read lines back with pread

    def __init__(self, spec: Spec, option: str = "SPEC"):
        self.path = Path(spec.model)
        self.model = spec.model
        self.base_url = None
        self.warnings: list[str] = []
        self.records: dict[tuple[str, int], Entry] = load_records(self.path, option)

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)

    def _line(self, entry: Entry) -> bytes:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except OSError as e:
                raise ProviderError(f"recorded:{self.path}: cannot read ({e.strerror or e})") from None
        return os.pread(self._fd, entry[1], entry[0])

    @property
    def endpoint_key(self) -> str:
        return f"recorded {self.path}"

    def check_cases(self, case_ids: set[str], suite_name: str) -> None:
        """Warn about recorded case ids the suite does not have (a renamed case, the wrong file):
        how many and the first few; their lines are not used."""
        unknown = [cid for cid in dict.fromkeys(cid for cid, _ in self.records) if cid not in case_ids]  # file order
        if unknown:
            first = ", ".join(repr(c) for c in unknown[:5]) + (", …" if len(unknown) > 5 else "")
            n = len(unknown)
            self.warnings.append(
                f"recorded:{self.path}: {n} case id{'s' if n != 1 else ''} not in suite {suite_name!r}, not used: {first}"
            )

    def check_tools(self, tool_cases: set[str]) -> None:
        """The suite gives tools to some cases: say so when no line of those cases records a tool
        call (a file written before tool calls were recorded answers them all with text)."""
        lines = [entry for (cid, _), entry in self.records.items() if cid in tool_cases]
        if lines and not any(entry[2] for entry in lines):
            n = len(tool_cases)
            self.warnings.append(
                f"recorded:{self.path}: {n} case{'s' if n != 1 else ''} of the suite give{'' if n != 1 else 's'} tools, "
                "but no line of them has tool_calls: their answers are text only"
            )

    async def complete(self, transport: Any, call: Call, timeout: float) -> Answer:
        entry = self.records.get((call.case_id, call.sample))
        if entry is None:
            raise ProviderError(f"no recorded output for case {call.case_id!r} sample {call.sample} in {self.path}")
        rec = self._record(entry, call.case_id)
        usage = rec.get("usage") if isinstance(rec.get("usage"), dict) else None
        return Answer(
            text=rec.get("output") or "",
            tool_calls=rec.get("_calls", ()),
            stop_details=rec.get("stop_details"),
            reasoning=rec.get("reasoning"),
            resolved_model=rec.get("model"),
            system_fingerprint=rec.get("system_fingerprint"),
            finish_reason=rec.get("finish_reason"),
            refusal=rec.get("refusal"),
            usage=usage,
            input_tokens=_first(usage, "prompt_tokens", "input_tokens"),
            output_tokens=_first(usage, "completion_tokens", "output_tokens"),
            request_id=rec.get("request_id"),
            latency_ms=rec.get("latency_ms"),
        )

    def _record(self, entry: Entry, case_id: str) -> dict[str, Any]:
        """The line of ``entry`` read again and decoded; an error if the file changed meanwhile."""
        where = f"{self.path}:{entry[3]}"
        try:
            rec = json.loads(self._line(entry).decode("utf-8-sig"))
            ok = isinstance(rec, dict) and rec.get("case_id") == case_id
        except (UnicodeDecodeError, json.JSONDecodeError):
            ok = False
        if not ok:
            raise ProviderError(f"{where}: the file changed during the run (case {case_id!r} is no longer on this line)")
        try:
            rec["_calls"] = recorded_tool_calls(rec.get("tool_calls"), f"{where}: case {case_id!r}")
        except UsageError as e:
            raise ProviderError(f"{e} (the file changed during the run)") from None
        return rec


#: Where a recorded line is: (offset, length in bytes, has tool calls, line number).
Entry = tuple[int, int, bool, int]


def _first(d: dict[str, Any] | None, *keys: str) -> int | None:
    for k in keys:
        if d and isinstance(d.get(k), int):
            return d[k]
    return None


def load_records(path: Path, option: str = "SPEC") -> dict[tuple[str, int], Entry]:
    """Check every line of a recorded file; the index of its lines by (case id, sample)."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise UsageError(f"{option} recorded:{path}: no such file") from None
    except OSError as e:
        raise UsageError(f"{option} recorded:{path}: cannot read ({e.strerror or e})") from None
    records: dict[tuple[str, int], Entry] = {}
    next_sample: dict[str, int] = {}
    offset = 0
    with f:
        try:
            # Lines end at b"\n" only (a file object's lines do not split at U+2028 in a JSON string).
            for n, raw in enumerate(f, start=1):
                start, size = offset, len(raw)
                offset += size
                if n == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM (Windows editors write one) is accepted
                    raw = raw[3:]
                    start, size = start + 3, size - 3
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise UsageError(f"{path}:{n}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})") from None
                if not line.strip():
                    continue
                case_id, sample, has_calls = _check_line(line, f"{path}:{n}", next_sample, records)
                records[(case_id, sample)] = (start, size, has_calls, n)
                next_sample[case_id] = max(next_sample.get(case_id, 0), sample + 1)
        except OSError as e:
            raise UsageError(f"{option} recorded:{path}: cannot read ({e.strerror or e})") from None
    return records


_CHECKED = (
    ("latency_ms", (int, float)), ("usage", dict), ("finish_reason", str), ("model", str), ("refusal", str),
    ("reasoning", str), ("stop_details", dict),
)  # fmt: skip


def _check_line(
    line: str, where: str, next_sample: dict[str, int], records: dict[tuple[str, int], Entry]
) -> tuple[str, int, bool]:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise UsageError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(rec, dict):
        raise UsageError(f"{where}: each line is a JSON object")
    case_id, output = rec.get("case_id"), rec.get("output")
    if not isinstance(case_id, str) or not case_id:
        raise UsageError(f"{where}: case_id: a non-empty string is required")
    calls = recorded_tool_calls(rec.get("tool_calls"), f"{where}: case {case_id!r}")
    if not isinstance(output, str) and not (output is None and calls):
        raise UsageError(f"{where}: case {case_id!r}: output: a string is required (or tool_calls)")
    sample = rec.get("sample")
    if sample is None:
        sample = next_sample.get(case_id, 0)
    elif isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise UsageError(f"{where}: case {case_id!r}: sample: a non-negative integer is required")
    if (case_id, sample) in records:
        raise UsageError(f"{where}: case {case_id!r}: sample {sample} appears twice")
    for field, kind in _CHECKED:
        if rec.get(field) is not None and not isinstance(rec[field], kind):
            raise UsageError(f"{where}: case {case_id!r}: {field}: wrong type")
    return case_id, sample, bool(rec.get("tool_calls"))


def recorded_tool_calls(raw: Any, where: str) -> tuple[ToolCall, ...]:
    """A recorded line's ``tool_calls``, checked: one clear error naming the line, or the calls."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise UsageError(f"{where}: tool_calls: a list of {{name, arguments}} is required, got a JSON {type(raw).__name__}")
    calls = []
    for i, c in enumerate(raw):
        at = f"{where}: tool_calls[{i}]"
        if not isinstance(c, dict):
            raise UsageError(f"{at}: a mapping {{name, arguments}} is required, got a JSON {type(c).__name__}")
        if "function" in c and isinstance(c["function"], dict):  # OpenAI's own shape, as logs hold it
            c = {"id": c.get("id"), **c["function"]}
        unknown = sorted(set(c) - {"name", "arguments", "id", "type"})
        if unknown:
            raise UsageError(f"{at}: unknown field {unknown[0]!r} (known: name, arguments, id)")
        name, args, call_id = c.get("name"), c.get("arguments", {}), c.get("id")
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{at}: name: a non-empty string is required")
        if call_id is not None and not isinstance(call_id, str):
            raise UsageError(f"{at}: id: a string is required")
        if isinstance(args, str):
            calls.append(ToolCall(name, args, call_id))
        elif isinstance(args, dict):
            calls.append(ToolCall.from_value(name, args, call_id))
        else:
            raise UsageError(f"{at}: arguments: a JSON object or its JSON text is required, got a JSON {type(args).__name__}")
    return tuple(calls)

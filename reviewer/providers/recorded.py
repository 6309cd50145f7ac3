"""Outputs recorded elsewhere: ``recorded:PATH.jsonl``, one JSON object a line with at least
``case_id`` and ``output``; optional ``sample`` (else lines of one case are samples 0, 1, …),
``model``, ``system_fingerprint``, ``latency_ms``, ``usage``, ``finish_reason``, ``refusal``.

No network and no key: this is how the demo opens with nothing installed but reviewer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import Answer, Call, ProviderError, Spec


class RecordedProvider:
    provider = "recorded"
    cacheable = False  # reading the file is the cheap path; the file may change between runs

    def __init__(self, spec: Spec, option: str = "SPEC"):
        self.path = Path(spec.model)
        self.model = spec.model
        self.base_url = None
        self.warnings: list[str] = []
        self.records: dict[tuple[str, int], dict[str, Any]] = load_records(self.path, option)

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

    async def complete(self, transport: Any, call: Call, timeout: float) -> Answer:
        rec = self.records.get((call.case_id, call.sample))
        if rec is None:
            raise ProviderError(f"no recorded output for case {call.case_id!r} sample {call.sample} in {self.path}")
        usage = rec.get("usage") if isinstance(rec.get("usage"), dict) else None
        return Answer(
            text=rec["output"],
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


def _first(d: dict[str, Any] | None, *keys: str) -> int | None:
    for k in keys:
        if d and isinstance(d.get(k), int):
            return d[k]
    return None


def load_records(path: Path, option: str = "SPEC") -> dict[tuple[str, int], dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{option} recorded:{path}: no such file") from None
    except OSError as e:
        raise UsageError(f"{option} recorded:{path}: cannot read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 BOM (Windows editors write one) is accepted
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise UsageError(f"{path}:{line}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column})") from None
    records: dict[tuple[str, int], dict[str, Any]] = {}
    next_sample: dict[str, int] = {}
    for n, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit in a JSON string
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise UsageError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(rec, dict):
            raise UsageError(f"{where}: each line is a JSON object")
        case_id, output = rec.get("case_id"), rec.get("output")
        if not isinstance(case_id, str) or not case_id:
            raise UsageError(f"{where}: case_id: a non-empty string is required")
        if not isinstance(output, str):
            raise UsageError(f"{where}: case {case_id!r}: output: a string is required")
        sample = rec.get("sample")
        if sample is None:
            sample = next_sample.get(case_id, 0)
        elif isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
            raise UsageError(f"{where}: case {case_id!r}: sample: a non-negative integer is required")
        if (case_id, sample) in records:
            raise UsageError(f"{where}: case {case_id!r}: sample {sample} appears twice")
        for field, kind in (("latency_ms", (int, float)), ("usage", dict), ("finish_reason", str), ("model", str)):
            if rec.get(field) is not None and not isinstance(rec[field], kind):
                raise UsageError(f"{where}: case {case_id!r}: {field}: wrong type")
        records[(case_id, sample)] = rec
        next_sample[case_id] = max(next_sample.get(case_id, 0), sample + 1)
    return records

"""``run:NAME`` (or ``run:ID``): the outputs of a run already in the store — typically production
logs imported with ``reviewer import jsonl LOG --as-run NAME`` — as one side of a comparison, so
``reviewer run SUITE --baseline run:prod-0501 --candidate openai:gpt-4o`` calls only the candidate.
Nothing is sent, so the suite's tools are not used: a stored answer keeps the tool calls it had."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from . import Answer, Call, ProviderError, Spec


class StoredRunProvider:
    provider = "run"
    cacheable = False
    base_url = None

    def __init__(self, spec: Spec, store: Any, option: str = "SPEC"):
        from ..store import StoreError

        ref = spec.model
        run_id = None
        if ref.isdigit():
            run_id = int(ref)
        else:
            labelled = store.run_by_label(ref)
            run_id = labelled.id if labelled else None
        if run_id is None:
            raise UsageError(f"{option} {spec}: no run labelled {ref!r} in the store (see `reviewer runs`)")
        try:
            self.run = store.run(run_id)
        except StoreError:
            raise UsageError(f"{option} {spec}: no run {run_id} in the store (see `reviewer runs`)") from None
        self.model = ref
        self.warnings: list[str] = []
        self.outputs = {(o.case_id, o.sample): o for o in store.outputs(run_id) if o.error is None}

    @property
    def endpoint_key(self) -> str:
        return f"run {self.run.id}"

    async def complete(self, transport: Any, call: Call, timeout: float) -> Answer:
        o = self.outputs.get((call.case_id, call.sample))
        if o is None:
            raise ProviderError(f"run {self.model!r} has no output for case {call.case_id!r} sample {call.sample}")
        return Answer(
            text=o.text or "", resolved_model=o.resolved_model or self.run.model, system_fingerprint=o.system_fingerprint,
            finish_reason=o.finish_reason, refusal=o.refusal, usage=o.usage, input_tokens=o.input_tokens,
            output_tokens=o.output_tokens, request_id=o.request_id, latency_ms=o.latency_ms,
            tool_calls=o.tool_calls, stop_details=o.stop_details, reasoning=o.reasoning,
        )  # fmt: skip

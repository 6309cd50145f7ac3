"""Ask a pairwise judge about a stored comparison: both orders of every selected sample pair,
cached and resumable like a replay, every answer committed to the store (``judgments``) before
its worker makes the next call. Never writes labels.

The calls go through the same providers as ``reviewer run`` (their public ``complete``), with the
same retry rules: stamina backoff on what the provider calls retryable, Retry-After honoured, a
server that cannot be connected to given up on quickly (the rest of its calls are recorded as
errors at once). OpenAI-protocol judges are asked for JSON with ``response_format`` json_schema;
the others are parsed leniently (:func:`reviewer.judge.parse_answer`) either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks

from . import judge as J
from .providers import Call, ProviderError, Spec, make_provider, redact
from .providers.http import DirectClient
from .replay import RetryPolicy, cache_key
from .store import ComparisonData, Judgment, Output, Store

#: Request parameters of every judge call (deterministic, short).
JUDGE_PARAMS: dict[str, Any] = {"temperature": 0, "max_tokens": 512}


@dataclass
class JudgeConfig(RetryPolicy):
    samples: str = "first"  # first | all
    concurrency: int = 4
    use_cache: bool = True


@dataclass
class JudgeStats:
    total: int = 0  # order calls planned
    done: int = 0
    resumed: int = 0  # already answered in this comparison
    cached: int = 0  # copied from an identical call elsewhere in the store
    errors: int = 0
    retries: int = 0
    skipped_pairs: int = 0  # sample pairs not judged: a side has no answer (missing or failed call)

    @property
    def made(self) -> int:
        return self.done - self.resumed - self.cached


@dataclass
class Failure:
    case_id: str
    sample: int
    position: str
    status: int | None
    message: str


@dataclass
class Task:
    case_id: str
    sample: int
    position: str
    messages: list[dict[str, str]]
    key: str


@dataclass
class PlannedPair:
    case_id: str
    sample: int
    baseline_chars: int
    candidate_chars: int


@dataclass
class JudgeResult:
    judge: str
    rubric_digest: str
    pairs: list[PlannedPair]
    judgments: list[Judgment]
    stats: JudgeStats
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def answer_text(o: Output) -> str:
    """What the judge reads of one output: its text, or its structured refusal."""
    if o.text:
        return o.text
    if o.refusal:
        return f"[refusal] {o.refusal}"
    return ""


class JudgeRun:
    def __init__(
        self,
        store: Store,
        data: ComparisonData,
        case_ids: Sequence[str],
        spec: Spec,
        rubric: str,
        config: JudgeConfig,
        on_progress: Callable[[JudgeStats], None] | None = None,
    ):
        self.store = store
        self.data = data
        self.case_ids = list(case_ids)
        if spec.provider not in ("openai", "anthropic"):
            from .errors import UsageError

            raise UsageError(f"--judge {spec}: a judge must be a model (openai:… or anthropic:…), not {spec.provider}:")
        self.provider = make_provider(spec, "--judge", store)
        self.judge = str(spec)
        self.rubric = rubric
        self.digest = J.rubric_digest(rubric)
        self.config = config
        self.on_progress = on_progress or (lambda stats: None)
        self.stats = JudgeStats()
        self.failures: list[Failure] = []
        self.dead: str | None = None
        # The call's identity (cache key) leaves out response_format: the same question to the same
        # judge, whether or not its server takes a schema.
        self.plain_params = dict(JUDGE_PARAMS)
        self.params = dict(self.plain_params)
        if self.provider.provider == "openai":
            self.params["response_format"] = J.RESPONSE_FORMAT
        self.schema_refused: str | None = None
        self.warnings: list[str] = []

    # -- planning -----------------------------------------------------------------------------

    def _pairs(self) -> list[tuple[PlannedPair, str, str]]:
        cases = {c.id: c for c in self.data.suite.suite.cases}
        out = []
        for case_id in self.case_ids:
            if case_id not in cases:
                continue
            base = {o.sample: o for o in self.data.baseline_outputs.get(case_id, [])}
            cand = {o.sample: o for o in self.data.candidate_outputs.get(case_id, [])}
            samples = [0] if self.config.samples == "first" else sorted(set(base) | set(cand)) or [0]
            for s in samples:
                b, c = base.get(s), cand.get(s)
                if b is None or c is None or not b.ok or not c.ok:
                    self.stats.skipped_pairs += 1
                    continue
                bt, ct = answer_text(b), answer_text(c)
                out.append((PlannedPair(case_id, s, len(bt), len(ct)), bt, ct))
        return out

    def _messages(self, case_id: str, position: str, baseline: str, candidate: str) -> list[dict[str, str]]:
        suite = self.data.suite.suite
        case = next(c for c in suite.cases if c.id == case_id)
        one, two = J.order_answers(position, baseline, candidate)  # type: ignore[arg-type]
        return J.build_messages(
            prompt=J.render_prompt(case.build_messages(suite.defaults)),
            answer_1=one,
            answer_2=two,
            rubric=self.rubric,
            reference=case.reference,
            checks=J.describe_checks(case.checks),
        )

    def plan(self) -> tuple[list[PlannedPair], list[Task]]:
        p = self.provider
        pairs = self._pairs()
        comp = self.data.comparison.id
        stored = {
            (j.case_id, j.sample, j.position): j for j in self.store.judgments(comp, judge=self.judge, rubric_digest=self.digest)
        }
        todo: list[Task] = []
        for pair, bt, ct in pairs:
            for position in J.POSITIONS:
                self.stats.total += 1
                messages = self._messages(pair.case_id, position, bt, ct)
                key = cache_key(p.provider, p.base_url, p.model, self.plain_params, messages, 0)
                have = stored.get((pair.case_id, pair.sample, position))
                if self.config.use_cache and have is not None and have.ok and have.cache_key == key:
                    self.stats.done += 1
                    self.stats.resumed += 1
                    continue
                todo.append(Task(pair.case_id, pair.sample, position, messages, key))
        if todo and self.config.use_cache:
            hits = self.store.cached_judgments(t.key for t in todo)
            copies, rest = [], []
            for t in todo:
                hit = hits.get(t.key)
                if hit is None:
                    rest.append(t)
                    continue
                copies.append(
                    replace(
                        hit, comparison_id=comp, case_id=t.case_id, sample=t.sample, judge=self.judge,
                        rubric_digest=self.digest, position=t.position, attempts=0,
                        cached_from=hit.cached_from or hit.id, id=None, created_at=None,
                    )
                )  # fmt: skip
            self.store.save_judgments(copies)
            self.stats.done += len(copies)
            self.stats.cached += len(copies)
            todo = rest
        return [pair for pair, _, _ in pairs], todo

    # -- calling ------------------------------------------------------------------------------

    def _judgment(self, t: Task, **fields: Any) -> Judgment:
        return Judgment(
            comparison_id=self.data.comparison.id, case_id=t.case_id, sample=t.sample, judge=self.judge,
            rubric_digest=self.digest, position=t.position, cache_key=t.key, **fields,
        )  # fmt: skip

    def _refuses_schema(self, e: ProviderError, params: dict[str, Any]) -> bool:
        """A server that speaks Chat Completions but not structured outputs: it rejects the
        ``response_format`` (400 / 422, or an error naming it). Asked again without it."""
        if "response_format" not in params:
            return False
        return e.status in (400, 422) or (e.status is not None and "response_format" in e.message)

    async def _call(self, transport: DirectClient, t: Task) -> Judgment:
        p, cfg, stats = self.provider, self.config, self.stats
        attempts = 0

        async def ask(params: dict[str, Any]) -> Any:
            nonlocal attempts

            def backoff(exc: Exception) -> bool | float:
                wait = cfg.wait_for(exc, attempts)
                if wait is False or self.dead is not None:
                    return False
                if isinstance(exc, ProviderError) and self._refuses_schema(exc, params) and "response_format" in exc.message:
                    return False  # no use retrying: asked again without the schema
                stats.retries += 1
                self.on_progress(stats)
                return wait

            call = Call(t.case_id, t.sample, t.messages, dict(params))
            async for attempt in cfg.retrying(backoff):
                with attempt:
                    attempts += 1
                    return await cfg.complete(p, transport, call)
            raise AssertionError("unreachable: stamina raises or the block returns")

        try:
            params = self.params if self.schema_refused is None else self.plain_params
            try:
                answer = await ask(params)
            except ProviderError as e:
                if not self._refuses_schema(e, params):
                    raise
                if self.schema_refused is None:
                    self.schema_refused = e.describe()
                    self.warnings.append(
                        f"--judge {self.judge}: the server refused response_format json_schema ({redact(e.describe())}); "
                        "asked without it, answers read leniently"
                    )
                answer = await ask(self.plain_params)
        except ProviderError as e:
            if e.kind == "connect":
                self.dead = self.dead or e.message
            return self._judgment(
                t, error=redact(e.describe()), error_status=e.status, request_id=e.request_id, attempts=attempts
            )
        parsed = J.parse_answer(answer.text)
        return self._judgment(
            t, better=parsed.better, reason=parsed.reason, parsed=parsed.how, raw=answer.text,
            resolved_model=answer.resolved_model, request_id=answer.request_id, input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens, latency_ms=answer.latency_ms, attempts=attempts,
        )  # fmt: skip

    async def run(self) -> JudgeResult:
        pairs, todo = self.plan()
        self.on_progress(self.stats)
        sem = asyncio.Semaphore(self.config.concurrency)
        transport = DirectClient(max_connections=self.config.concurrency * 2)  # the replay's own path, not httpx
        hooks = get_on_retry_hooks()
        set_on_retry_hooks([])  # retries are counted and shown, not logged
        queue = list(reversed(todo))
        try:
            async with transport:

                async def worker() -> None:
                    while queue:
                        t = queue.pop()
                        if self.dead is not None:
                            j = self._judgment(
                                t, error=f"{self.dead} (not tried: earlier calls to this judge could not connect)", attempts=0
                            )
                        else:
                            async with sem:
                                j = await self._call(transport, t)
                        self.store.save_judgments([j])  # committed before the next call
                        self.stats.done += 1
                        if j.error is not None:
                            self.stats.errors += 1
                            self.failures.append(Failure(t.case_id, t.sample, t.position, j.error_status, j.error))
                        self.on_progress(self.stats)

                tasks = [asyncio.create_task(worker()) for _ in range(min(self.config.concurrency, len(queue)))]
                try:
                    await asyncio.gather(*tasks)
                except BaseException:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise
        finally:
            set_on_retry_hooks(hooks)
        stored = self.store.judgments(self.data.comparison.id, judge=self.judge, rubric_digest=self.digest)
        wanted = {(pp.case_id, pp.sample) for pp in pairs}
        judgments = [j for j in stored if (j.case_id, j.sample) in wanted]
        return JudgeResult(
            self.judge,
            self.digest,
            pairs,
            judgments,
            self.stats,
            self.failures,
            [*getattr(self.provider, "warnings", []), *self.warnings],
        )


def pair_judgments(pairs: Sequence[PlannedPair], judgments: Sequence[Judgment]) -> list[J.PairJudgment]:
    """The planned pairs as :func:`reviewer.judge.report` reads them (an order that failed: not judged)."""
    return J.pairs_from_judgments(judgments, {(p.case_id, p.sample): (p.baseline_chars, p.candidate_chars) for p in pairs})

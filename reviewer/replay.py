"""Replay a suite against a baseline and a candidate: bounded concurrency per endpoint, retries
with backoff that honours Retry-After, a cache of answered calls, and a resumable comparison.

Answers are committed in batches, one transaction per event-loop tick (:class:`Committer`): the
answers that arrive in one tick are written together when the loop next runs, and a worker awaits
that commit before it starts another call. So an answer is in the store before any work that
follows it, and "in flight" means: sent and not yet answered, or answered in the last tick and
not yet committed. Ctrl-C and SIGTERM commit what was answered; kill -9 loses at most the calls in
flight; running the same command again makes only what is missing. Never imports Textual or the
diff engine.

The plan is a stream (:meth:`Replay._stream`): the workers of a side take its calls in suite order
as they are made, cached answers copied a chunk at a time, so memory does not grow with the number
of cases. Calls go through aiohttp directly (:class:`reviewer.providers.http.DirectClient`), with
the error mapping of the httpx path; stamina is imported only when a call is retried.

Fail closed, and fast: a call that cannot connect (refused, DNS, TLS, connect timeout) is tried
``connect_attempts`` times with short waits, and once one call has given up so, the server is
known dead: every call still queued for it is recorded as an error of its case at once instead
of waiting through its own retries. A malformed 200 is an error, never an (empty) answer.
Retries are counted in :class:`SideStats` (``retries``), never logged to stderr.

A :class:`Listener` hears of every output once it is committed (answers, errors, cached copies),
so work on finished cases can start while the rest are called (the CLI's first assessment,
:mod:`reviewer.analysis.alongside`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from .errors import UsageError
from .providers import Answer, Call, ProviderError, Spec, make_provider, redact
from .store import Output, Store
from .suite import LoadedSuite

if TYPE_CHECKING:
    import httpx

    from .providers.http import DirectClient

SIDES = ("baseline", "candidate")
#: Calls planned at a time when answers may be reused: their cache lookup is one query.
PLAN_CHUNK = 500
ANSWER_FIELDS = tuple(f.name for f in fields(Answer))  # every one is also a field of Output


class Listener(Protocol):
    """What a replay tells as it goes (called on the event loop: keep each call short)."""

    def started(self, comparison_id: int, runs: dict[str, int]) -> None:
        """The comparison and its runs exist; nothing has been stored by this replay yet."""

    def stored(self, run_id: int, outputs: list[Output]) -> None:
        """These outputs of that run are committed (each (case, sample) of a run once a replay)."""


@dataclass
class SideStats:
    total: int = 0
    done: int = 0  # answered or finally failed, this process included resumed/cached
    resumed: int = 0
    cached: int = 0
    errors: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Failure:
    side: str
    case_id: str
    sample: int
    status: int | None
    message: str


@dataclass
class ReplayResult:
    comparison_id: int
    resumed: bool
    stats: dict[str, SideStats]
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def cache_key(
    provider: str,
    base_url: str | None,
    model: str,
    params: dict[str, Any],
    messages: list[dict[str, Any]],
    sample: int,
    tools: dict[str, Any] | None = None,
) -> str:
    """Identity of a call: same provider, endpoint, model, parameters, messages, sample index and
    ``tools`` (the case's tools, tool_choice and response_format, as ``Case.build_tools`` gives
    them). A call without them has the key it had before they existed."""
    parts: list[Any] = [provider, base_url, model, params, messages, sample]
    if tools:
        parts.append(tools)
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def resume_key(suite_digest: str, sides: list[tuple[Any, dict[str, Any]]], samples: int) -> str:
    blob = json.dumps([suite_digest, [[p.provider, p.base_url, p.model, params] for p, params in sides], samples], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def retry_wait_scale(env: Mapping[str, str]) -> float:
    """``REVIEWER_RETRY_WAIT_SCALE`` as a number ≥ 0 (1 when unset); anything else is a usage error."""
    raw = env.get("REVIEWER_RETRY_WAIT_SCALE", "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise UsageError(f"REVIEWER_RETRY_WAIT_SCALE={raw!r}: expected a number ≥ 0 (1 is the normal wait)")
    return value


@dataclass
class RetryPolicy:
    """How one call is bounded and retried: the replay's calls and the judge's share it. A
    retryable provider error backs off (honouring Retry-After) up to ``attempts`` tries within
    ``retry_budget`` seconds; a call that cannot connect gets ``connect_attempts`` quick tries."""

    timeout: float = 120.0  # per call, whole request
    attempts: int = 6
    retry_budget: float = 300.0  # total seconds of retrying per call
    wait_initial: float = 0.5
    wait_max: float = 30.0
    connect_attempts: int = 3  # a call that cannot connect: tries, with waits of connect_wait × 1, 3, …
    connect_wait: float = 0.25
    #: Every wait (backoff, Retry-After, connect tries) times this: ``REVIEWER_RETRY_WAIT_SCALE``,
    #: default 1. The number of attempts never changes; 0 retries at once (the tests use it).
    wait_scale: float = field(default_factory=lambda: retry_wait_scale(os.environ))

    def wait_for(self, exc: Exception, attempts: int) -> bool | float:
        """stamina's answer for a failed attempt (``attempts`` made so far): False to give up, True
        to back off as configured, or the seconds to wait (which may be 0: test with ``is False``)."""
        if not (isinstance(exc, ProviderError) and exc.retryable):
            return False
        if exc.kind == "connect":
            return False if attempts >= self.connect_attempts else self.connect_wait * 3 ** (attempts - 1) * self.wait_scale
        if exc.retry_after is not None:
            return exc.retry_after * self.wait_scale
        return True if self.wait_scale else 0.0  # 0: stamina's backoff would still wait its minimum

    def retrying(self, on: Callable[[Exception], bool | float]) -> Any:
        """The stamina retry context of this policy, asking ``on`` after each failure (stamina is
        imported here: a run whose calls all succeed never needs it)."""
        import stamina

        return stamina.retry_context(
            on=on,
            attempts=self.attempts,
            timeout=self.retry_budget,
            wait_initial=self.wait_initial * self.wait_scale,
            wait_max=self.wait_max * self.wait_scale,
            wait_jitter=self.wait_scale,
        )

    async def complete(self, provider: Any, transport: httpx.AsyncBaseTransport | DirectClient, call: Call) -> Answer:
        """One attempt, bounded a little over the transport's own timeouts, so that those fire
        first and say which phase ran out (connecting is a connect failure); this one bounds the call."""
        try:
            async with asyncio.timeout(self.timeout + min(0.5, self.timeout / 4)):
                return cast(Answer, await provider.complete(transport, call, self.timeout))
        except TimeoutError:
            raise ProviderError(f"timed out after {self.timeout:g} s", retryable=True) from None


@dataclass
class ReplayConfig(RetryPolicy):
    samples: int = 1
    concurrency: int = 8
    params: dict[str, Any] = field(default_factory=dict)  # --param overrides, both sides
    side_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per side (config file)
    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # side -> a human name for the run
    use_cache: bool = True


class Committer:
    """Answers written to the store in one transaction per event-loop tick (both sides together).

    :meth:`add` queues an output and returns the future of its batch; the batch is written by a
    callback the loop runs next (``call_soon``), so every answer that arrived while the loop was
    busy goes in together. :meth:`flush` writes what is queued at once (the end of a run, an
    interruption). A failed write fails every worker awaiting that batch."""

    def __init__(self, store: Store, listener: Listener | None = None):
        self.store = store
        self.listener = listener
        self.pending: dict[int, list[Output]] = {}
        self.batch: asyncio.Future[None] | None = None
        self.batches = 0  # transactions written (for tests and the bench)

    def add(self, run_id: int, out: Output) -> asyncio.Future[None]:
        outs = self.pending.get(run_id)
        if outs is None:
            outs = self.pending[run_id] = []
        outs.append(out)
        batch = self.batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self.batch = loop.create_future()
            loop.call_soon(self._flush_batch)
        return batch

    def _flush_batch(self) -> None:
        batch = self.batch
        try:
            self.flush()
        except BaseException as e:  # the workers awaiting this batch raise it
            if batch is not None and not batch.done():
                batch.set_exception(e)
            return
        if batch is not None and not batch.done():
            batch.set_result(None)

    def flush(self) -> None:
        pending, self.pending, self.batch = self.pending, {}, None
        if pending:
            self.store.save_runs_outputs(pending)
            self.batches += 1
        if self.listener is not None:  # told once every side's answers are in
            for run_id, outs in pending.items():
                self.listener.stored(run_id, outs)


class Replay:
    def __init__(
        self,
        store: Store,
        loaded: LoadedSuite,
        baseline: Spec,
        candidate: Spec,
        config: ReplayConfig,
        on_progress: Callable[[str, SideStats], None] | None = None,
        listener: Listener | None = None,
    ):
        if config.samples < 1:
            raise ValueError("samples must be ≥ 1")
        self.store = store
        self.loaded = loaded
        self.config = config
        self.providers = {
            "baseline": make_provider(baseline, "--baseline", store),
            "candidate": make_provider(candidate, "--candidate", store),
        }
        self.on_progress = on_progress or (lambda side, stats: None)
        self.listener = listener
        self.stats = {s: SideStats() for s in SIDES}
        self.failures: list[Failure] = []
        self.dead: dict[str, str] = {}  # connect key -> why no connection could be made
        self._saved_hooks: list[Any] | None = None  # stamina's retry hooks while a run keeps them quiet
        case_ids = {c.id for c in loaded.suite.cases}
        tool_cases = {c.id for c in loaded.suite.cases if c.build_tools(loaded.suite.defaults).get("tools")}
        for p in self.providers.values():
            check = getattr(p, "check_cases", None)
            if check is not None:
                check(case_ids, loaded.suite.suite)
            check_tools = getattr(p, "check_tools", None)
            if tool_cases and check_tools is not None:
                check_tools(tool_cases)

    def _run_params(self, side: str) -> dict[str, Any]:
        return {**self.loaded.suite.defaults.params, **self.config.side_params.get(side, {}), **self.config.params}

    def prepare(self) -> tuple[int, dict[str, int], bool]:
        """Find the comparison to resume or create it; returns (comparison id, run ids, resumed)."""
        suite_id = self.store.upsert_suite(self.loaded)
        sides = [(self.providers[s], {**self.config.side_params.get(s, {}), **self.config.params}) for s in SIDES]
        key = resume_key(self.loaded.digest, sides, self.config.samples)
        found = self.store.resumable_comparison(key)
        if found:
            runs = {"baseline": found.baseline_run_id, "candidate": found.candidate_run_id}
            for run_id in runs.values():
                self.store.set_run_status(run_id, "running")
            self.store.set_comparison_status(found.id, "running")
            return found.id, runs, True
        runs = {}
        for side in SIDES:
            p = self.providers[side]
            runs[side] = self.store.create_run(
                suite_id=suite_id,
                provider=p.provider,
                model=p.model,
                base_url=p.base_url,
                params=self._run_params(side),
                samples=self.config.samples,
                side=side,
                label=self.config.labels.get(side),
            )
        comp = self.store.create_comparison(
            suite_id=suite_id,
            baseline_run_id=runs["baseline"],
            candidate_run_id=runs["candidate"],
            name=self.config.name,
            resume_key=key,
        )
        return comp, runs, False

    def _plan(self, side: str, run_id: int) -> list[tuple[Call, str]]:
        """The calls still to make for a side, as a list (the batch path submits them whole)."""
        return list(self._stream(side, run_id))

    def _planned(self, side: str, run_id: int) -> Iterator[tuple[Call, str]]:
        """What :meth:`run` calls: the stream (the batch path's replay leaves its batch sides out)."""
        return self._stream(side, run_id)

    def _stream(self, side: str, run_id: int) -> Iterator[tuple[Call, str]]:
        """The calls still to make for a side, made as they are taken: resumed ones skipped, cached
        ones copied a chunk (:data:`PLAN_CHUNK` calls) at a time, so no list of every call (its
        messages, parameters and key) is ever held. The side's totals and resumed calls are
        counted now, before the first call is taken (the progress display shows them at once)."""
        suite = self.loaded.suite
        samples = self.config.samples
        done = self.store.completed_keys(run_id)
        stats = self.stats[side]
        stats.total += len(suite.cases) * samples
        if done:
            resumed = sum(1 for case in suite.cases for s in range(samples) if (case.id, s) in done)
            stats.done += resumed
            stats.resumed += resumed
        p = self.providers[side]
        # Only answers stored before this run are reused (as when the plan was one list made up
        # front): a duplicate call later in the suite is made again, not copied from this run.
        reuse_upto = self.store.last_output_id() if p.cacheable and self.config.use_cache else None
        return self._calls(side, run_id, done, reuse_upto)

    def _calls(self, side: str, run_id: int, done: set[tuple[str, int]], reuse_upto: int | None) -> Iterator[tuple[Call, str]]:
        p = self.providers[side]
        suite = self.loaded.suite
        samples = self.config.samples
        side_params = {**self.config.side_params.get(side, {}), **self.config.params}
        chunk: list[tuple[Call, str]] = []
        for case in suite.cases:
            if done and all((case.id, s) in done for s in range(samples)):
                continue
            messages = case.build_messages(suite.defaults)
            params = {**case.build_params(suite.defaults), **side_params}
            tools = case.build_tools(suite.defaults)
            for s in range(samples):
                if (case.id, s) in done:
                    continue
                key = cache_key(p.provider, p.base_url, p.model, params, messages, s, tools)
                call = Call(case.id, s, messages, params, **tools)
                if reuse_upto is None:
                    yield call, key
                    continue
                chunk.append((call, key))
                if len(chunk) >= PLAN_CHUNK:
                    yield from self._uncached(side, run_id, chunk, reuse_upto)
                    chunk = []
        if chunk and reuse_upto is not None:
            yield from self._uncached(side, run_id, chunk, reuse_upto)

    def _uncached(self, side: str, run_id: int, chunk: list[tuple[Call, str]], reuse_upto: int) -> list[tuple[Call, str]]:
        """The calls of ``chunk`` with no reusable answer; those with one are stored as copies of it
        (one transaction) and counted as cached."""
        stats = self.stats[side]
        hits = self.store.cached_outputs((k for _, k in chunk), upto=reuse_upto)
        if not hits:
            return chunk
        copies = []
        rest = []
        for call, key in chunk:
            hit = hits.get(key)
            if hit is None or _suspect(hit):
                rest.append((call, key))
                continue
            copies.append(
                replace(
                    hit, case_id=call.case_id, sample=call.sample, attempts=0, cache_key=key,
                    cached_from=hit.cached_from or hit.id, id=None, created_at=None,
                )
            )  # fmt: skip
        self.store.save_outputs(run_id, copies)
        if self.listener is not None:
            self.listener.stored(run_id, copies)
        stats.done += len(copies)
        stats.cached += len(copies)
        return rest

    def _dead_output(self, side: str, call: Call, key: str) -> Output | None:
        """The error recorded for a call to a server already known dead, or None to call it."""
        ck = getattr(self.providers[side], "connect_key", None)
        why = self.dead.get(ck) if ck else None
        if why is None:
            return None
        return Output(
            case_id=call.case_id, sample=call.sample, attempts=0, cache_key=key,
            error=f"{why} (not tried: earlier calls to this server could not connect)",
        )  # fmt: skip

    def _quiet_retries(self) -> None:
        """Retries are counted in the stats and shown by the caller: no library log lines on
        stderr. Done at the first retry of a run (stamina is imported then, not before), undone
        by :meth:`_restore_retry_hooks` when the run ends."""
        if self._saved_hooks is None:
            from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks

            self._saved_hooks = list(get_on_retry_hooks())
            set_on_retry_hooks([])

    def _restore_retry_hooks(self) -> None:
        if self._saved_hooks is not None:
            from stamina.instrumentation import set_on_retry_hooks

            set_on_retry_hooks(self._saved_hooks)
            self._saved_hooks = None

    async def _call(self, side: str, transport: httpx.AsyncBaseTransport | DirectClient, call: Call, key: str) -> Output:
        p = self.providers[side]
        stats = self.stats[side]
        cfg = self.config
        ck = getattr(p, "connect_key", None)
        attempts = 0

        def backoff(exc: Exception) -> bool | float:
            wait = cfg.wait_for(exc, attempts)
            if wait is False or (ck and ck in self.dead):  # another call found the server dead meanwhile
                return False
            stats.retries += 1
            self.on_progress(side, stats)
            return wait

        async def attempt_once() -> Answer:
            nonlocal attempts
            attempts += 1
            return await cfg.complete(p, transport, call)

        try:
            # The first attempt runs bare (most calls need no other); only a failed one pays for a
            # retry context, whose first attempt re-raises that failure so that stamina decides
            # the wait before the second exactly as if it had made the first.
            first: ProviderError | None = None
            try:
                answer = await attempt_once()
            except ProviderError as e:
                first = e
            if first is not None:
                self._quiet_retries()
                async for attempt in cfg.retrying(backoff):
                    with attempt:
                        if first is not None:
                            failed, first = first, None
                            raise failed
                        answer = await attempt_once()
        except ProviderError as e:
            if e.kind == "connect" and ck:
                self.dead.setdefault(ck, e.message)
            return Output(
                case_id=call.case_id, sample=call.sample, error=redact(e.describe()), error_status=e.status,
                request_id=e.request_id, attempts=attempts, cache_key=key,
            )  # fmt: skip
        if ck:
            self.dead.pop(ck, None)
        return Output(
            case_id=call.case_id, sample=call.sample, attempts=attempts, cache_key=key,
            **{name: getattr(answer, name) for name in ANSWER_FIELDS},
        )  # fmt: skip

    async def run(self) -> ReplayResult:
        comparison_id, runs, resumed = self.prepare()
        if self.listener is not None:
            self.listener.started(comparison_id, runs)
        plans = {side: self._planned(side, runs[side]) for side in SIDES}
        for side in SIDES:
            self.on_progress(side, self.stats[side])
        # One limit per endpoint: baseline and candidate on the same server share it.
        limits: dict[str, asyncio.Semaphore] = {}
        for side in SIDES:
            limits.setdefault(self.providers[side].endpoint_key, asyncio.Semaphore(self.config.concurrency))

        from .providers.http import DirectClient

        transport = DirectClient(max_connections=self.config.concurrency * 2)
        interrupted = False
        committer = self.committer = Committer(self.store, self.listener)
        async with transport:

            async def worker(side: str, plan: Iterator[tuple[Call, str]]) -> None:
                sem = limits[self.providers[side].endpoint_key]
                stats = self.stats[side]
                for call, key in plan:  # the workers of a side share its plan, taking calls in suite order
                    out = self._dead_output(side, call, key)
                    if out is None:
                        async with sem:
                            out = self._dead_output(side, call, key) or await self._call(side, transport, call, key)
                    # Committed (with the rest of this tick's answers) before this worker goes on;
                    # counted when queued: an interruption commits what is queued (finally below).
                    batch = committer.add(runs[side], out)
                    stats.done += 1
                    if out.error is not None:
                        stats.errors += 1
                        self.failures.append(Failure(side, call.case_id, call.sample, out.error_status, out.error))
                    else:
                        stats.input_tokens += out.input_tokens or 0
                        stats.output_tokens += out.output_tokens or 0
                    self.on_progress(side, stats)
                    await batch

            tasks = []
            for side in SIDES:
                st = self.stats[side]
                n = min(self.config.concurrency, st.total - st.done)  # at most one worker per call left
                tasks += [asyncio.create_task(worker(side, plans[side])) for _ in range(n)]
            # SIGTERM stops like Ctrl-C: what was answered is committed, the run is resumable.
            terminated = False
            loop = asyncio.get_running_loop()
            gathered = asyncio.gather(*tasks)

            def on_sigterm() -> None:
                nonlocal terminated
                terminated = True
                gathered.cancel()

            try:
                loop.add_signal_handler(signal.SIGTERM, on_sigterm)
                handling = True
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no Unix signals
                handling = False
            try:
                await gathered
            except BaseException:
                interrupted = True
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if terminated:
                    raise KeyboardInterrupt from None
                raise
            finally:
                if handling:
                    loop.remove_signal_handler(signal.SIGTERM)
                committer.flush()  # answers of the last tick (an interruption leaves some queued)
                # A comparison with failed calls stays resumable: the same command retries them.
                status = "interrupted" if interrupted else ("errors" if self.failures else "complete")
                for side in SIDES:
                    self.store.set_run_status(runs[side], status, finished=True)
                self.store.set_comparison_status(comparison_id, status)
                self._restore_retry_hooks()

        warnings = [w for p in self.providers.values() for w in p.warnings]
        return ReplayResult(comparison_id, resumed, self.stats, self.failures, warnings)


def _suspect(hit: Output) -> bool:
    """A cached answer that is no answer: empty, with no finish reason and no refusal — what a
    malformed 200 was stored as before it counted as an error. It is not reused; call again."""
    return not hit.text and not hit.refusal and not hit.finish_reason and not hit.tool_calls

"""Model providers: what a call is, what an answer is, and how a SPEC names a provider.

A SPEC is ``provider:model``: ``openai:gpt-4o-mini``, ``anthropic:claude-sonnet-4-5``,
``openai:llama3.2@http://localhost:11434/v1`` (a per-model base URL), ``recorded:outputs.jsonl``,
``run:prod-0501`` (a run already in the store, e.g. imported production logs).

API keys are read from the environment when a call is made and never stored on anything that is
persisted, logged or printed; provider error messages pass through :func:`redact` first.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    import httpx

PROVIDERS = ("openai", "anthropic", "recorded", "run")


@dataclass(frozen=True, slots=True)
class Spec:
    provider: str
    model: str
    base_url: str | None = None  # explicit per-model base URL (after '@')

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


def parse_spec(text: str, option: str = "SPEC") -> Spec:
    """Parse ``provider:model[@base_url]``; errors name the option and say what is expected."""
    provider, sep, rest = text.partition(":")
    if not sep or not rest:
        raise UsageError(f"{option} {text!r}: expected provider:model, e.g. openai:gpt-4o-mini ({'/'.join(PROVIDERS)})")
    provider = provider.strip().lower()
    if provider not in PROVIDERS:
        raise UsageError(f"{option} {text!r}: unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    base_url = None
    if provider in ("openai", "anthropic"):
        m = re.search(r"@(https?://\S+)$", rest)
        if m:
            base_url = m.group(1).rstrip("/")
            rest = rest[: m.start()]
    if not rest.strip():
        raise UsageError(f"{option} {text!r}: the model name is empty")
    return Spec(provider, rest.strip(), base_url)


@dataclass(slots=True)
class Call:
    """One request: a case's messages and parameters, for one sample index."""

    case_id: str
    sample: int
    messages: list[dict[str, str]]
    params: dict[str, Any]


@dataclass(slots=True)
class Answer:
    text: str
    resolved_model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    usage: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    request_id: str | None = None
    latency_ms: float | None = None


class ProviderError(Exception):
    """A call that failed. ``retryable`` decides whether the replay tries again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        request_id: str | None = None,
    ):
        self.message = message
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.request_id = request_id
        super().__init__(self.describe())

    def describe(self) -> str:
        head = " ".join(str(x) for x in (self.status, self.code) if x)
        return f"{head}: {self.message}" if head else self.message


#: HTTP statuses worth another try (429 unless it is a quota error; 529 = Anthropic overloaded).
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
NOT_RETRYABLE_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "invalid_api_key"})

_KEYISH = re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_*\-]{6,}|xai-[A-Za-z0-9]{10,}|Bearer\s+\S+)")


def secret_values() -> list[str]:
    """Values of environment variables that look like credentials (to scrub from messages)."""
    out = []
    for k, v in os.environ.items():
        if v and len(v) >= 8 and re.search(r"(KEY|TOKEN|SECRET|PASSWORD)", k, re.I):
            out.append(v)
    return out


def redact(text: str | None) -> str | None:
    """Remove anything key-like from a provider's message before it is stored or printed."""
    if not text:
        return text
    for secret in secret_values():
        text = text.replace(secret, "***")
    return _KEYISH.sub(lambda m: m.group(0)[:3] + "***", text)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date);
    only 0–60 s is honoured (like the official SDKs); anything else falls back to backoff."""
    value: float | None = None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000
        except ValueError:
            value = None
    if value is None:
        ra = headers.get("retry-after")
        if ra:
            try:
                value = float(ra)
            except ValueError:
                from email.utils import parsedate_to_datetime
                from datetime import UTC, datetime

                try:
                    value = (parsedate_to_datetime(ra) - datetime.now(UTC)).total_seconds()
                except (TypeError, ValueError):
                    value = None
    if value is None or not 0 <= value <= 60:
        return None
    return value


def make_provider(spec: Spec, option: str = "SPEC", store: Any = None) -> Any:
    """The provider object for a spec (checks keys and files up front, so errors come first).
    ``run:`` specs read a stored run, so they need the store."""
    if spec.provider == "openai":
        from .openai import OpenAIProvider

        return OpenAIProvider(spec, option)
    if spec.provider == "anthropic":
        from .anthropic import AnthropicProvider

        return AnthropicProvider(spec, option)
    if spec.provider == "run":
        from .stored import StoredRunProvider

        if store is None:
            raise UsageError(f"{option} {spec}: a stored run can only be used where there is a store")
        return StoredRunProvider(spec, store, option)
    from .recorded import RecordedProvider

    return RecordedProvider(spec, option)

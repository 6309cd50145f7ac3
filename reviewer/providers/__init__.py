"""Model providers: what a call is, what an answer is, and how a SPEC names a provider.

A SPEC is ``provider:model``: ``openai:gpt-4o-mini``, ``anthropic:claude-sonnet-4-5``,
``openai-responses:gpt-5-mini`` (the OpenAI Responses API),
``openai:llama3.2@http://localhost:11434/v1`` (a per-model base URL), ``recorded:outputs.jsonl``,
``run:prod-0501`` (a run already in the store, e.g. imported production logs).

A call carries the case's ``tools``, ``tool_choice`` and ``response_format`` in OpenAI's form; each
protocol module translates them, and every answer's tool calls come back as :class:`ToolCall` s.

API keys are read from the environment when a call is made and never stored on anything that is
persisted, logged or printed; provider error messages pass through :func:`redact` first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..toolcall import ToolCall

PROVIDERS = ("openai", "openai-responses", "anthropic", "recorded", "run")
#: providers whose spec may end in ``@BASE_URL``
HTTP_PROVIDERS = ("openai", "openai-responses", "anthropic")


@dataclass(frozen=True, slots=True)
class Spec:
    provider: str
    model: str
    base_url: str | None = None  # explicit per-model base URL (after '@')

    def __str__(self) -> str:
        """The spec as it may be printed: credentials in the base URL left out."""
        return f"{self.provider}:{self.model}" + (f"@{public_url(self.base_url)}" if self.base_url else "")


def parse_spec(text: str, option: str = "SPEC") -> Spec:
    """Parse ``provider:model[@base_url]``; errors name the option and say what is expected."""
    provider, sep, rest = text.partition(":")
    shown = redact(text)  # a spec may carry credentials in its URL: never echo them
    if not sep or not rest:
        raise UsageError(f"{option} {shown!r}: expected provider:model, e.g. openai:gpt-4o-mini ({'/'.join(PROVIDERS)})")
    provider = provider.strip().lower()
    if provider not in PROVIDERS:
        raise UsageError(f"{option} {shown!r}: unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    base_url = None
    if provider in HTTP_PROVIDERS:
        m = re.search(r"@(https?://\S+)$", rest)
        if m:
            base_url = m.group(1).rstrip("/")
            rest = rest[: m.start()]
    if not rest.strip():
        raise UsageError(f"{option} {shown!r}: the model name is empty")
    return Spec(provider, rest.strip(), base_url)


@dataclass(slots=True)
class Call:
    """One request: a case's messages and parameters, for one sample index."""

    case_id: str
    sample: int
    messages: list[dict[str, Any]]  # Chat Completions form (assistant tool_calls, tool results)
    params: dict[str, Any]
    tools: list[dict[str, Any]] | None = None  # OpenAI function format
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    @property
    def uses_tools(self) -> bool:
        """The request gives the model tools or a conversation with tool calls in it."""
        return bool(self.tools) or any(m.get("tool_calls") or m.get("role") == "tool" for m in self.messages)


@dataclass(slots=True)
class Answer:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    stop_details: dict[str, Any] | None = None
    reasoning: str | None = None
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
    """A call that failed. ``retryable`` decides whether the replay tries again. ``kind`` is
    ``"connect"`` when no connection could be made (refused, DNS, TLS, connect timeout): those
    are tried only a few times, and an endpoint that keeps failing so is not called again.
    The message is scrubbed of secrets and cut to :data:`MESSAGE_LIMIT` here, whoever raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        request_id: str | None = None,
        kind: str | None = None,
        endpoint: str | None = None,
        cut_note: str | None = None,
    ):
        # Only a window is scrubbed: a 20 MB message must not cost seconds of regex per try.
        window = MESSAGE_LIMIT * 4
        if cut_note is None and len(message) > window:
            cut_note = f"{len(message):,} characters"
        self.message = clip(redact(message[:window]) or "", note=cut_note)
        self.status = status
        self.code = clip(redact(code) or "", 100) if code else None
        self.kind = kind
        self.endpoint = endpoint  # "host:port" for connect failures
        self.retryable = retryable
        self.retry_after = retry_after
        self.request_id = request_id[:200] if request_id else None
        super().__init__(self.describe())

    def describe(self) -> str:
        head = " ".join(str(x) for x in (self.status, self.code) if x)
        return f"{head}: {self.message}" if head else self.message


#: HTTP statuses worth another try (429 unless it is a quota error; 529 = Anthropic overloaded).
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
NOT_RETRYABLE_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "invalid_api_key"})

#: Longest error message kept (stored and printed); the rest is cut with its full size noted.
MESSAGE_LIMIT = 2000
REDACTED = "[redacted]"

# Whole tokens that are credentials by their shape (the token is replaced, no prefix kept).
_KEYISH = re.compile(
    r"(?<![\w-])(?:sk-[A-Za-z0-9_*.\-…•]{3,}|sk_(?:live|test)_\w+|xai-[A-Za-z0-9*]{6,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|gh[pousr]_\w{20,}|hf_\w{20,}|eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]*)"
)
# A masked echo of a key ("sk-abc***xyz", "abcd...wxyz", "ab••••yz"): the whole token goes. Tokens are
# found by one linear pattern and judged in Python: no backtracking over a 20 MB run of letters.
_TOKEN = re.compile(r"[\w.\-*•…]+")
_ELLIPSIS = re.compile(r"…|\.{3}")
_AUTH_WORD = re.compile(
    r"(?i)\b(authorization:\s*(?:bearer|basic)?|bearer|x-api-key:?|api[ _-]?key(?: provided)?:)(\s+)([^\s,;)]+)"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,19}://)[^/\s@?#]{1,512}@")
_QUERY_PARAM = re.compile(r"([?&;])([A-Za-z0-9_.\-]{1,64})=([^&#\s\"'<>]*)")
_SECRET_PARAM_WORDS = frozenset({
    "key", "apikey", "token", "sig", "signature", "secret", "password", "passwd", "pwd", "pass", "auth",
    "authorization", "credential", "credentials", "session", "sas", "code", "jwt",
})  # fmt: skip
_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-.+/=]{8,}")
_extra_secrets: set[str] = set()  # credentials seen in base URLs this process


def is_secret_param(name: str) -> bool:
    """A query parameter whose value is a credential: ``api-key``, ``key``, ``token``, ``sig``,
    ``X-Amz-Signature``, ``access_token`` … (``api-version`` is not)."""
    words = re.split(r"[-_.]+", name.lower())
    return any(w in _SECRET_PARAM_WORDS for w in words) or name.lower() in ("apikey", "accesstoken", "apitoken")


def public_url(url: str | None) -> str | None:
    """``url`` without userinfo (``user:pass@``) and without secret-looking query parameters, the
    form that is stored, printed and hashed. A URL without either comes back unchanged, so
    cache keys made before this existed still match. The removed values are remembered and
    scrubbed from every later message (a server may echo them)."""
    if not url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    changed = False
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        from urllib.parse import unquote

        for part in userinfo.split(":", 1):
            if part:
                _extra_secrets.update({part, unquote(part)})
        changed = True
    path, qmark, query = tail.partition("?")
    fragment = ""
    if "#" in query:
        query, _, fragment = query.partition("#")
        fragment = "#" + fragment
    if qmark:
        kept = []
        for item in query.split("&"):
            name, eq, value = item.partition("=")
            if eq and is_secret_param(name):
                if value:
                    from urllib.parse import unquote

                    _extra_secrets.update({value, unquote(value)})
                changed = True
                continue
            kept.append(item)
        query = "&".join(kept)
    if not changed:
        return url
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "") + fragment


def secret_values() -> list[str]:
    """Values of environment variables that look like credentials, and credentials seen in base
    URLs (to scrub from messages)."""
    out = []
    for k, v in os.environ.items():
        if v and len(v) >= 8 and re.search(r"(KEY|TOKEN|SECRET|PASSWORD)", k, re.IGNORECASE) and not os.path.isabs(v):
            out.append(v)
    out += [s for s in _extra_secrets if len(s) >= 4]
    return sorted(set(out), key=len, reverse=True)  # longest first: no half-replaced secret


def _grams(secret: str, n: int = 8) -> set[str]:
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


def redact(text: str | None) -> str | None:
    """Remove anything key-like from a message before it is stored or printed: known secrets
    (whole, or any 8 characters of one, as a server echoing a key partly does), key-shaped and
    masked tokens, ``Bearer …``, userinfo and secret query parameters of URLs. Whole tokens
    are replaced, so no prefix of a key survives."""
    if not text:
        return text
    secrets = secret_values()
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _QUERY_PARAM.sub(
        lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}" if is_secret_param(m.group(2)) and m.group(3) else m.group(0),
        text,
    )
    text = _AUTH_WORD.sub(lambda m: m.group(1) + m.group(2) + (m.group(3) if m.group(3) == REDACTED else REDACTED), text)
    text = _KEYISH.sub(REDACTED, text)
    text = _TOKEN.sub(lambda m: REDACTED if _masked(m.group(0)) else m.group(0), text)
    if secrets:
        grams = set().union(*(_grams(s) for s in secrets if len(s) >= 8))
        if grams:
            text = _KEY_CHARS.sub(lambda m: REDACTED if any(g in grams for g in _grams(m.group(0))) else m.group(0), text)
    return text


def _masked(token: str) -> bool:
    """A token that is a masked key: "abc***xyz", "ab••••yz", "abcd...wxyz" (letters both sides)."""
    if len(token.strip(".…")) < 4:
        return False
    if "***" in token or "•••" in token:
        return True
    for m in _ELLIPSIS.finditer(token):
        before, after = token[max(0, m.start() - 2) : m.start()], token[m.end() : m.end() + 2]
        if len(before) == 2 and len(after) == 2 and (before + after).replace("_", "a").replace("-", "a").isalnum():
            return True
    return False


def human_size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} kB"
    return f"{n} bytes"


def clip(text: str, limit: int = MESSAGE_LIMIT, note: str | None = None) -> str:
    """``text`` cut to ``limit`` characters; a cut says so, with ``note`` (e.g. "20.0 MB body")
    or the full length."""
    if len(text) <= limit and note is None:
        return text
    return text[:limit] + f"… [truncated, {note or f'{len(text):,} characters'}]"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
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
                from datetime import UTC, datetime
                from email.utils import parsedate_to_datetime

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
    if spec.provider == "openai-responses":
        from .openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(spec, option)
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

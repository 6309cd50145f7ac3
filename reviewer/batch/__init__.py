"""Very large suites through the providers' batch APIs (``reviewer run --batch``).

- :mod:`.plan`: every missing (case, sample) of a side, built by the provider's own
  ``request_body`` (the direct path's request, the direct path's cache key), written as JSONL to
  temporary files split within the provider's limits, streamed rather than held;
- :mod:`.openai`: Files (purpose ``batch``) + Batches for ``openai:`` and ``openai-responses:``;
- :mod:`.anthropic`: Message Batches for ``anthropic:``;
- :mod:`.collect`: results in any order matched by ``custom_id``, each answer parsed by the
  provider's own response parser, per-line errors and expired requests stored as errors of their case;
- :mod:`.runner`: submit, record, poll with a backoff, collect, resume;
- the batches' tables: :mod:`reviewer.store.batches`.

API keys are read from the environment for each request (the providers' ``headers()``) and never
stored, logged or printed; every provider message goes through ``redact``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Spec prefixes that have a batch API.
BATCH_PROVIDERS = ("openai", "openai-responses", "anthropic")


@dataclass(slots=True)
class Limits:
    max_requests: int
    max_bytes: int


@dataclass(slots=True)
class Status:
    """What a poll says of a batch."""

    status: str  # the provider's word
    terminal: bool  # no more results will come: collect now
    succeeded: int = 0
    failed: int = 0
    expired: int = 0
    total: int = 0
    errors: Any = None  # the batch's own errors object (OpenAI ``errors``)
    results: dict[str, Any] = field(default_factory=dict)  # where the results are


def client_for(provider: Any) -> Any:
    """The batch client of a provider object (``make_provider``'s), or None when it has none."""
    if provider.provider in ("openai", "openai-responses"):
        from .openai import OpenAIBatches

        return OpenAIBatches(provider)
    if provider.provider == "anthropic":
        from .anthropic import AnthropicBatches

        return AnthropicBatches(provider)
    return None

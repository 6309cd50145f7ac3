"""The requests of a batch side, as the direct path would make them, written to JSONL chunk files.

The (call, cache key) pairs come from the replay's own plan (``Replay._plan``: resumed answers
skipped, cached ones copied, the direct path's cache key); each request body is the provider's
own ``request_body(call)``. Chunks are cut within the provider's limits (requests and bytes of a
file / a batch) and written to disk as they are built: only one line is held at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError


@dataclass
class Chunk:
    path: Path
    entries: list[tuple[str, str, int, str]] = field(default_factory=list)  # custom_id, case, sample, cache key
    size: int = 0


def custom_id(comparison_id: int, side: str, ordinal: int, sample: int) -> str:
    """Names comparison, side, case (its place in the suite) and sample; at most 64 characters of
    ``[A-Za-z0-9_-]`` as Anthropic requires. The store maps it back to the case id."""
    return f"c{comparison_id}-{side[0]}-{ordinal}-{sample}"


def write_chunks(
    client: Any, provider: Any, todo: Iterable[tuple[Any, str]], *, comparison_id: int, side: str,
    ordinals: dict[str, int], directory: Path | None = None,
) -> Iterator[Chunk]:  # fmt: skip
    """Chunk files of the calls in ``todo``; each is complete when yielded (and removed by the caller)."""
    limits = client.limits
    room = limits.max_bytes - len(client.head) - len(client.tail)
    where = Path(directory or tempfile.gettempdir())
    chunk: Chunk | None = None
    f: Any = None
    for call, key in todo:
        cid = custom_id(comparison_id, side, ordinals[call.case_id], call.sample)
        line = client.line(cid, provider.request_body(call))
        if len(line) + len(client.sep) > room:
            raise UsageError(
                f"case {call.case_id!r} sample {call.sample}: its request is {len(line):,} bytes, over the "
                f"{provider.provider} batch limit of {limits.max_bytes:,} bytes"
            )
        if chunk is not None and (len(chunk.entries) >= limits.max_requests or chunk.size + len(client.sep) + len(line) > room):
            f.write(client.tail)
            f.close()
            yield chunk
            chunk = None
        if chunk is None:
            fd, name = tempfile.mkstemp(prefix="reviewer-batch-", suffix=".jsonl", dir=where)
            f = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 (closed when the chunk is yielded)
            f.write(client.head)
            chunk = Chunk(Path(name))
        elif client.sep:
            f.write(client.sep)
            chunk.size += len(client.sep)
        f.write(line)
        chunk.size += len(line)
        chunk.entries.append((cid, call.case_id, call.sample, key))
    if chunk is not None:
        f.write(client.tail)
        f.close()
        yield chunk

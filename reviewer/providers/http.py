"""What the HTTP providers share: posting JSON, timing, turning HTTP failures into ProviderError.

Failures are named as what they are: "connection refused by 127.0.0.1:8999", "DNS lookup failed
for nosuch.invalid", "TLS handshake with host:443 failed: …", "timed out after 30 s". Those where
no connection was made carry ``kind="connect"`` so the replay gives up on them quickly. An error
body is read only up to :data:`ERROR_BODY_LIMIT`: a 20 MB error page costs nothing.
"""

from __future__ import annotations

import errno
import json
import re
import time
from typing import Any

import httpx

from . import (
    MESSAGE_LIMIT,
    NOT_RETRYABLE_CODES,
    RETRYABLE_STATUS,
    ProviderError,
    _extra_secrets,
    human_size,
    parse_retry_after,
    public_url,
)

#: Bytes of an error body read at most (the message in it is cut to MESSAGE_LIMIT characters).
ERROR_BODY_LIMIT = 64 * 1024
_JSON_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)')


class HTTPProvider:
    provider = ""
    request_id_header = "x-request-id"
    cacheable = True

    #: The base URL as stored, printed and hashed (no credentials); requests use ``request_base``.
    base_url: str
    request_base: str
    model: str

    basic_auth: str | None = None  # from user:pass@ in the base URL

    def set_base_url(self, url: str) -> None:
        """Keep ``url`` for requests and its credential-free form for everything else. A
        ``user:pass@`` in it becomes a Basic Authorization header (it wins over a key's Bearer
        header: it was written for this endpoint); secret query parameters stay on requests."""
        url = url.rstrip("/") if "?" not in url else url
        self.base_url = public_url(url) or url
        scheme, sep, rest = url.partition("://")
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        if sep and "@" in rest[:cut]:
            import base64
            from urllib.parse import unquote

            userinfo, _, host = rest[:cut].rpartition("@")
            user, _, password = userinfo.partition(":")
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            self.basic_auth = f"Basic {token}"
            _extra_secrets.add(token)  # scrubbed if a server echoes the header
            url = f"{scheme}://{host}{rest[cut:]}"
        self.request_base = url

    def headers(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def endpoint_key(self) -> str:
        """Calls to one endpoint share one concurrency limit."""
        return f"{self.provider} {self.base_url}"

    @property
    def connect_key(self) -> str:
        """The server a connection is made to: ``scheme://host:port`` (parsed once per base URL:
        the replay asks for it several times a call)."""
        cached = self.__dict__.get("_connect_key")
        if cached is not None and cached[0] == self.request_base:
            return cached[1]
        url = httpx.URL(self.request_base)
        key = f"{url.scheme}://{url.host}:{url.port or _default_port(url)}"
        self.__dict__["_connect_key"] = (self.request_base, key)
        return key

    def url(self, path: str) -> httpx.URL:
        """``path`` appended to the base URL's path, its query (e.g. ``api-version``) kept."""
        urls: dict[str, httpx.URL] = self.__dict__.setdefault("_urls", {})  # parsed once per path
        url = urls.get(path)
        if url is None:
            base, qmark, query = self.request_base.partition("?")
            url = urls[path] = httpx.URL(f"{base.rstrip('/')}{path}" + (f"?{query}" if qmark else ""))
        return url

    def _request_headers(self) -> httpx.Headers:
        """The headers of every request, built once per distinct ``headers()`` (a key read from
        the environment at each call may change; the parsed httpx.Headers is reused while not)."""
        own = self.headers()
        cached = self.__dict__.get("_headers")
        if cached is not None and cached[0] == own:
            return cached[1]
        headers = {"content-type": "application/json", "accept": "application/json", **own}
        if self.basic_auth:
            headers["Authorization"] = self.basic_auth
        built = httpx.Headers(headers)
        self.__dict__["_headers"] = (own, built)
        return built

    async def post(
        self, transport: httpx.AsyncBaseTransport, path: str, body: dict[str, Any], timeout: float
    ) -> tuple[dict[str, Any], str | None, float]:
        """POST and return (JSON body, request id, latency ms); raise ProviderError on failure.

        Requests go straight to the transport: the client layers (cookies, auth flows, redirects,
        event hooks) cost more CPU than the call itself at hundreds of calls a second and do
        nothing for a JSON API."""
        url = self.url(path)
        request = httpx.Request(
            "POST",
            url,
            headers=self._request_headers(),
            content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        started = time.perf_counter()
        try:
            resp = await transport.handle_async_request(request)
            if resp.status_code >= 400:
                content, cut_note = await read_bounded(resp, ERROR_BODY_LIMIT)
            else:
                content, cut_note = await resp.aread(), None
        except (httpx.TransportError, OSError) as e:  # OSError: an aiohttp error the transport did not map
            raise transport_failure(e, url, timeout) from None
        except Exception as e:
            import aiohttp

            if isinstance(e, aiohttp.ClientError):
                raise transport_failure(e, url, timeout) from None
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = resp.headers.get(self.request_id_header)
        if resp.status_code >= 400:
            raise self.http_error(resp, content, request_id, cut_note)
        try:
            data = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            snippet = content[:80].decode("utf-8", "replace")
            raise ProviderError(
                f"malformed JSON in a {resp.status_code} answer ({human_size(len(content))}): {snippet!r}",
                status=resp.status_code,
                retryable=True,
                request_id=request_id,
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(
                f"malformed answer: a JSON {type(data).__name__}, not an object", status=resp.status_code, retryable=True
            )
        return data, request_id, latency_ms

    def http_error(
        self, resp: httpx.Response, content: bytes, request_id: str | None, cut_note: str | None = None
    ) -> ProviderError:
        message, code = f"HTTP {resp.status_code}", None
        try:
            payload = json.loads(content)
            err = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(err, dict):
                message = str(err.get("message") or message)
                code = err.get("code") or err.get("type")
            elif isinstance(err, str):
                message = err
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, RecursionError):
            text = content.decode("utf-8", "replace")
            m = _JSON_MESSAGE.search(text) if cut_note else None  # a cut JSON body: its message, if any
            if m:
                try:
                    message = json.loads(f'"{m.group(1)}"')
                except json.JSONDecodeError:
                    message = m.group(1)
            else:
                text = " ".join(text[: MESSAGE_LIMIT * 2].split())
                if text:
                    message = f"HTTP {resp.status_code}: {text}"
        code = str(code) if code else None
        retryable = resp.status_code in RETRYABLE_STATUS and code not in NOT_RETRYABLE_CODES
        return ProviderError(
            message,
            status=resp.status_code,
            code=code,
            retryable=retryable,
            retry_after=parse_retry_after(resp.headers) if retryable else None,
            request_id=request_id,
            cut_note=cut_note,
        )


def malformed(what: str, request_id: Any) -> ProviderError:
    """A 200 that is not an answer: tried again, then recorded as an error (never stored or
    cached as an empty answer)."""
    return ProviderError(
        f"malformed answer: {what}", status=200, retryable=True, request_id=request_id if isinstance(request_id, str) else None
    )


async def read_bounded(resp: httpx.Response, limit: int) -> tuple[bytes, str | None]:
    """At most ``limit`` bytes of the body, and a note of the full size when it was cut (the
    rest is not read: closing the response drops the connection)."""
    chunks: list[bytes] = []
    size = 0
    cut = False
    try:
        async for chunk in resp.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                cut = True
                break
    finally:
        await resp.aclose()
    content = b"".join(chunks)
    if not cut:
        return content, None
    length = resp.headers.get("content-length", "")
    total = f"{human_size(int(length))} body" if length.isdigit() else f"body over {human_size(limit)}"
    return content[:limit], total


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def transport_failure(exc: BaseException, url: httpx.URL, timeout: float) -> ProviderError:
    """Name a failure below HTTP as what it is. httpx-aiohttp maps aiohttp's exceptions to
    httpx's loosely (a refused connection arrives as ``ConnectTimeout``), so the aiohttp error
    it came from (``__cause__``) decides."""
    import socket
    import ssl

    import aiohttp

    where = f"{url.host}:{url.port or _default_port(url)}"
    cause: BaseException = exc
    while isinstance(cause, httpx.TransportError) and cause.__cause__ is not None:
        cause = cause.__cause__

    def fail(message: str, *, kind: str | None = None, retryable: bool = True) -> ProviderError:
        return ProviderError(message, retryable=retryable, kind=kind, endpoint=where)

    dns_error = getattr(aiohttp, "ClientConnectorDNSError", ())  # aiohttp >= 3.11; before, a gaierror inside
    if isinstance(cause, dns_error) or (
        isinstance(cause, aiohttp.ClientConnectorError) and isinstance(cause.os_error, socket.gaierror)
    ):
        return fail(f"DNS lookup failed for {url.host} ({_reason(cause.os_error)})", kind="connect")
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        return fail(f"TLS handshake with {where} failed: {_reason(cause.certificate_error)}", kind="connect", retryable=False)
    if isinstance(cause, (aiohttp.ClientSSLError, ssl.SSLError)):
        reason = _reason(cause.os_error if isinstance(cause, aiohttp.ClientSSLError) else cause)
        if "WRONG_VERSION_NUMBER" in reason:
            reason += " (a plain http:// server?)"
        return fail(f"TLS handshake with {where} failed: {reason}", kind="connect")
    if isinstance(cause, aiohttp.ClientConnectorError):
        os_error = cause.os_error
        if isinstance(os_error, ConnectionRefusedError) or os_error.errno == errno.ECONNREFUSED:
            return fail(f"connection refused by {where}", kind="connect")
        if os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return fail(f"{where} is unreachable ({_reason(os_error)})", kind="connect")
        return fail(f"cannot connect to {where}: {_reason(os_error)}", kind="connect")
    if isinstance(cause, aiohttp.ConnectionTimeoutError) or (
        isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) and not isinstance(cause, aiohttp.ClientError)
    ):
        return fail(f"connecting to {where} timed out after {timeout:g} s", kind="connect")
    if isinstance(cause, (aiohttp.ServerTimeoutError, TimeoutError)) or isinstance(exc, httpx.TimeoutException):
        return fail(f"timed out after {timeout:g} s waiting for {where} to answer")
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return fail(f"{where} closed the connection without answering")
    if isinstance(cause, aiohttp.ClientPayloadError):
        return fail(f"the answer from {where} was cut off ({_reason(cause)})")
    if isinstance(cause, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)) or isinstance(exc, httpx.UnsupportedProtocol):
        return fail(f"invalid URL for {where}: {_reason(cause)}", retryable=False)
    if isinstance(exc, httpx.ConnectError) and not isinstance(cause, aiohttp.ClientError):
        return fail(f"cannot connect to {where}: {_reason(exc)}", kind="connect")
    return fail(f"connection to {where} failed: {type(cause).__name__}: {_reason(cause)}")


def _reason(exc: BaseException | None) -> str:
    """The human part of an OS / SSL error ("Connection refused", "certificate verify failed")."""
    if exc is None:
        return "no detail"
    for attr in ("verify_message", "reason", "strerror"):
        value = getattr(exc, attr, None)
        if isinstance(value, str) and value:
            return value
    text = str(exc) or type(exc).__name__
    return text

"""What the HTTP providers share: posting JSON, timing, turning HTTP failures into ProviderError.

Two ways to send a call, one behaviour: through an httpx transport (``httpx.AsyncBaseTransport``,
the judge and anything else that holds one), or through a :class:`DirectClient`, an aiohttp
session used directly, which the replay's hot path uses: httpx-aiohttp builds the same aiohttp
request underneath, plus an httpx request and response around it (two object models per call,
about 37% of the replay loop's CPU). Both send the same request (aiohttp's own default headers,
no redirects followed, the same per-phase timeouts, httpx's TLS context) and name every failure
through the same :func:`transport_failure` and :meth:`HTTPProvider.error_from`.

Failures are named as what they are: "connection refused by 127.0.0.1:8999", "DNS lookup failed
for nosuch.invalid", "TLS handshake with host:443 failed: …", "timed out after 30 s". Those where
no connection was made carry ``kind="connect"`` so the replay gives up on them quickly. An error
body is read only up to :data:`ERROR_BODY_LIMIT`: a 20 MB error page costs nothing.
"""

from __future__ import annotations

import errno
import json
import re
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import aiohttp
    import httpx
    import yarl

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
        from yarl import URL

        key = f"{URL(self.request_base).scheme}://{_where(URL(self.request_base))}"
        self.__dict__["_connect_key"] = (self.request_base, key)
        return key

    def url_text(self, path: str) -> str:
        """``path`` appended to the base URL's path, its query (e.g. ``api-version``) kept."""
        base, qmark, query = self.request_base.partition("?")
        return f"{base.rstrip('/')}{path}" + (f"?{query}" if qmark else "")

    def url(self, path: str) -> httpx.URL:
        """:meth:`url_text` as an httpx URL (parsed once per path)."""
        import httpx

        urls: dict[str, httpx.URL] = self.__dict__.setdefault("_urls", {})
        url = urls.get(path)
        if url is None:
            url = urls[path] = httpx.URL(self.url_text(path))
        return url

    def direct_url(self, path: str) -> yarl.URL:
        """:meth:`url_text` as the URL aiohttp sends to (parsed once per path; no httpx import)."""
        urls: dict[str, yarl.URL] = self.__dict__.setdefault("_direct_urls", {})
        url = urls.get(path)
        if url is None:
            from yarl import URL

            url = urls[path] = URL(self.url_text(path))
        return url

    def _header_dict(self) -> tuple[dict[str, str], dict[str, str]]:
        """(``headers()`` as given, the headers of every request made of it)."""
        own = self.headers()
        cached = self.__dict__.get("_cached_header_dict")
        if cached is not None and cached[0] == own:
            return cached
        headers = {"content-type": "application/json", "accept": "application/json", **own}
        if self.basic_auth:
            headers["Authorization"] = self.basic_auth
        self.__dict__["_cached_header_dict"] = (own, headers)
        return own, headers

    def _request_headers(self) -> httpx.Headers:
        """The headers of every request, built once per distinct ``headers()`` (a key read from
        the environment at each call may change; the parsed httpx.Headers is reused while not)."""
        import httpx

        own, headers = self._header_dict()
        cached = self.__dict__.get("_headers")
        if cached is not None and cached[0] == own:
            return cached[1]
        built = httpx.Headers(headers)
        self.__dict__["_headers"] = (own, built)
        return built

    def _direct_headers(self) -> Any:
        """The same headers as aiohttp's case-insensitive multidict, in httpx's order and form
        (what httpx-aiohttp hands aiohttp), rebuilt only when ``headers()`` changes."""
        own, headers = self._header_dict()
        cached = self.__dict__.get("_cached_direct_headers")
        if cached is not None and cached[0] == own:
            return cached[1]
        from multidict import CIMultiDict

        built = CIMultiDict(headers)
        self.__dict__["_cached_direct_headers"] = (own, built)
        return built

    async def post(
        self, transport: httpx.AsyncBaseTransport | DirectClient, path: str, body: dict[str, Any], timeout: float
    ) -> tuple[dict[str, Any], str | None, float]:
        """POST and return (JSON body, request id, latency ms); raise ProviderError on failure.

        Requests go straight to the transport: the client layers (cookies, auth flows, redirects,
        event hooks) cost more CPU than the call itself at hundreds of calls a second and do
        nothing for a JSON API. A :class:`DirectClient` skips httpx's objects too."""
        if isinstance(transport, DirectClient):
            return await self._post_direct(transport, path, body, timeout)
        import httpx

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
        return self._answer(resp.status_code, resp.headers, content, cut_note, latency_ms)

    async def _post_direct(
        self, client: DirectClient, path: str, body: dict[str, Any], timeout: float
    ) -> tuple[dict[str, Any], str | None, float]:
        """:meth:`post` through the aiohttp session itself: the request httpx-aiohttp would make
        (aiohttp's default headers, no redirects, no request compression, ``sock_connect`` /
        ``sock_read`` / ``connect`` timeouts), the body read as httpx would read it (decoded;
        an error body only up to :data:`ERROR_BODY_LIMIT`)."""
        url = self.direct_url(path)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        session = client.session
        started = time.perf_counter()
        try:
            resp = await session.request(
                "POST",
                url,
                headers=self._direct_headers(),
                data=data,
                allow_redirects=False,
                compress=False,
                timeout=client.timeout(timeout),
                ssl=client.ssl_for(url),
            )
            try:
                if resp.status >= 400:
                    content, cut_note = await read_bounded_direct(resp, ERROR_BODY_LIMIT)
                else:
                    content, cut_note = await resp.read(), None
            finally:
                resp.release()
        except (OSError, client.errors) as e:  # OSError: timeouts (TimeoutError) and socket errors
            raise transport_failure(e, url, timeout) from None
        latency_ms = (time.perf_counter() - started) * 1000
        return self._answer(resp.status, resp.headers, content, cut_note, latency_ms)

    def _answer(
        self, status: int, headers: Mapping[str, str], content: bytes, cut_note: str | None, latency_ms: float
    ) -> tuple[dict[str, Any], str | None, float]:
        request_id = headers.get(self.request_id_header)
        if status >= 400:
            raise self.error_from(status, headers, content, request_id, cut_note)
        try:
            data = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            snippet = content[:80].decode("utf-8", "replace")
            raise ProviderError(
                f"malformed JSON in a {status} answer ({human_size(len(content))}): {snippet!r}",
                status=status,
                retryable=True,
                request_id=request_id,
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(f"malformed answer: a JSON {type(data).__name__}, not an object", status=status, retryable=True)
        return data, request_id, latency_ms

    def http_error(
        self, resp: httpx.Response, content: bytes, request_id: str | None, cut_note: str | None = None
    ) -> ProviderError:
        """The ProviderError of an HTTP error answer (an httpx response: the batch collector's too)."""
        return self.error_from(resp.status_code, resp.headers, content, request_id, cut_note)

    def error_from(
        self, status: int, headers: Mapping[str, str], content: bytes, request_id: str | None, cut_note: str | None = None
    ) -> ProviderError:
        """The ProviderError of an answer with HTTP ``status`` ≥ 400: its message and code from the
        body (cut bodies too), retryable by status and code, Retry-After honoured."""
        message, code = f"HTTP {status}", None
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
                    message = f"HTTP {status}: {text}"
        code = str(code) if code else None
        retryable = status in RETRYABLE_STATUS and code not in NOT_RETRYABLE_CODES
        return ProviderError(
            message,
            status=status,
            code=code,
            retryable=retryable,
            retry_after=parse_retry_after(headers) if retryable else None,
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
    return _bounded(chunks, cut, resp.headers.get("content-length", ""), limit)


def _bounded(chunks: list[bytes], cut: bool, length: str, limit: int) -> tuple[bytes, str | None]:
    """The body read so far, at most ``limit`` bytes, and when it was cut a note of its full size
    (``length``: the Content-Length header, when the server sent one)."""
    content = b"".join(chunks)
    if not cut:
        return content, None
    total = f"{human_size(int(length))} body" if length.isdigit() else f"body over {human_size(limit)}"
    return content[:limit], total


async def read_bounded_direct(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, str | None]:
    """:func:`read_bounded` of an aiohttp response (decoded, as httpx reads it; the caller
    releases the response, which drops the connection when the body was cut)."""
    chunks: list[bytes] = []
    size = 0
    cut = False
    async for chunk in resp.content.iter_chunked(16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            cut = True
            break
    return _bounded(chunks, cut, resp.headers.get("content-length", ""), limit)


class DirectClient:
    """An aiohttp session for :meth:`HTTPProvider.post`, set up as httpx-aiohttp sets up its own
    (``max_connections`` per client, keep-alive 5 s, httpx's TLS context, no proxies from the
    environment). Use as ``async with DirectClient(n) as client``."""

    def __init__(self, max_connections: int):
        import aiohttp

        self.max_connections = max_connections
        self.errors = aiohttp.ClientError
        self._aiohttp = aiohttp
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._ssl: Any = None

    async def __aenter__(self) -> DirectClient:
        aiohttp = self._aiohttp
        connector = aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=5.0)
        self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("DirectClient used outside `async with`")
        return self._session

    def timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """httpx-aiohttp's per-request timeouts for httpx's ``connect``/``read``/``pool`` of ``seconds``."""
        t = self._timeouts.get(seconds)
        if t is None:
            t = self._timeouts[seconds] = self._aiohttp.ClientTimeout(sock_connect=seconds, sock_read=seconds, connect=seconds)
        return t

    def ssl_for(self, url: yarl.URL) -> Any:
        """httpx's default TLS context (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``) for an
        https URL, made on first use; aiohttp's default (unused) for plain http."""
        if url.scheme != "https":
            return True
        if self._ssl is None:
            import httpx

            self._ssl = httpx.create_ssl_context(verify=True, trust_env=True)
        return self._ssl


def _default_port(url: Any) -> int:
    return 443 if url.scheme == "https" else 80


def _where(url: Any) -> str:
    """``host:port`` of an httpx or a yarl URL, named alike (yarl defaults the port by scheme and
    has no host for a URL without one; httpx gives None and "")."""
    port = getattr(url, "explicit_port", url.port)  # yarl's explicit port is httpx's port
    return f"{url.host or ''}:{port or _default_port(url)}"


def transport_failure(exc: BaseException, url: Any, timeout: float) -> ProviderError:
    """Name a failure below HTTP as what it is (``url``: an httpx or a yarl URL). httpx-aiohttp
    maps aiohttp's exceptions to httpx's loosely (a refused connection arrives as
    ``ConnectTimeout``), so the aiohttp error it came from (``__cause__``) decides; through a
    :class:`DirectClient` the aiohttp error itself arrives."""
    import socket
    import ssl

    import aiohttp

    # An httpx error can only exist once httpx is imported: the direct path never imports it.
    httpx: Any = sys.modules.get("httpx")

    def is_httpx(e: BaseException, *names: str) -> bool:
        return httpx is not None and isinstance(e, tuple(getattr(httpx, n) for n in names))

    where = _where(url)
    cause: BaseException = exc
    while is_httpx(cause, "TransportError") and cause.__cause__ is not None:
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
    if isinstance(cause, aiohttp.ServerDisconnectedError):  # before the timeouts: httpx-aiohttp calls it ConnectTimeout
        return fail(f"{where} closed the connection without answering")
    if isinstance(cause, aiohttp.ConnectionTimeoutError) or (
        is_httpx(exc, "ConnectTimeout", "PoolTimeout") and not isinstance(cause, aiohttp.ClientError)
    ):
        return fail(f"connecting to {where} timed out after {timeout:g} s", kind="connect")
    if isinstance(cause, (aiohttp.ServerTimeoutError, TimeoutError)) or is_httpx(exc, "TimeoutException"):
        return fail(f"timed out after {timeout:g} s waiting for {where} to answer")
    if isinstance(cause, aiohttp.ClientPayloadError):
        return fail(f"the answer from {where} was cut off ({_reason(cause)})")
    if isinstance(cause, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)) or is_httpx(exc, "UnsupportedProtocol"):
        return fail(f"invalid URL for {where}: {_reason(cause)}", retryable=False)
    if is_httpx(exc, "ConnectError") and not isinstance(cause, aiohttp.ClientError):
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

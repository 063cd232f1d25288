"""The HTTP/1.1 server side: requests parsed, answers written — and the ways of writing them
badly (reset, truncate, close-delimited EOF, trickle) that the faults ask for.

Written directly on asyncio streams: keep-alive, Content-Length bodies, nothing chunked.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import orjson

if TYPE_CHECKING:
    from gh_year_end.testing.fakegithub.accounts import Account
    from gh_year_end.testing.fakegithub.paging import Page

DOCS_URL: Final = "https://docs.github.com/rest"
GRAPHQL_DOCS_URL: Final = "https://docs.github.com/graphql"
JSON_TYPE: Final = "application/json; charset=utf-8"
REASONS: Final = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_BIG_BODY: Final = 65536  # from here on a body is written on its own, not glued to the head


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str  # without the prefix, percent-decoded segments are decoded by the router
    query: list[tuple[str, str]]
    params: dict[str, str]
    headers: dict[str, str]
    keep_alive: bool
    body: bytes = b""  # the Content-Length body (a GraphQL query's JSON); set once it is read
    raw_path: str = ""  # the path as sent, prefix included (GHES serves GraphQL outside it)
    caller: Account | None = None  # whose budget it spends; set once authenticated


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    endpoint: str = "unknown"
    page: Page | None = None  # set on every list answer (by paging.page), None otherwise


def json_response(status: int, payload: Any, *, endpoint: str = "unknown") -> Response:
    """``payload`` as a JSON answer."""
    return Response(status, orjson.dumps(payload), endpoint=endpoint)


def error_response(
    status: int, message: str, *, endpoint: str = "unknown", **extra: Any
) -> Response:
    """GitHub's error document: message, documentation_url, and ``extra``."""
    return json_response(
        status, {"message": message, "documentation_url": DOCS_URL, **extra}, endpoint=endpoint
    )


def not_found(endpoint: str = "unknown") -> Response:
    """404 Not Found, as GitHub words it."""
    return error_response(404, "Not Found", endpoint=endpoint)


def to_int(value: str | None, default: int) -> int:
    """A number from a query parameter or header; ``default`` when absent or not a number."""
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


# --- requests -------------------------------------------------------------------------------


def parse_request(head: bytes, prefix: str) -> Request | None:
    """The request line and headers (up to the blank line); None when the line is not one."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if target.startswith(("http://", "https://")):  # absolute-form: keep path and query
        target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
    raw_path, _, query_text = target.partition("?")
    if prefix:
        path = (
            raw_path[len(prefix) :] if raw_path.startswith(prefix + "/") else "/\x00outside-prefix"
        )
    else:
        path = raw_path
    query = parse_qsl(query_text, keep_blank_values=True)
    connection = headers.get("connection", "").lower()
    keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return Request(method, target, path, query, dict(query), headers, keep, raw_path=raw_path)


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` (or ``token …``) header."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


# --- answers --------------------------------------------------------------------------------


class ResponseWriter:
    """Writes answers in GitHub's dress: Date, a unique X-GitHub-Request-Id, the media type."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._ids = itertools.count(1)
        self._date = (0, "")

    async def write(
        self,
        writer: asyncio.StreamWriter,
        response: Response,
        *,
        keep: bool,
        truncate: bool = False,
        close_delimited: bool = False,
        head_only: bool = False,
    ) -> None:
        """Write the answer: its head, then its body — half of it (``truncate``), none of it
        (``head_only``: the caller sends it), or no Content-Length at all
        (``close_delimited``: the body, if any, ends where the connection does)."""
        status = response.status
        lines = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
            "Server: fake-github",
            f"Date: {self._http_date()}",
            f"Content-Type: {JSON_TYPE}",
        ]
        if status not in (204, 304) and not close_delimited:  # they have no body to measure
            lines.append(f"Content-Length: {len(response.body)}")
        lines += [
            f"Connection: {'keep-alive' if keep and not close_delimited else 'close'}",
            f"X-GitHub-Request-Id: FAKE:{self._port:04X}:{next(self._ids):08X}",
            "X-GitHub-Media-Type: github.v3; format=json",
        ]
        lines += [f"{k}: {v}" for k, v in response.headers]
        if head_only:
            body = b""
        elif truncate:
            body = response.body[: len(response.body) // 2]
        else:
            body = response.body
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) < _BIG_BODY:
            writer.write(head + body)
        else:  # a big page is not copied just to glue the head on
            writer.write(head)
            writer.write(body)
        await writer.drain()

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- waiting ----------------------------------------------------------------------------------


class Waker:
    """Sleeps of one event loop that end at once when the server stops (``closing`` is set)."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()  # binds to the loop that first waits on it
        self._waiter: asyncio.Future[Any] | None = None  # done when closing is set

    async def sleep_unless_gone(self, seconds: float, reader: asyncio.StreamReader) -> bool:
        """Sleep ``seconds`` (less if the server stops meanwhile): True; False as soon as the
        client hangs up meanwhile.

        A client that gave up on a slow answer is no longer a request in flight, as on GitHub:
        the connection's EOF ends it at once instead of after the sleep. (A client awaiting an
        answer sends nothing more on the connection, so reading here takes no request bytes.)
        One task per request (the read): the fake's own CPU is latency its clients would see.
        """
        if seconds <= 0:
            return True
        if self.closing.is_set():
            return True
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.ensure_future(self.closing.wait())
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait(
                {hangup, self._waiter}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            hangup.cancel()
            # Let the cancelled read end before the connection's next read begins: a reader
            # takes one waiter at a time.
            await asyncio.gather(hangup, return_exceptions=True)
        return not (
            hangup.done()
            and not hangup.cancelled()
            and hangup.exception() is None
            and hangup.result() == b""
        )


async def trickle(
    body: bytes,
    pause: float,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    waker: Waker,
) -> bool:
    """Send ``body`` one byte every ``pause`` seconds (the pause comes before each byte).

    False — stop, the connection is done — as soon as the client hangs up or the server
    stops; nothing is written to a closing connection (asyncio would warn for each write).
    """
    for i in range(len(body)):
        if pause > 0:
            if not await waker.sleep_unless_gone(pause, reader):
                return False
        else:
            await asyncio.sleep(0)  # one byte per loop turn: the other clients go on
        if waker.closing.is_set() or writer.is_closing():
            return False
        writer.write(body[i : i + 1])
        await writer.drain()
    return True

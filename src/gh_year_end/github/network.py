"""httpcore's network backend, with a cheap "has the server closed this idle connection?" check.

Before every request and after every response, httpcore's connection pool asks each idle
connection whether its socket is readable (a readable idle socket means the server hung up).
Through the anyio backend each such question rebuilds anyio's attribute table of the socket
— a ``getpeername`` system call and a dozen closures — then creates, fills and polls a new
``select.poll`` object. With 8 connections that is the single largest cost of ghye's event
loop per page (about 0.35 ms of the ~3 ms a request costs the loop, measured with py-spy on
bench row c). This wrapper answers the same question with one ``poll(0)`` on a poll object
made once per connection, and hands everything else — connecting, TLS, reads, writes, timeouts
and their exceptions — to the backend httpx chose, unchanged.

It sees what httpcore's own check sees, no more: a plain connection the server closed, yes;
over TLS, the close_notify a server sends first is read off the socket by the TLS layer, so
neither check notices it (tests/test_network.py); the request sent on such a connection fails
and the client retries it like any dropped connection.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import httpcore
import httpx

# httpcore's SOCKET_OPTION (the type of its backends' socket_options), spelled out.
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


@runtime_checkable
class _HasFileno(Protocol):
    def fileno(self) -> int: ...


class ReadableCheckStream(httpcore.AsyncNetworkStream):
    """One connection: every call goes to ``inner`` except the ``is_readable`` query."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        # anyio hands out asyncio's TransportSocket, which is not a socket.socket but has fileno().
        raw = inner.get_extra_info("socket")
        self._socket: _HasFileno | None = raw if isinstance(raw, _HasFileno) else None
        self._poll: select.poll | None = None
        fd = self._socket.fileno() if self._socket is not None else -1
        if fd >= 0 and hasattr(select, "poll"):  # a socket closed already: ask the inner stream
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return ReadableCheckStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._poll is not None and self._socket is not None:
            # A closed socket counts as readable (so the pool drops the connection), as in
            # httpcore's own check; its descriptor number may already belong to another file.
            if self._socket.fileno() < 0:
                return True
            return bool(self._poll.poll(0))
        return self._inner.get_extra_info(info)


class ReadableCheckBackend(httpcore.AsyncNetworkBackend):
    """Wraps a backend so that the streams it opens are :class:`ReadableCheckStream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return ReadableCheckStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return ReadableCheckStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def with_readable_check(transport: httpx.AsyncBaseTransport) -> bool:
    """Put :class:`ReadableCheckBackend` under ``transport``'s pool; False if it has no pool.

    httpx does not expose the pool's backend, so this reaches its (and httpcore's) private
    attributes; a version that renames them keeps its own backend (the test suite asserts the
    wrapper is in place with the installed versions).
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is None or not isinstance(backend, httpcore.AsyncNetworkBackend):
        return False
    if not isinstance(backend, ReadableCheckBackend):
        pool._network_backend = ReadableCheckBackend(backend)
    return True

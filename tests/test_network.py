"""The network backend under httpx's pool: idle connections the server closed are not reused."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from gh_year_end.config import RateLimitConfig
from gh_year_end.github import RestClient
from gh_year_end.github.network import (
    ReadableCheckBackend,
    ReadableCheckStream,
    with_readable_check,
)

TOKEN = "ghp_SECRETtoken0123456789abcdefABCDEF"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"


class _SocketOnly(httpcore.AsyncNetworkStream):
    """An inner stream that only knows its socket (and says so for anything else)."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.asked: list[str] = []

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return self.sock if info == "socket" else f"inner:{info}"


def test_an_open_idle_socket_is_not_readable_and_one_the_peer_closed_is() -> None:
    ours, theirs = socket.socketpair()
    try:
        inner = _SocketOnly(ours)
        stream = ReadableCheckStream(inner)
        assert stream.get_extra_info("is_readable") is False
        theirs.close()
        assert stream.get_extra_info("is_readable") is True
        assert inner.asked == ["socket"]  # answered without the inner backend's costly path
    finally:
        ours.close()


def test_a_closed_socket_counts_as_readable_even_once_its_number_is_reused() -> None:
    ours, theirs = socket.socketpair()
    stream = ReadableCheckStream(_SocketOnly(ours))
    ours.close()
    theirs.close()
    # The next sockets get the freed descriptor numbers: a poll on that number alone would now
    # watch a stranger (open, idle, not readable) and keep a dead connection in the pool.
    again, other = socket.socketpair()
    try:
        assert stream.get_extra_info("is_readable") is True
    finally:
        again.close()
        other.close()


def test_a_socket_closed_before_it_is_wrapped_is_asked_about_through_the_inner_stream() -> None:
    ours, theirs = socket.socketpair()
    ours.close()
    theirs.close()
    inner = _SocketOnly(ours)
    stream = ReadableCheckStream(inner)  # no poll object for descriptor -1, no error
    assert stream.get_extra_info("is_readable") == "inner:is_readable"


def test_other_questions_go_to_the_inner_stream() -> None:
    ours, theirs = socket.socketpair()
    try:
        stream = ReadableCheckStream(_SocketOnly(ours))
        assert stream.get_extra_info("server_addr") == "inner:server_addr"
        assert stream.get_extra_info("socket") is ours
    finally:
        ours.close()
        theirs.close()


def test_a_stream_without_a_socket_asks_the_inner_stream() -> None:
    inner = _SocketOnly(None)
    stream = ReadableCheckStream(inner)
    assert stream.get_extra_info("is_readable") == "inner:is_readable"


def test_ghyes_transport_has_the_check_installed() -> None:
    client = RestClient(api_url="http://127.0.0.1:9", token=TOKEN, rate=RateLimitConfig())
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    assert isinstance(transport._pool._network_backend, ReadableCheckBackend)
    assert with_readable_check(transport) is True  # a second call does not wrap it twice
    backend = transport._pool._network_backend
    assert isinstance(backend, ReadableCheckBackend)
    assert not isinstance(backend._inner, ReadableCheckBackend)


def test_a_transport_without_a_pool_is_left_alone() -> None:
    assert with_readable_check(httpx.MockTransport(lambda r: httpx.Response(200))) is False


@asynccontextmanager
async def _closing_server() -> AsyncIterator[tuple[str, list[int]]]:
    """Answers one request per connection, then closes it: a keep-alive the server ended."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await server.wait_closed()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_reused() -> None:
    async def scenario() -> tuple[list[int], list[int], int]:
        async with _closing_server() as (url, connections):
            client = RestClient(api_url=url, token=TOKEN, rate=RateLimitConfig())
            async with client:
                statuses = []
                for _ in range(3):
                    page = await client.get_page("/things")
                    statuses.append(page.meta.status)
                    await asyncio.sleep(0.05)  # the server's FIN arrives while the pool idles
            return statuses, connections, client.stats.retries

    statuses, connections, retries = asyncio.run(scenario())
    assert statuses == [200, 200, 200]
    # Each request found its idle connection closed and dialled a new one: none was sent on a
    # dead connection and retried after the failure.
    assert (len(connections), retries) == (3, 0)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_over_tls_requests_reuse_one_wrapped_connection(tls_files: tuple[Path, Path]) -> None:
    # What the check can see over TLS is what httpcore's own backend sees: the TLS layer reads
    # ahead from the socket, so a server's close_notify on an idle connection is not visible
    # there either (tried: httpcore's AnyIOBackend reuses that connection the same way). This
    # test holds the TLS path itself: start_tls through the wrapper, keep-alive reuse, and an
    # idle open connection not taken for a closed one.
    cert, key = tls_files
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> tuple[list[int], int, list[Any]]:
        connections: list[int] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(len(connections))
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(ANSWER)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    await writer.wait_closed()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_side)
        port = server.sockets[0].getsockname()[1]
        backend = ReadableCheckBackend(httpcore.AnyIOBackend())
        statuses: list[int] = []
        streams: list[Any] = []
        try:
            async with httpcore.AsyncConnectionPool(
                ssl_context=client_side, network_backend=backend
            ) as pool:
                for _ in range(3):
                    response = await pool.request("GET", f"https://127.0.0.1:{port}/things")
                    statuses.append(response.status)
                    await asyncio.sleep(0.02)
                    for connection in pool.connections:
                        stream = connection._connection._network_stream  # type: ignore[attr-defined]
                        streams.append((type(stream), stream.get_extra_info("is_readable")))
                        assert stream.get_extra_info("ssl_object") is not None
        finally:
            server.close()
            await server.wait_closed()
        return statuses, len(connections), streams

    statuses, dialled, streams = asyncio.run(scenario())
    assert statuses == [200, 200, 200]
    assert dialled == 1  # kept alive over TLS: the open idle connection was not dropped
    assert streams == [(ReadableCheckStream, False)] * 3  # the stream after start_tls is ours

"""The HTTP side: one pooled httpx transport, and one request on it with its body read whole.

Requests go straight to the transport (no ``AsyncClient``): ghye follows redirects itself, keeps
no cookies and needs no auth flow, so AsyncClient's layer (URL merging, cookie jar, hooks) would
only cost CPU on every page. Idle connections are checked cheaply (``network.py``).
"""

from __future__ import annotations

import httpx

from gh_year_end.github.network import with_readable_check


def pooled_transport(max_connections: int, proxy: str | None) -> httpx.AsyncBaseTransport:
    """HTTP/1.1 keep-alive connections to the API, at most ``max_connections`` of them."""
    pooled = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        http1=True,
        http2=False,
        proxy=proxy,
    )
    with_readable_check(pooled)
    return pooled


async def fetch(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    """Send ``request`` and read its body whole (httpx's TransportErrors on failure)."""
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response

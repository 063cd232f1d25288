"""Which proxy, if any, the API is reached through: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, NO_PROXY.

The rules are curl's (and httpx's): an https API goes through ``https_proxy``, an http one through
``http_proxy``, either falls back to ``all_proxy``; a lowercase variable wins over its uppercase
twin. ``no_proxy`` lists hosts that are reached directly: ``*`` (every host), a name (that host
and its subdomains), ``.name`` (subdomains only), an IP address or a network (``10.0.0.0/8``);
an entry with a port (``host:8443``) only covers that port, a scheme in an entry is ignored.
The environment is passed in, never read here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def proxy_for(api_url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL for requests to ``api_url``, or None to connect directly."""
    parts = urlsplit(api_url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        return None
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    if _bypassed(host, port, _variable(environ, "no_proxy")):
        return None
    proxy = _variable(environ, f"{scheme}_proxy") or _variable(environ, "all_proxy")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _variable(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or environ.get(name.upper()) or "").strip()


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    address = _address(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        if address is not None:
            network = _network(entry)
            if network is not None:
                if address in network:
                    return True
                continue
        name, entry_port = _host_and_port(entry)
        if not name or (entry_port is not None and entry_port != port):
            continue
        if address is not None:
            if _address(name) == address:
                return True
        elif name.startswith("."):
            if host.endswith(name):
                return True
        elif host == name or host.endswith("." + name):
            return True
    return False


def _host_and_port(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or ``scheme://host[:port]`` → (host, port)."""
    try:
        parts = urlsplit(entry if "://" in entry else f"//{entry}")
        return (parts.hostname or "").lower(), parts.port
    except ValueError:  # a port that is not a number
        return "", None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address or a network written without a port (``10.0.0.0/8``, ``::1``), else None."""
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None

"""Which proxy, if any, the API is reached through: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, NO_PROXY.

The rules are curl's (and httpx's): an https API goes through ``https_proxy``, an http one through
``http_proxy``, either falls back to ``all_proxy``; a lowercase variable wins over its uppercase
twin. ``no_proxy`` lists hosts that are reached directly: ``*`` (every host), a name (that host
and its subdomains), ``.name`` (subdomains only), an IP address or a network (``10.0.0.0/8``).
The environment is passed in, never read here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit


def proxy_for(api_url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL for requests to ``api_url``, or None to connect directly."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    if not host or _bypassed(host, _variable(environ, "no_proxy")):
        return None
    proxy = _variable(environ, f"{parts.scheme.lower()}_proxy") or _variable(environ, "all_proxy")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _variable(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or environ.get(name.upper()) or "").strip()


def _bypassed(host: str, no_proxy: str) -> bool:
    address = _address(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            if _in_network(address, entry):
                return True
            continue
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry  # drop a port
        if entry.startswith("."):
            if host.endswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _in_network(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    try:
        return address in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False

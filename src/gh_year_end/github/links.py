"""URLs GitHub hands back: the Link rel="next" header, origins, and URLs safe to show.

The token may only travel to the configured API's origin (scheme, host, port). Every URL ghye is
told to follow — a next link, a redirect — is compared with it here before anything is sent.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

Origin = tuple[str, str, int]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# One link-value: <URI> followed by its parameters, up to the next '<' (URIs may hold commas).
_LINK_RE: Final = re.compile(r"<([^>]*)>([^<]*)")
_REL_RE: Final = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
_ABSOLUTE_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def next_link(header: str | None) -> str | None:
    """The URL of ``rel="next"`` in a Link header, verbatim; None when there is no next page."""
    if not header or "next" not in header:
        return None
    for match in _LINK_RE.finditer(header):
        rel = _REL_RE.search(match.group(2))
        if rel is None:
            continue
        rels = (rel.group(1) if rel.group(1) is not None else rel.group(2)).lower().split()
        if "next" in rels:
            return match.group(1).strip()
    return None


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL, default ports filled in; else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def origin_text(origin: Origin | None, fallback: str = "an unreadable URL") -> str:
    """An origin as people write it: https://api.github.com, http://127.0.0.1:8080."""
    if origin is None:
        return fallback
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    if _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def is_absolute(url: str) -> bool:
    """True for a URL with a scheme (a next link); False for a path under api_url."""
    return _ABSOLUTE_RE.match(url) is not None


def without_credentials(url: str) -> str:
    """The URL with any user:password@ removed, fit for messages and logs."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

"""Where the token may go: the configured API's origin (scheme, host, port), and nowhere else.

Every URL a request is sent to passes through :class:`ApiOrigin` first: a path is put under
api_url (its prefix, e.g. ``/api/v3``, kept); an absolute URL — a next link, a redirect — must be
of the same origin, else ForeignNextLink, before anything is sent. The token is a header of
requests that only ever go there.
"""

from __future__ import annotations

from collections.abc import Callable

from gh_year_end.errors import ConfigInvalid, ForeignNextLink
from gh_year_end.github.links import is_absolute, origin_of, origin_text, without_credentials


class ApiOrigin:
    """The API base URL and its origin; resolves and checks every URL before it is requested."""

    def __init__(self, api_url: str, *, scrub: Callable[[str], str] = str) -> None:
        """``api_url`` without credentials or trailing slash; ConfigInvalid if not http(s).
        ``scrub`` takes the token out of any text a message shows (a hostile server may echo
        it in a next link)."""
        base = without_credentials(api_url.strip()).rstrip("/")
        origin = origin_of(base)
        if origin is None:
            raise ConfigInvalid(
                f"github.api_url: '{base}' must be an http(s) URL like https://api.github.com"
            )
        self.base = base
        self._origin = origin
        self._scrub = scrub

    def resolve(self, url: str) -> str:
        """A path → under api_url; an absolute URL → itself, once its origin is checked."""
        if not is_absolute(url):
            return f"{self.base}{url}" if url.startswith("/") else f"{self.base}/{url}"
        self.check(url, "next link")
        return url

    def holds(self, url: str) -> bool:
        """Whether absolute ``url`` is of api_url's origin."""
        return origin_of(url) == self._origin

    def check(self, url: str, what: str) -> None:
        """ForeignNextLink unless ``url`` (a ``what``: next link, redirect) is of api_url's
        origin. The refused URL is shown without credentials."""
        origin = origin_of(url)
        if origin != self._origin:
            raise ForeignNextLink(
                self._scrub(
                    f"GitHub's {what} points at {origin_text(origin)}, not "
                    f"{origin_text(self._origin)} — not followed, so the token stays with the "
                    "configured API"
                ),
                url=self._scrub(without_credentials(url)),
            )

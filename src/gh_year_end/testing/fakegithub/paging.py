"""Pages of a listing and GitHub's Link header (prev, next, last, first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from gh_year_end.testing.fakegithub.wire import Request, Response, to_int

DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 100


@dataclass(slots=True)
class Page:
    """Where a list answer sits in its listing: what a fault needs to rewrite its Link."""

    link_base: str  # origin + prefix that Link URLs start with
    path: str  # the listing's canonical path, as Link URLs spell it
    page: int
    last: int


def page(
    req: Request,
    rows: Sequence[Any],
    build: Callable[[Any], str],
    *,
    link_base: str,
    path: str,
    endpoint: str,
) -> Response:
    """The page of ``rows`` that ``page`` and ``per_page`` ask for, each row rendered by
    ``build`` (JSON text), with its Link header when the listing has more than one page."""
    per_page = to_int(req.params.get("per_page"), DEFAULT_PER_PAGE)
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    number = max(1, to_int(req.params.get("page"), 1))
    last = max(1, -(-len(rows) // per_page))
    chunk = rows[(number - 1) * per_page : number * per_page]
    records = [build(r) for r in chunk]
    if records:  # brackets on the ends: one join, one encode, no extra copy of the page
        records[0] = "[" + records[0]
        records[-1] += "]"
    else:
        records = ["[]"]
    where = Page(link_base, path, number, last)
    response = Response(200, ",".join(records).encode(), endpoint=endpoint, page=where)
    header = link(req, where)
    if header:
        response.headers.append(("Link", header))
    return response


def link(req: Request, where: Page, *, cycle: bool = False) -> str | None:
    """GitHub's Link header: prev, next, last, first — each `<url>; rel="…"`.

    The URLs keep the request's query but for ``page``. ``cycle``: rel="next" points back at
    page 1, on every page (the "cycle" fault).
    """
    number, last = where.page, where.last
    if number <= 1 and last <= 1 and not cycle:
        return None
    base = f"{where.link_base}{where.path}?"
    pairs = [(k, v) for k, v in req.query if k != "page"]

    def url(n: int) -> str:
        return base + urlencode([*pairs, ("page", str(n))])

    parts = []
    if number > 1:
        parts.append(f'<{url(number - 1)}>; rel="prev"')
    if cycle:
        parts.append(f'<{url(1)}>; rel="next"')
    elif number < last:
        parts.append(f'<{url(number + 1)}>; rel="next"')
    if number < last:
        parts.append(f'<{url(last)}>; rel="last"')
    if number > 1:
        parts.append(f'<{url(1)}>; rel="first"')
    return ", ".join(parts)

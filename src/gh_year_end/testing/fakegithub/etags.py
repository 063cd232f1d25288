"""Conditional requests, as GitHub answers them: an ``ETag`` on every 200 of a REST data route,
and ``304 Not Modified`` to a GET whose ``If-None-Match`` names it — a 304 spends no primary
budget.

GitHub's REST docs ("Best practices for using the REST API → Use conditional requests if
appropriate"): most endpoints return an ``etag`` header; a GET with ``If-None-Match`` naming it
is answered 304 when the data has not changed, and "making a conditional request does not count
against your primary rate limit if a 304 response is returned and the request was made while
correctly authorized with an Authorization header". Its answers carry
``Vary: Accept, Authorization, Cookie``: an ETag got with one credential is not promised to
match another's.

What the fake does:

* Every 200 answer of the REST routes (:class:`.api.Api`: item lists, single objects, repo
  listings, ``/user``, …) carries a weak ``ETag: W/"<sha256 hex>"`` of the account's key and
  the body bytes — the same page for the same account keeps its ETag, a page a mutation changed
  (:mod:`.mutate`) gets a new one, another account's never matches — and
  ``Vary: Accept, Authorization, Cookie``. GraphQL (a POST), the App routes, ``GET
  /rate_limit`` (answered on admission, never routed), ``/_fake/*`` and every error answer
  carry none.
* ``If-None-Match`` — one entity-tag, a comma-separated list of them, or ``*`` — is compared
  weakly, as RFC 9110 §13.1.2 has it for this header (``W/"x"`` matches ``"x"``); a value that
  is no quoted entity-tag matches nothing. On a match the answer is 304 with no body, its
  ETag and Vary, and (the server adds them) the x-ratelimit-* headers. The unit of "core"
  budget its admission took is given back (:meth:`.limits.Limits.refund`) before those headers
  are made, so a 304's ``x-ratelimit-remaining`` is what it was before the request. A 304
  carries no Link: a client pages on with the Link it stored beside the ETag.
* The rest is as for any request: a request without a valid credential is refused 401 before
  it gets here; an exhausted budget is refused 403/429 on admission, before any ETag is known;
  a 304 is a request in flight for the secondary limit; faults apply (one that spoils an answer
  spoils a 304 too: "empty" makes it a 200 with no body); the log shows status 304 and the
  counters ``not_modified`` and ``core_spent`` (:class:`.control.Stats`) tell 304s and spent
  requests apart.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Final

from gh_year_end.testing.fakegithub.wire import Request, Response

if TYPE_CHECKING:
    from gh_year_end.testing.fakegithub.callers import Route
    from gh_year_end.testing.fakegithub.limits import Limits

VARY: Final = "Accept, Authorization, Cookie"
_ENTITY_TAG: Final = re.compile(r'(?:W/)?"([^"]*)"')


def etag(body: bytes, account_key: str) -> str:
    """The weak ETag of an answer's ``body`` as the account ``account_key`` was answered it."""
    digest = hashlib.sha256(account_key.encode())
    digest.update(b"\0")
    digest.update(body)
    return f'W/"{digest.hexdigest()}"'


def none_match(header: str, tag: str) -> bool:
    """Whether ``If-None-Match: header`` matches the entity-tag ``tag``: ``*``, or any tag of
    the list equal to it by the weak comparison (opaque tags equal, ``W/`` ignored)."""
    if header.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")[1:-1]
    return any(found == opaque for found in _ENTITY_TAG.findall(header))


def conditional(route: Route, limits: Limits) -> Route:
    """``route`` (the REST routes) with ETags on its 200s and 304s for matching conditional
    GETs, each 304's unit of "core" budget given back to the account that sent it."""

    def answer(req: Request) -> Response:
        response = route(req)
        account = req.caller
        if response.status != 200 or req.method != "GET" or account is None:
            return response
        tag = etag(response.body, account.key)
        response.headers += [("ETag", tag), ("Vary", VARY)]
        header = req.headers.get("if-none-match")
        if header is None or not none_match(header, tag):
            return response
        limits.refund(account)
        return Response(304, b"", [("ETag", tag), ("Vary", VARY)], endpoint=response.endpoint)

    return answer

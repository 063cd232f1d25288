"""Reading GitHub's GraphQL answers, without I/O: where the endpoint is, what an answer must look
like, which of its errors are a rate limit.

GitHub's GraphQL API answers 200 even when a query failed: the failures are the ``errors`` array
beside ``data`` (each with a ``type`` such as NOT_FOUND, FORBIDDEN or RATE_LIMITED, a ``path`` and
a ``message``). A query past the primary budget is a 200 whose errors hold a RATE_LIMITED, with
``x-ratelimit-remaining: 0`` and ``x-ratelimit-resource: graphql``; that budget is counted apart
from REST's. The rest of HTTP (401, 403 secondary limits, 5xx) is as for REST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from gh_year_end.github.answers import PageMeta, kind_of

#: The path GitHub Enterprise Server serves REST under; its GraphQL sits beside it.
_GHES_REST: Final = "/api/v3"
_GHES_GRAPHQL: Final = "/api/graphql"


def graphql_url(api_url: str) -> str:
    """The GraphQL endpoint of a REST API base: https://api.github.com → …/graphql, and GitHub
    Enterprise Server's https://HOST/api/v3 → https://HOST/api/graphql."""
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path
    if path.endswith(_GHES_REST):
        path = path[: -len(_GHES_REST)] + _GHES_GRAPHQL
    else:
        path = f"{path}/graphql"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True, slots=True)
class GraphQLError:
    """One entry of an answer's ``errors``."""

    type: str | None
    message: str
    path: tuple[str | int, ...]

    def describe(self) -> str:
        """``TYPE at a.b.c: message``, for messages."""
        where = ".".join(str(p) for p in self.path)
        head = self.type or "error"
        return f"{head} at {where}: {self.message}" if where else f"{head}: {self.message}"


@dataclass(frozen=True, slots=True)
class GraphQLAnswer:
    """A GraphQL answer: its ``data`` (None when the query failed as a whole) and errors."""

    data: dict[str, Any] | None
    errors: tuple[GraphQLError, ...]
    meta: PageMeta


def answer_problem(body: Any) -> str | None:
    """What is wrong with a parsed 200 body, in words; None for a GraphQL answer: an object with
    ``data`` (an object or null) and/or ``errors`` (a list of objects with a message)."""
    if not isinstance(body, dict):
        return kind_of(body)
    if "data" not in body and "errors" not in body:
        return "a JSON object with neither data nor errors"
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        return f"data that is {kind_of(data)}"
    errors = body.get("errors")
    if errors is not None:
        if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
            return "errors that are not a list of objects"
        if data is None and not errors:
            return "neither data nor any error"
    return None


def read_errors(body: dict[str, Any]) -> tuple[GraphQLError, ...]:
    """The ``errors`` of a checked answer (see :func:`answer_problem`)."""
    found: list[GraphQLError] = []
    for raw in body.get("errors") or ():
        kind = raw.get("type")
        message = raw.get("message")
        path = raw.get("path")
        found.append(
            GraphQLError(
                kind if isinstance(kind, str) else None,
                str(message)[:500] if message is not None else "(no message)",
                tuple(p for p in path if isinstance(p, str | int))
                if isinstance(path, list)
                else (),
            )
        )
    return tuple(found)


#: The error types GitHub refuses a query with for its primary budget (the second seen since
#: 2026, with "API rate limit already exceeded…").
_RATE_LIMIT_TYPES: Final = frozenset({"RATE_LIMITED", "RATE_LIMIT"})


def is_rate_limited(errors: tuple[GraphQLError, ...]) -> bool:
    """Whether GitHub refused the query for its primary budget."""
    return any(e.type in _RATE_LIMIT_TYPES for e in errors)


def split_aliases(answer: GraphQLAnswer, count: int) -> list[GraphQLAnswer]:
    """A query of ``count`` repositories (aliases ``r0``…) split into each one's answer, as if
    it had been asked alone: its data under ``repository``, its errors' paths starting there;
    an error of the whole query (no path) belongs to every part."""
    parts: list[GraphQLAnswer] = []
    for i in range(count):
        alias = f"r{i}"
        data = None if answer.data is None else {"repository": answer.data.get(alias)}
        errors = tuple(
            GraphQLError(e.type, e.message, ("repository", *e.path[1:]))
            if e.path and e.path[0] == alias
            else e
            for e in answer.errors
            if not e.path or e.path[0] == alias
        )
        parts.append(GraphQLAnswer(data, errors, answer.meta))
    return parts

"""GraphQL answers in GitHub's shape: the ``{"data", "errors"}`` body, and each error as GitHub
writes it (``type``, ``path``, ``extensions``, ``locations``, ``message``).

A resolver refuses with a :class:`FieldError` (its ``type`` and ``extensions``); graphql-core
adds the ``path`` and ``locations``; :func:`github_error` writes the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from graphql import GraphQLError

from gh_year_end.testing.fakegithub.data import TOKEN_USER_ID
from gh_year_end.testing.fakegithub.wire import Response, json_response

ENDPOINT: Final = "graphql"
"""The endpoint name of every GraphQL answer (stats ``by_endpoint``, the request log)."""
RATE_LIMITED_MESSAGE: Final = f"API rate limit exceeded for user ID {TOKEN_USER_ID}."
"""The primary account's RATE_LIMITED message (each account's names its own id)."""
TIMEOUT_MESSAGE: Final = (
    "Something went wrong while executing your query. This may be the result of a timeout, or "
    "it could be a GitHub bug. Please include `FAKE:0000:00000000` when reporting this issue."
)


class FieldError(Exception):
    """A resolver's error in GitHub's shape: ``type`` (NOT_FOUND, FORBIDDEN, …), ``message`` and
    optional ``extensions``; graphql-core adds its ``path`` and ``locations``."""

    def __init__(
        self, message: str, kind: str | None = None, extensions: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.extensions = extensions


def github_error(error: GraphQLError) -> dict[str, Any]:
    """``error`` as GitHub writes it: type, path, extensions, locations, message (those it has)."""
    out: dict[str, Any] = {}
    original = error.original_error
    typed = original if isinstance(original, FieldError) else None
    if typed is not None and typed.kind is not None:
        out["type"] = typed.kind
    if error.path is not None:
        out["path"] = list(error.path)
    if typed is not None and typed.extensions is not None:
        out["extensions"] = typed.extensions
    if error.locations:
        out["locations"] = [{"line": at.line, "column": at.column} for at in error.locations]
    out["message"] = error.message
    return out


def answer(payload: dict[str, Any], status: int = 200) -> Response:
    """``payload`` as a GraphQL answer (JSON, counted under :data:`ENDPOINT`)."""
    return json_response(status, payload, endpoint=ENDPOINT)


def errors(found: Iterable[dict[str, Any]]) -> Response:
    """A 200 holding ``errors`` alone (no ``data``): the query was refused before it ran."""
    return answer({"errors": list(found)})

"""GitHub's connection rules, for the fake's GraphQL resolvers: page bounds (``first``/``last``)
checked as GitHub checks them, and opaque cursors (base64 of ``cursor:v2:<id>``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

from gh_year_end.testing.fakegithub.graphql_answers import FieldError
from gh_year_end.testing.fakegithub.graphql_cost import MAX_PAGE

_CURSOR_PREFIX: Final = "cursor:v2:"


def selects(info: GraphQLResolveInfo[Any], names: set[str]) -> bool:
    """Whether the field being resolved selects any of ``names`` (through fragments too)."""

    def walk(selection_set: SelectionSetNode | None) -> bool:
        if selection_set is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value in names:
                return True
            if isinstance(selection, InlineFragmentNode) and walk(selection.selection_set):
                return True
            if isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None and walk(fragment.selection_set):
                    return True
        return False

    return any(walk(node.selection_set) for node in info.field_nodes)


def check_page(info: GraphQLResolveInfo[Any], args: dict[str, Any]) -> None:
    """GitHub's page rules for the connection being resolved (field errors with its path)."""
    name = info.field_name
    for bound in ("first", "last"):
        value = args.get(bound)
        if value is None:
            continue
        if value > MAX_PAGE:
            raise FieldError(
                f"Requesting {value} records on the `{name}` connection exceeds the "
                f"`{bound}` limit of {MAX_PAGE} records.",
                "EXCESSIVE_PAGINATION",
            )
        if value < 0:
            raise FieldError(f"`{bound}` on the `{name}` connection cannot be negative.")
    if args.get("first") is None and args.get("last") is None and selects(info, {"nodes", "edges"}):
        raise FieldError(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )


def cursor(review_id: int) -> str:
    """The opaque cursor of the node with id ``review_id``."""
    return base64.b64encode(f"{_CURSOR_PREFIX}{review_id}".encode()).decode()


def cursor_id(value: str) -> int:
    """The id a cursor names; an INVALID_CURSOR_ARGUMENTS field error for anything else."""
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        text = ""
    if text.startswith(_CURSOR_PREFIX) and text[len(_CURSOR_PREFIX) :].isdigit():
        return int(text[len(_CURSOR_PREFIX) :])
    raise FieldError(f"`{value}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS")

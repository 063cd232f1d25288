"""GitHub's connection rules, for the fake's GraphQL resolvers: page bounds (``first``/``last``)
checked as GitHub checks them, opaque cursors (base64 of ``cursor:v2:<id>``), the page of a list
whose cursors name positions (:func:`positions`) and a connection's answer (:func:`connection`:
nodes, edges, pageInfo, totalCount).
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


def positions(count: int, args: dict[str, Any]) -> tuple[int, int]:
    """[start, end) of the page ``args`` ask (``after``/``before``/``first``/``last``) of a
    list of ``count`` whose cursors name positions (:func:`cursor` of the index)."""
    start, end = 0, count
    if args.get("after") is not None:
        start = min(count, cursor_id(args["after"]) + 1)
    if args.get("before") is not None:
        end = max(start, min(end, cursor_id(args["before"])))
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    return start, end


def connection(
    nodes: list[Any], cursors: list[str], total: int, *, more: bool, earlier: bool
) -> dict[str, Any]:
    """A connection's answer: ``nodes``, ``edges`` (cursor and node), ``pageInfo`` (``more``:
    a next page, ``earlier``: a previous one) and ``totalCount``."""
    return {
        "totalCount": total,
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
            "hasNextPage": more,
            "hasPreviousPage": earlier,
        },
    }

"""What a GraphQL query costs on GitHub, worked out before it runs: its rate-limit points and the
most nodes it may return (GitHub's "Rate limits and node limits for the GraphQL API").

* **Nodes.** Each connection (a field whose type is named ``…Connection``) may return ``first``
  (or ``last``) nodes for each node of the connections around it: 50 repositories × 10 issues
  each = 50 + 500 = 550 nodes. A call may ask for at most :data:`MAX_NODES` (500,000).
* **Points.** Add up the requests needed to fulfil each connection, assuming every one reaches
  its ``first``/``last``: a connection costs one request per node of the connections around it
  (the viewer's 100 repositories: 1 request; their issues: 100; the labels of 5,000 issues:
  5,000). Divide by 100 and round to the nearest whole number; the minimum is 1 point (a query
  of ``rateLimit`` alone, with no connection, costs that minimum).

Aliases are separate connections (100 aliased ``pullRequest { reviews(first: 100) }`` are 100
requests: 1 point, 10,000 nodes); fragments count where they are spread; ``@skip``/``@include``
are honoured. A connection without ``first``/``last`` counts one request and no nodes (GitHub
refuses it anyway once it selects ``nodes`` or ``edges``: that check is the resolvers'). Works
on any schema — the fake's, or GitHub's whole one (tests check GitHub's worked examples).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_directive_values

if TYPE_CHECKING:  # graphql-core 3.3's coerced variables; 3.2 passes a plain dict
    from graphql.execution.values import VariableValues

MAX_NODES: Final = 500_000
"""The most nodes one call may request."""
MAX_PAGE: Final = 100
"""The largest ``first``/``last`` a connection takes."""


@dataclass(slots=True)
class QueryCost:
    """A query's ``requests`` (to fulfil its connections) and ``nodes`` (the most it may return)."""

    requests: int = 0
    nodes: int = 0

    @property
    def points(self) -> int:
        """The rate-limit points: requests / 100, rounded to the nearest whole number, >= 1."""
        return max(1, (self.requests + 50) // 100)


@dataclass(slots=True)
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues | None
    cost: QueryCost = field(default_factory=QueryCost)


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues | None = None,
) -> QueryCost:
    """The cost of ``operation`` (of a document valid for ``schema``), ``variables`` coerced
    (``graphql.execution.values.get_variable_values``)."""
    root = schema.get_root_type(operation.operation)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, variables)
    if root is not None:
        _selections(walk, root, operation.selection_set, 1)
    return walk.cost


def page_size(arguments: dict[str, object]) -> int | None:
    """The page a connection asks for: ``first``, else ``last``; None when it gives neither."""
    for name in ("first", "last"):
        value = arguments.get(name)
        if isinstance(value, int):
            return value
    return None


def _included(walk: _Walk, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, walk.variables)
    if skip is not None and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, walk.variables)
    return not (include is not None and include.get("if") is False)


def _selections(
    walk: _Walk,
    parent: GraphQLObjectType | GraphQLInterfaceType | object,
    selection_set: SelectionSetNode,
    multiplier: int,
) -> None:
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode | InlineFragmentNode | FragmentSpreadNode):
            continue
        if not _included(walk, selection):
            continue
        if isinstance(selection, FieldNode):
            _field(walk, parent, selection, multiplier)
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = walk.schema.get_type(condition.name.value) if condition else parent
            _selections(walk, target, selection.selection_set, multiplier)
            continue
        fragment = walk.fragments.get(selection.name.value)
        if fragment is not None:
            target = walk.schema.get_type(fragment.type_condition.name.value)
            _selections(walk, target, fragment.selection_set, multiplier)


def _field(walk: _Walk, parent: object, node: FieldNode, multiplier: int) -> None:
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return  # a union's only field is __typename
    definition = parent.fields.get(node.name.value)
    if definition is None or node.selection_set is None:
        return
    named = get_named_type(definition.type)
    inner = multiplier
    if named.name.endswith("Connection"):
        size = page_size(get_argument_values(definition, node, walk.variables))
        nodes = max(0, size) if size is not None else 0
        walk.cost.requests += multiplier
        walk.cost.nodes += multiplier * nodes
        inner = multiplier * nodes
    _selections(walk, named, node.selection_set, inner)

"""GitHub's GraphQL schema, vendored (tests/vendor/github-graphql-schema), for offline checks:
that a GraphQL document ghye sends is valid for GitHub, and that the fake's schema is a
faithful subset of GitHub's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    parse,
    print_ast,
    validate,
)

VENDORED: Final = Path(__file__).parent / "vendor" / "github-graphql-schema" / "schema.graphql"


@cache
def github_schema() -> GraphQLSchema:
    """GitHub's schema. ``assume_valid_sdl``: this release defines two fields of
    EnterpriseOwnerInfo twice; ``assume_valid``: graphql-core 3.3 refuses a deprecated field
    implementing an interface field that is not deprecated, which GitHub's schema has."""
    text = VENDORED.read_text(encoding="utf-8")
    return build_schema(text, assume_valid_sdl=True, assume_valid=True)


def github_problems(document: str) -> list[str]:
    """Why GitHub would refuse ``document`` at validation (empty: it would not)."""
    try:
        ast = parse(document)
    except Exception as exc:  # a GraphQLSyntaxError: the document does not even parse
        return [str(exc)]
    return [error.message for error in validate(github_schema(), ast)]


def subset_problems(fake: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Where ``fake`` is not a faithful subset of ``real``: a type of another kind or missing,
    an interface not implemented there, a field or argument missing or of another type (or
    default, or deprecation), a required argument left out, an enum value or union member
    that ``real`` lacks. Empty: every part of ``fake`` is exactly ``real``'s."""
    problems: list[str] = []
    for name, mine in fake.type_map.items():
        if name.startswith("__"):
            continue
        theirs = real.type_map.get(name)
        if theirs is None or type(theirs) is not type(mine):
            problems.append(f"{name}: not a {type(mine).__name__} of GitHub's")
            continue
        problems += _type_problems(name, mine, theirs)
    return problems


def _default(arg: GraphQLArgument) -> str | None:
    """An argument's default as written in the SDL (None: it has none)."""
    node = arg.ast_node
    return print_ast(node.default_value) if node is not None and node.default_value else None


def _type_problems(name: str, mine: GraphQLNamedType, theirs: GraphQLNamedType) -> list[str]:
    problems: list[str] = []
    if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType)
        implemented = {i.name for i in theirs.interfaces}
        problems += [
            f"{name} implements {i.name}: GitHub's does not"
            for i in mine.interfaces
            if i.name not in implemented
        ]
        for field_name, field in mine.fields.items():
            real = theirs.fields.get(field_name)
            where = f"{name}.{field_name}"
            if real is None:
                problems.append(f"{where}: GitHub has no such field")
                continue
            if str(field.type) != str(real.type):
                problems.append(f"{where}: {field.type}, GitHub's is {real.type}")
            if field.deprecation_reason != real.deprecation_reason:
                problems.append(f"{where}: deprecation differs from GitHub's")
            for arg_name, arg in field.args.items():
                real_arg = real.args.get(arg_name)
                if real_arg is None:
                    problems.append(f"{where}({arg_name}): GitHub has no such argument")
                elif (str(arg.type), _default(arg)) != (str(real_arg.type), _default(real_arg)):
                    problems.append(
                        f"{where}({arg_name}): {arg.type} = {_default(arg)}, GitHub's is "
                        f"{real_arg.type} = {_default(real_arg)}"
                    )
            problems += [
                f"{where}: leaves out GitHub's required argument {arg_name}"
                for arg_name, real_arg in real.args.items()
                if arg_name not in field.args
                and str(real_arg.type).endswith("!")
                and _default(real_arg) is None
            ]
    elif isinstance(mine, GraphQLEnumType):
        assert isinstance(theirs, GraphQLEnumType)
        problems += [f"{name}.{v}: not GitHub's" for v in mine.values if v not in theirs.values]
    elif isinstance(mine, GraphQLUnionType):
        assert isinstance(theirs, GraphQLUnionType)
        members = {t.name for t in theirs.types}
        problems += [
            f"{name} | {t.name}: not GitHub's" for t in mine.types if t.name not in members
        ]
    elif isinstance(mine, GraphQLInputObjectType):
        assert isinstance(theirs, GraphQLInputObjectType)
        for field_name, field in mine.fields.items():
            real_field = theirs.fields.get(field_name)
            if real_field is None or str(real_field.type) != str(field.type):
                problems.append(f"{name}.{field_name}: not GitHub's")
    return problems

"""Where the token comes from, and whether it can be one: the environment is passed in.

The token is taken from the variable ``github.auth.token_env`` names, else ``GH_TOKEN`` (as the gh
CLI does). It is never written anywhere, and every message names the variable, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from gh_year_end.errors import AuthenticationFailed, TokenMissing

#: What a GitHub token can look like: printable ASCII, no spaces (they would break the header).
TOKEN_RE: Final = re.compile(r"^[\x21-\x7e]+$")
MISSING_MESSAGE: Final = (
    "no GitHub token: set GITHUB_TOKEN (or the variable named by github.auth.token_env)"
    " — e.g. export GITHUB_TOKEN=…"
)


def token_variable(token_env: str, environ: Mapping[str, str]) -> str:
    """The name of the variable :func:`resolve_token` takes the token from (for messages)."""
    return token_env if environ.get(token_env, "").strip() else "GH_TOKEN"


def resolve_token(token_env: str, environ: Mapping[str, str]) -> str:
    """The token from ``environ[token_env]``, else ``GH_TOKEN``.

    Raises TokenMissing, naming the variable to set, when neither holds a token.
    """
    for name in (token_env, "GH_TOKEN"):
        value = environ.get(name, "").strip()
        if value:
            return value
    if token_env == "GITHUB_TOKEN":  # noqa: S105 - a variable name
        raise TokenMissing(MISSING_MESSAGE)
    raise TokenMissing(
        f"no GitHub token: set {token_env} (the variable named by github.auth.token_env)"
        f" or GH_TOKEN — e.g. export {token_env}=…"
    )


def check_token(token: str, token_name: str) -> None:
    """TokenMissing for an empty token, AuthenticationFailed (without echoing it) for one that
    holds what a token cannot (it would break the request header)."""
    if not token:
        raise TokenMissing(MISSING_MESSAGE)
    if TOKEN_RE.match(token) is None:
        raise AuthenticationFailed(
            f"the GitHub token holds spaces or characters a token cannot have — check {token_name}"
        )

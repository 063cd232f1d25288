"""Who ghye is to GitHub: the credentials a run sends its requests with.

A :class:`Credential` gives the ``Authorization`` header of the next request and says what a 401
means for it. A personal or bot token (:class:`StaticToken`) has nothing to renew: a 401 ends it.
A GitHub App installation (:mod:`.app_auth`) renews its hour-long installation token before it
runs out and once after a 401. Secrets never leave a credential except in the header it builds;
:meth:`Credential.secrets` lists them so every text from elsewhere can be scrubbed of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from gh_year_end.errors import TokenMissing
from gh_year_end.github.tokens import check_token, resolve_token, token_variable


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***`` (text from GitHub, httpx or a
    proxy may echo a credential; nothing shown or stored may hold one)."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return text


class Credential(Protocol):
    """One credential of the run (see the module docstring)."""

    @property
    def label(self) -> str:
        """How messages name it: the variable a token came from, or the App and installation
        ("GitHub App 123, installation 456"). Never the secret."""
        ...

    async def authorization(self) -> str:
        """The ``Authorization`` header value for the next request (renewing first if due)."""
        ...

    def rejected(self, authorization: str) -> bool:
        """GitHub answered 401 to a request sent with ``authorization``: True when the next
        :meth:`authorization` may succeed (renewed), False when the credential is dead."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret it holds or has held (scrubbed from any text shown)."""
        ...


class StaticToken:
    """A token from the environment: the variable's name is its label."""

    __slots__ = ("_header", "_token", "label")

    def __init__(self, token: str, variable: str) -> None:
        check_token(token, variable)
        self._token = token
        self._header = f"Bearer {token}"
        self.label = variable

    def __repr__(self) -> str:
        return f"StaticToken({self.label})"

    async def authorization(self) -> str:
        """See :class:`Credential`."""
        return self._header

    def rejected(self, authorization: str) -> bool:  # noqa: ARG002 — nothing to renew
        """See :class:`Credential`: a token GitHub refused stays refused."""
        return False

    def secrets(self) -> tuple[str, ...]:
        """See :class:`Credential`."""
        return (self._token,)


def token_credentials(names: tuple[str, ...], environ: Mapping[str, str]) -> list[StaticToken]:
    """The tokens of ``github.auth.token_env``: one variable (falling back to GH_TOKEN, as the
    gh CLI does), or several — each of which must then hold a token (TokenMissing names the
    first that does not)."""
    if len(names) == 1:
        name = names[0]
        return [StaticToken(resolve_token(name, environ), token_variable(name, environ))]
    for name in names:
        if not environ.get(name, "").strip():
            raise TokenMissing(
                f"no GitHub token in {name}, which github.auth.token_env lists — export "
                f"{name}=… or take it off the list"
            )
    return [StaticToken(environ[name].strip(), name) for name in names]

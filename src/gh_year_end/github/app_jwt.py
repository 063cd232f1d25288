"""A GitHub App's JSON web tokens: its private key read and checked, and the RS256 JWTs it signs.

A JWT's ``iat`` is 60 s in the past (GitHub's advice against clock drift), its ``exp`` 9 minutes
ahead (GitHub allows at most 10), its ``iss`` the App's ID or client ID. The key is never
written anywhere, logged, shown in a repr or put in an error's text: messages name where it came
from instead.
"""

from __future__ import annotations

from typing import Final

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gh_year_end.errors import ConfigInvalid

#: The JWT's ``iat`` is this far in the past (GitHub's advice against clock drift) …
JWT_BACKDATE_SECONDS: Final = 60
#: … and its ``exp`` this far ahead (GitHub allows at most 10 minutes).
JWT_LIFETIME_SECONDS: Final = 9 * 60
#: The shortest RSA key accepted (GitHub generates 2048-bit keys; PyJWT warns below).
MIN_KEY_BITS: Final = 2048


class JwtSigner:
    """Signs GitHub App ``app_id``'s JWTs with its private key (read once, here)."""

    def __init__(self, app_id: str, private_key: bytes, key_source: str) -> None:
        """``private_key``: PEM bytes; ``key_source`` says in messages where they came from.
        ConfigInvalid for a key that cannot be used (see :func:`load_private_key`)."""
        self._app_id = app_id
        self._key = load_private_key(private_key, key_source, app_id)
        self._key_source = key_source

    def __repr__(self) -> str:
        return f"JwtSigner(GitHub App {self._app_id})"

    def sign(self, now: float) -> str:
        """A JWT issued at ``now`` (epoch seconds, by GitHub's clock); ConfigInvalid when the key
        cannot sign one."""
        issued = int(now)
        claims = {
            "iat": issued - JWT_BACKDATE_SECONDS,
            "exp": issued + JWT_LIFETIME_SECONDS,
            "iss": self._app_id,
        }
        try:
            return jwt.encode(claims, self._key, algorithm="RS256")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise ConfigInvalid(
                f"{self._key_source} cannot sign GitHub App {self._app_id}'s JSON web tokens "
                f"({type(exc).__name__}) — use the private key (.pem) generated on the App's "
                "settings page"
            ) from None


def load_private_key(pem: bytes, source: str, app_id: str) -> RSAPrivateKey:
    """The RSA private key in ``pem``; ConfigInvalid naming ``source`` (never the key) if not."""
    advice = (
        f"— use the private key (.pem) generated on GitHub App {app_id}'s settings page, "
        "unencrypted, as GitHub gives it"
    )
    if not pem.strip():
        raise ConfigInvalid(f"{source} is empty {advice}")
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigInvalid(f"{source} holds a password-protected private key {advice}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigInvalid(f"{source} does not hold a readable PEM private key {advice}") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigInvalid(
            f"{source} holds a private key that is not RSA (GitHub Apps sign with RS256) {advice}"
        )
    if key.key_size < MIN_KEY_BITS:  # GitHub makes 2048-bit keys; this one is not GitHub's
        raise ConfigInvalid(f"{source} holds a {key.key_size}-bit RSA key, too short {advice}")
    return key

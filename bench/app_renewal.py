"""A GitHub App whose installation tokens expire every 30 s: renewed throughout a run that ends
exact?

The fake GitHub has a GitHub App installed on its org, issuing installation tokens that live
``--lifetime`` seconds (30 by default). ghye collects the org as that App (``github.auth.app``,
the key from an environment variable, the installation looked up), with answers slowed to
``--latency`` so that the run lasts about ``--seconds`` (over two token lifetimes). Prints the
run's time, the token exchanges, the requests refused for an expired token (each one renewed and
sent again), and whether the dataset is exact and neither key nor token is on disk. Takes about
75 s. (The test suite runs the same with 2-second tokens: tests/test_pool_e2e.py.)

    .venv/bin/python bench/app_renewal.py [--lifetime 30 --seconds 70]

``measure(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO_ROOT  # noqa: F401 — puts tests/ (the harness) on the path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import load_config
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import SINCE, UNTIL, compare_with_expected, read_dataset, write_config

APP_ID = 271828
INSTALLATION_ID = 31415
KEY_ENV = "GHYE_BENCH_APP_KEY"
#: Requests in flight; with the latency below, the run's length.
CONCURRENCY = 2


@dataclass(frozen=True)
class Renewal:
    """One run as an App with short-lived tokens."""

    lifetime: float
    elapsed: float
    requests: int
    exchanges: int
    expired_refusals: int
    exact: bool
    leaked: bool

    @property
    def met(self) -> bool:
        """Renewed more than once, the dataset exact, nothing on disk."""
        return self.exact and not self.leaked and self.exchanges > self.elapsed / self.lifetime


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def measure(lifetime: float = 30.0, seconds: float = 70.0) -> Renewal:
    """Collect as the App; see the module docstring."""
    private, public = _key_pair()
    # About 90 requests, two in flight: the latency that makes the run last ``seconds``.
    settings = FakeSettings(
        repos=12,
        token="unused-primary-token",
        app_id=APP_ID,
        app_public_key=public,
        app_installation_id=INSTALLATION_ID,
        app_token_lifetime=lifetime,
        latency=seconds * CONCURRENCY / 90,
    )
    with tempfile.TemporaryDirectory() as scratch, FakeGitHub(settings).start() as fake:
        folder = Path(scratch)
        auth = {"app": {"app_id": APP_ID, "private_key_env": KEY_ENV}}
        config = load_config(
            write_config(folder, fake.base_url, auth=auth, max_concurrency=CONCURRENCY)
        )
        began = time.monotonic()
        result = run_collect(
            config,
            CollectRequest(),
            environ={KEY_ENV: private},
            events=NullEvents(),
            command="bench",
            install_signals=False,
        )
        elapsed = time.monotonic() - began
        target = PathManager(config).target_dir
        exact = result.exit_code == 0 and not compare_with_expected(
            read_dataset(target), fake.expected(SINCE, UNTIL)
        )
        secrets = [t.encode() for t in fake.installation_tokens()]
        secrets.append(private.splitlines()[1].encode())
        leaked = any(
            secret in path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file()
            for secret in secrets
        )
        stats = fake.stats()
    return Renewal(
        lifetime=lifetime,
        elapsed=elapsed,
        requests=int(stats["requests"]),
        exchanges=int(stats["app_exchanges"]),
        expired_refusals=int(stats["expired_tokens"]),
        exact=exact,
        leaked=leaked,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifetime", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=70.0)
    args = parser.parse_args()
    r = measure(args.lifetime, args.seconds)
    print(
        f"{r.elapsed:.0f} s run, tokens of {r.lifetime:g} s: {r.exchanges} exchanges, "
        f"{r.expired_refusals} requests refused as expired (renewed, sent again), "
        f"{r.requests} requests; exact: {r.exact}; key or token on disk: {r.leaked}"
    )


if __name__ == "__main__":
    main()

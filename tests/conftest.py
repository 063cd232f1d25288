"""Shared fixtures."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gh_year_end.config import Config, parse_config


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a valid Config whose storage root is ``tmp_path/data`` (name/year adjustable)."""

    def make(name: str = "acme", year: int = 2025) -> Config:
        text = (
            f"github:\n  target: {{mode: org, name: {name}}}\n  windows: {{year: {year}}}\n"
            f"storage: {{root: '{tmp_path / 'data'}'}}\n"
        )
        return parse_config(text, source="test-config.yaml", cwd=tmp_path)

    return make


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The default test Config: org ``acme``, year 2025, data under tmp_path."""
    return make_config()


# --- crash torture (tests/test_torture.py) ----------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--torture-rounds`` (``make torture`` runs 100) and ``--torture-seed`` (to replay)."""
    group = parser.getgroup("ghye torture")
    group.addoption(
        "--torture-rounds",
        type=int,
        default=10,
        help="kill-and-resume rounds of each torture test (default 10)",
    )
    group.addoption(
        "--torture-seed",
        type=int,
        default=None,
        help="base seed of the torture rounds (default: random, printed on failure)",
    )


@pytest.fixture
def torture_rounds(request: pytest.FixtureRequest) -> int:
    """How many crash-torture rounds to run."""
    rounds = int(request.config.getoption("--torture-rounds"))
    if rounds < 1:
        raise pytest.UsageError("--torture-rounds must be at least 1")
    return rounds


@pytest.fixture
def torture_seed(request: pytest.FixtureRequest) -> int:
    """The torture's base seed: ``--torture-seed``, else a fresh random one."""
    seed = request.config.getoption("--torture-seed")
    return int(seed) if seed is not None else random.SystemRandom().randrange(1, 2**31)

"""estimate.json: what each unit of a dataset is expected to cost (:mod:`.estimate`), kept beside
the checkpoint for ``ghye status``. Replaced atomically; one that is damaged, of another format or
of another dataset reads as none (status then counts units). Light to import: status reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from gh_year_end.collect.estimate import Estimate, resource_of
from gh_year_end.endpoints import BY_NAME
from gh_year_end.github.ratelimit import CORE, GRAPHQL
from gh_year_end.storage.atomic import atomic_write_bytes
from gh_year_end.storage.checkpoint import CheckpointManager


def read_estimate(path: Path) -> Estimate | None:
    """estimate.json, or None when there is none or it cannot be read as one."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        return Estimate.from_dict(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def write_estimate(path: Path, estimate: Estimate) -> None:
    """Replace estimate.json atomically (StorageError when it cannot be written)."""
    atomic_write_bytes(path, orjson.dumps(estimate.to_dict(), option=orjson.OPT_INDENT_2))


def matches(estimate: Estimate | None, digest: str, repos: Iterable[str]) -> bool:
    """Whether ``estimate`` is of this dataset (its config digest) and knows every repo."""
    return estimate is not None and estimate.config_digest == digest and estimate.covers(repos)


def spent_pages(checkpoint: CheckpointManager, reviews_via: str) -> dict[str, int]:
    """Pages committed so far per resource (reviews through GraphQL: graphql; else core)."""
    spent = {CORE: 0, GRAPHQL: 0}
    for _repo, endpoint, state in checkpoint.units():
        ep = BY_NAME.get(endpoint)
        resource = resource_of(ep, reviews_via) if ep is not None else CORE
        spent[resource] += state.pages_collected
    return spent

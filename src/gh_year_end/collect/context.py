"""What every part of one collect shares: the config, the files, the checkpoint, the client,
the commit threads, the stop signal, the event sink, and the run's counters.

Blocking work — checkpoint commits (each ends in an fsync), file reads and writes — runs on the
commit threads (:meth:`RunContext.in_thread`), never on the event loop, so other units' requests
go on meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from gh_year_end.collect.events import EventSink, RefreshTally
from gh_year_end.collect.review_queries import ReviewQueries
from gh_year_end.config import Config
from gh_year_end.endpoints import Window
from gh_year_end.github.client import RestClient
from gh_year_end.signals import StopSignal
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.manifest import FileDigest
from gh_year_end.storage.paths import PathManager

T = TypeVar("T")


@dataclass
class Tally:
    """What this run did: pages and records committed, units left out by --from-repo."""

    pages: int = 0
    records: int = 0
    skipped: int = 0


@dataclass
class RunContext:
    """The pieces of one collect every module works with."""

    config: Config
    paths: PathManager
    checkpoint: CheckpointManager
    events: EventSink
    stop: StopSignal
    started: float
    """``time.monotonic()`` at the start."""
    started_at: datetime
    continued: bool = False
    tally: Tally = field(default_factory=Tally)
    digests: dict[Path, FileDigest] = field(default_factory=dict)
    """Files of the units that completed in this run, hashed then for the manifest."""
    client: RestClient | None = None
    executor: ThreadPoolExecutor | None = None
    refresh: RefreshTally | None = None
    """Set while this run refreshes the dataset (``collect --refresh``, or resuming one)."""
    review_queries: ReviewQueries | None = None
    """Set when this run reads reviews through GraphQL (``collection.reviews_via``, unless
    GraphQL turned out to be unavailable: :func:`~.review_probe.choose_reviews_api`): the
    queries the reviews units share."""

    @property
    def window(self) -> Window:
        """The dataset's window."""
        return self.config.window

    @property
    def api(self) -> RestClient:
        """The client (set once the run talks to GitHub)."""
        if self.client is None:
            raise RuntimeError("the client is not open yet")
        return self.client

    @property
    def threads(self) -> ThreadPoolExecutor:
        """The commit threads (set while units run)."""
        if self.executor is None:
            raise RuntimeError("the commit threads are not running")
        return self.executor

    async def in_thread(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking checkpoint/file work on a commit thread, off the event loop."""
        call = functools.partial(func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.threads, call)

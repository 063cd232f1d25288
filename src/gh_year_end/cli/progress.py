"""Collector events → what the user sees while a run goes: a Rich live display on a terminal,
plain progress lines in a CI log, or nothing (``--quiet``).

Every sink here is an :class:`~gh_year_end.collect.events.EventSink`. The collector calls it once
per page, so an event only updates a few counters under a lock
(:class:`~gh_year_end.cli.progress_state.ProgressState`); the drawing happens elsewhere — on
Rich's refresh thread (terminal) or at most once per interval (plain lines).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import IO, Final, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from gh_year_end.cli.progress_state import Clock, ProgressSnapshot, ProgressState
from gh_year_end.cli.render.text import format_duration
from gh_year_end.collect.events import EventSink, NullEvents

DEFAULT_INTERVAL: Final = 5.0
MAX_UNIT_LINES: Final = 8


class Display(EventSink, Protocol):
    """An EventSink on screen, which can step aside while the user is asked a question."""

    def paused(self) -> AbstractContextManager[None]:
        """While inside, nothing is drawn (a prompt can use the terminal)."""
        ...


def progress_line(snap: ProgressSnapshot) -> str:
    """One plain progress line, e.g. ``progress: 120/600 units, 34,100 records, 85.2 pages/s,
    rate 4,210/5,000, ETA 00:03:10``."""
    parts = [
        f"progress: {snap.units_done:,}/{snap.units_total:,} units",
        f"{snap.records:,} records",
    ]
    if snap.units_failed:
        parts.append(f"{snap.units_failed:,} failed")
    if snap.pages_per_second is not None:
        parts.append(f"{snap.pages_per_second:,.1f} pages/s")
    if snap.rate_remaining is not None and snap.rate_limit is not None:
        parts.append(f"rate {snap.rate_remaining:,}/{snap.rate_limit:,}")
    if snap.eta_seconds is not None:
        parts.append(f"ETA {format_duration(snap.eta_seconds)}")
    return ", ".join(parts)


def _is_terminal(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def _reset_text(epoch: float, wall_clock: Clock) -> str:
    moment = datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")
    return f"resets {moment} (in {format_duration(epoch - wall_clock())})"


class _Sink:
    """The EventSink methods shared by both displays; subclasses say how a notice is shown."""

    def __init__(self, state: ProgressState) -> None:
        self.state = state

    def paused(self) -> AbstractContextManager[None]:
        """Plain lines need no pause for a prompt."""
        return nullcontext()

    def notice(self, text: str) -> None:
        """Show one line now."""
        raise NotImplementedError

    def tick(self) -> None:
        """Called after counters moved; the plain display may print a progress line."""

    def message(self, text: str) -> None:
        """A one-line notice."""
        self.notice(text)

    def plan(self, units_total: int, units_done: int, records_done: int) -> None:
        """The plan is known."""
        self.state.plan(units_total, units_done, records_done)

    def unit_started(self, repo: str, endpoint: str, page: int, records: int) -> None:
        """A unit begins."""
        self.state.unit_started(repo, endpoint, page, records)

    def page_committed(
        self, repo: str, endpoint: str, page: int, records: int, unit_records: int
    ) -> None:
        """A page was committed."""
        self.state.page_committed(repo, endpoint, page, records, unit_records)
        self.tick()

    def unit_finished(self, repo: str, endpoint: str, status: str, reason: str | None) -> None:
        """A unit ended; a failure is worth a line of its own."""
        self.state.unit_finished(repo, endpoint, status)
        if status == "failed":
            self.notice(f"failed: {repo} {endpoint}: {reason or 'no reason given'}")
        self.tick()

    def waiting(self, reason: str, seconds: float) -> None:
        """Every worker pauses."""
        self.state.waiting(reason, seconds)
        self.notice(f"waiting {format_duration(seconds)}: {reason}")

    def stopping(self, signal_name: str) -> None:
        """A signal arrived."""
        self.notice(f"{signal_name} received: finishing the pages in flight, then saving progress")

    def rate(self, remaining: int, limit: int, reset_epoch: float) -> None:
        """The latest budget."""
        self.state.rate(remaining, limit, reset_epoch)


class PlainProgress(_Sink):
    """Progress for logs: a line every ``interval`` seconds, and one per notable event."""

    def __init__(
        self,
        stream: IO[str],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Clock = time.monotonic,
        state: ProgressState | None = None,
    ) -> None:
        super().__init__(state if state is not None else ProgressState(clock))
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._last = clock()

    def notice(self, text: str) -> None:
        """Write one line."""
        self._write(text)

    def plan(self, units_total: int, units_done: int, records_done: int) -> None:
        """The plan is known: say so at once (the size of the run, in the log)."""
        super().plan(units_total, units_done, records_done)
        self._last = self._clock()
        self._write(progress_line(self.state.snapshot()))

    def tick(self) -> None:
        """A progress line, unless one was written less than ``interval`` ago."""
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._write(progress_line(self.state.snapshot()))

    def _write(self, line: str) -> None:
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            # A closed or broken log stream must not stop the collection (sinks never raise).
            pass


class RichProgress(_Sink):
    """The live terminal display: overall bar, one line per active unit, rate-limit budget, and
    a countdown while paused. Redrawn by Rich's refresh thread, never by the event itself."""

    def __init__(
        self,
        console: Console,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        refresh_per_second: float = 4.0,
        state: ProgressState | None = None,
    ) -> None:
        super().__init__(state if state is not None else ProgressState(clock))
        self._console = console
        self._wall_clock = wall_clock
        self._live = Live(
            console=console,
            get_renderable=self.render,
            refresh_per_second=refresh_per_second,
            transient=True,
            # Log lines go above the display instead of through it — but only when stderr is
            # this same terminal; a redirected stderr keeps them.
            redirect_stderr=_is_terminal(sys.stderr),
        )

    def __enter__(self) -> RichProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Take the live display off the screen while the user is asked something."""
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def notice(self, text: str) -> None:
        """Print a line above the live display."""
        self._console.print(Text(text), soft_wrap=True)

    def render(self) -> RenderableType:
        """The whole display, from one snapshot."""
        snap = self.state.snapshot()
        head = Table.grid(padding=(0, 1))
        head.add_row(
            ProgressBar(
                total=max(snap.units_total, 1),
                completed=snap.units_done,
                width=30,
                complete_style="green",
                finished_style="green",
            ),
            Text(_overall(snap)),
        )
        parts: list[RenderableType] = [head]
        if snap.active:
            units = Table.grid(padding=(0, 2))
            for unit in snap.active[:MAX_UNIT_LINES]:
                units.add_row(
                    Text(f"  {unit.repo}", overflow="ellipsis", no_wrap=True),
                    Text(unit.endpoint),
                    Text(f"page {unit.page:,}"),
                    Text(f"{unit.records:,} records"),
                )
            if len(snap.active) > MAX_UNIT_LINES:
                units.add_row(Text(f"  … and {len(snap.active) - MAX_UNIT_LINES} more"), "", "", "")
            parts.append(units)
        if snap.rate_remaining is not None and snap.rate_limit is not None:
            line = f"rate limit {snap.rate_remaining:,}/{snap.rate_limit:,}"
            if snap.rate_reset_epoch is not None:
                line += ", " + _reset_text(snap.rate_reset_epoch, self._wall_clock)
            parts.append(Text(line, style="dim"))
        if snap.waiting_left is not None:
            parts.append(
                Text(
                    f"paused {format_duration(snap.waiting_left)} — {snap.waiting_reason}",
                    style="yellow",
                )
            )
        return Group(*parts)


class _Quiet(NullEvents):
    """Nothing on screen (``--quiet``)."""

    def paused(self) -> AbstractContextManager[None]:
        """Nothing to take off the screen."""
        return nullcontext()


def _overall(snap: ProgressSnapshot) -> str:
    parts = [f"{snap.units_done:,}/{snap.units_total:,} units", f"{snap.records:,} records"]
    if snap.units_failed:
        parts.append(f"{snap.units_failed:,} failed")
    if snap.pages_per_second is not None:
        parts.append(f"{snap.pages_per_second:,.1f} pages/s")
    parts.append(
        f"ETA {format_duration(snap.eta_seconds)}" if snap.eta_seconds is not None else "ETA …"
    )
    return " · ".join(parts)


@contextmanager
def open_progress(
    console: Console,
    *,
    quiet: bool = False,
    interval: float = DEFAULT_INTERVAL,
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
) -> Iterator[Display]:
    """The display that fits ``console``: nothing when quiet, Rich live on a terminal, plain
    lines otherwise. The live display is cleared on exit, so a summary can follow."""
    if quiet:
        yield _Quiet()
    elif console.is_terminal:
        with RichProgress(console, clock=clock, wall_clock=wall_clock) as display:
            yield display
    else:
        yield PlainProgress(console.file, interval=interval, clock=clock)

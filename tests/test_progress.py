"""The progress displays: counters, the plain log lines, the Rich live view, and their cost."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from gh_year_end.cli.progress import PlainProgress, RichProgress, open_progress, progress_line
from gh_year_end.cli.progress_state import ProgressState
from gh_year_end.cli.render.text import format_duration
from gh_year_end.collect.events import NullEvents


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00:00"),
        (59.6, "00:01:00"),
        (190, "00:03:10"),
        (3600 * 100 + 61, "100:01:01"),
        (-5, "00:00:00"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_state_counts_pages_records_and_units() -> None:
    clock = FakeClock()
    state = ProgressState(clock)
    state.plan(600, 100, 20_000)
    state.unit_started("o/a", "pulls", 1, 0)
    state.page_committed("o/a", "pulls", 1, 100, 100)
    state.page_committed("o/a", "pulls", 2, 50, 150)
    clock.advance(2)
    snap = state.snapshot()
    assert (snap.units_total, snap.units_done, snap.records, snap.pages) == (600, 100, 20_150, 2)
    assert snap.pages_per_second == 1.0
    assert snap.eta_seconds is None  # no unit of this run has ended yet
    assert [(u.repo, u.endpoint, u.page, u.records) for u in snap.active] == [
        ("o/a", "pulls", 2, 150)
    ]

    state.unit_finished("o/a", "pulls", "complete")
    snap = state.snapshot()
    assert snap.active == ()
    assert snap.units_done == 101
    # one unit in 2 s, 499 left → 998 s
    assert snap.eta_seconds == pytest.approx(998.0)


def test_interrupted_units_are_not_done_and_failures_are_counted() -> None:
    state = ProgressState(FakeClock())
    state.plan(3, 0, 0)
    state.unit_finished("o/a", "pulls", "interrupted")
    state.unit_finished("o/b", "pulls", "failed")
    state.unit_finished("o/c", "pulls", "unavailable")
    snap = state.snapshot()
    assert (snap.units_done, snap.units_failed) == (2, 1)


def test_waiting_counts_down_and_ends_with_the_next_page() -> None:
    clock = FakeClock()
    state = ProgressState(clock)
    state.waiting("primary rate limit", 60)
    clock.advance(15)
    snap = state.snapshot()
    assert snap.waiting_left == pytest.approx(45)
    assert snap.waiting_reason == "primary rate limit"
    state.page_committed("o/a", "pulls", 1, 1, 1)
    assert state.snapshot().waiting_left is None
    state.waiting("backoff", 5)
    clock.advance(6)
    assert state.snapshot().waiting_left is None


def test_progress_line_has_the_documented_shape() -> None:
    clock = FakeClock()
    state = ProgressState(clock)
    state.plan(600, 0, 0)
    for _ in range(852):
        state.page_committed("o/a", "pulls", 1, 0, 0)
    for i in range(120):
        state.unit_finished(f"o/{i}", "pulls", "complete")
    state.page_committed("o/a", "pulls", 1, 34_100, 34_100)
    state.rate(4210, 5000, 0)
    clock.advance(10)  # 853 pages in 10 s
    snap = state.snapshot()
    # ETA: 120 units in 10 s → 480 left take 40 s
    assert progress_line(snap) == (
        "progress: 120/600 units, 34,100 records, 85.3 pages/s, rate 4,210/5,000, ETA 00:00:40"
    )


def test_progress_line_leaves_out_what_is_unknown() -> None:
    state = ProgressState(FakeClock())
    state.plan(10, 0, 0)
    assert progress_line(state.snapshot()) == "progress: 0/10 units, 0 records"


def test_plain_progress_prints_every_interval_and_notable_events_at_once() -> None:
    clock = FakeClock()
    out = io.StringIO()
    sink = PlainProgress(out, interval=5.0, clock=clock)
    sink.plan(4, 0, 0)
    sink.unit_started("o/a", "pulls", 1, 0)
    sink.page_committed("o/a", "pulls", 1, 10, 10)
    assert out.getvalue() == "progress: 0/4 units, 0 records\n"  # the plan, then nothing for 5 s
    clock.advance(5)
    sink.page_committed("o/a", "pulls", 2, 10, 20)
    clock.advance(1)
    sink.page_committed("o/a", "pulls", 3, 10, 30)
    sink.unit_finished("o/a", "pulls", "complete", None)
    sink.unit_finished("o/b", "issues", "unavailable", "404 Not Found")
    sink.unit_finished("o/c", "commits", "failed", "502 Bad Gateway (retries spent)")
    sink.waiting("secondary rate limit (Retry-After)", 61)
    sink.message("discovered 4 repositories")
    sink.stopping("SIGINT")
    sink.rate(1, 5000, 0)
    lines = out.getvalue().splitlines()
    assert lines == [
        "progress: 0/4 units, 0 records",
        "progress: 0/4 units, 20 records, 0.4 pages/s",
        "failed: o/c commits: 502 Bad Gateway (retries spent)",
        "waiting 00:01:01: secondary rate limit (Retry-After)",
        "discovered 4 repositories",
        "SIGINT received: finishing the pages in flight, then saving progress",
    ]


def test_plain_progress_never_raises_on_a_closed_stream() -> None:
    out = io.StringIO()
    sink = PlainProgress(out, interval=0.0, clock=FakeClock())
    out.close()
    sink.message("still fine")
    sink.page_committed("o/a", "pulls", 1, 1, 1)


def test_rich_display_shows_units_rate_and_countdown() -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    display = RichProgress(console, clock=clock, wall_clock=lambda: 1_700_000_000.0)
    display.plan(600, 120, 34_000)
    display.unit_started("acme/web", "pulls", 3, 200)
    display.page_committed("acme/web", "pulls", 3, 100, 300)
    display.rate(4210, 5000, 1_700_000_000.0 + 600)
    display.waiting("primary rate limit", 42)
    clock.advance(2)
    console.print(display.render())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "120/600 units · 34,100 records" in text
    assert "0.5 pages/s" in text
    assert "acme/web" in text
    assert "page 3" in text
    assert "300 records" in text
    assert "rate limit 4,210/5,000, resets 22:23:20 UTC (in 00:10:00)" in text
    assert "paused 00:00:40 — primary rate limit" in text


def test_rich_display_caps_the_unit_lines() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    display = RichProgress(console, clock=FakeClock())
    for i in range(12):
        display.unit_started(f"o/r{i}", "commits", 1, 0)
    console.print(display.render())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "o/r7" in text
    assert "o/r8" not in text
    assert "… and 4 more" in text


def test_open_progress_picks_the_display() -> None:
    plain = Console(file=io.StringIO(), force_terminal=False)
    with open_progress(plain, quiet=True) as sink:
        assert isinstance(sink, NullEvents)
    with open_progress(plain) as sink:
        assert isinstance(sink, PlainProgress)
    tty_out = io.StringIO()
    tty = Console(file=tty_out, force_terminal=True, width=100)
    with open_progress(tty) as sink:
        assert isinstance(sink, RichProgress)
        sink.plan(1, 0, 0)
        sink.message("hello from above the display")
    assert "hello from above the display" in tty_out.getvalue()


@pytest.mark.parametrize("kind", ["plain", "rich"])
def test_events_are_cheap(kind: str) -> None:
    console = Console(file=io.StringIO(), width=100)
    # The Rich display is not started: this measures the event path alone.
    sink: PlainProgress | RichProgress = (
        PlainProgress(io.StringIO(), interval=5.0) if kind == "plain" else RichProgress(console)
    )
    sink.plan(100_000, 0, 0)
    start = time.perf_counter()
    for i in range(50_000):
        sink.page_committed("o/a", "pulls", i, 100, i * 100)
    assert time.perf_counter() - start < 1.0

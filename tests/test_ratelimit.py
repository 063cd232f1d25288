"""The rate-limit rules (pure functions) and the shared Limiter, on a fake clock."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from gh_year_end.github.ratelimit import (
    MAX_WAIT_SECONDS,
    PAST_RESET_WAIT_SECONDS,
    Limiter,
    RateLimitState,
    backoff_delay,
    clamp_reset,
    classify_limit,
    is_secondary_message,
    parse_rate_headers,
    parse_retry_after,
    secondary_wait,
)

NOW = 1_700_000_000.0


class FakeTime:
    """A clock that only moves when someone sleeps; sleeps are recorded, never real."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def state(
    remaining: int, reset: float, *, limit: int = 5000, resource: str = "core"
) -> RateLimitState:
    return RateLimitState(
        limit=limit, remaining=remaining, used=limit - remaining, reset=reset, resource=resource
    )


def limiter(
    t: FakeTime,
    *,
    concurrency: int = 4,
    ppm: int = 900,
    margin: float = 1.0,
    on_wait: list[tuple[str, float]] | None = None,
) -> Limiter:
    calls = on_wait
    return Limiter(
        max_concurrency=concurrency,
        points_per_minute=ppm,
        reset_margin=margin,
        clock=t.clock,
        sleep=t.sleep,
        on_wait=(lambda reason, s: calls.append((reason, s))) if calls is not None else None,
        slow_start=False,
    )


# --- header parsing ----------------------------------------------------------------------


def test_parse_rate_headers_reads_every_field_case_insensitively() -> None:
    headers = httpx.Headers(
        {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4987",
            "X-RateLimit-Used": "13",
            "X-RateLimit-Reset": "1700003600",
            "X-RateLimit-Resource": "core",
        }
    )
    assert parse_rate_headers(headers) == RateLimitState(5000, 4987, 13, 1700003600.0, "core")


def test_parse_rate_headers_without_headers_is_none() -> None:
    assert parse_rate_headers(httpx.Headers({"content-type": "application/json"})) is None


def test_parse_rate_headers_with_garbage_is_none() -> None:
    assert parse_rate_headers(httpx.Headers({"x-ratelimit-remaining": "lots"})) is None


def test_parse_rate_headers_defaults_resource_to_core_and_used_to_none() -> None:
    parsed = parse_rate_headers(
        httpx.Headers(
            {
                "x-ratelimit-remaining": "3",
                "x-ratelimit-limit": "60",
                "x-ratelimit-reset": "1700000100",
            }
        )
    )
    assert parsed == RateLimitState(60, 3, None, 1700000100.0, "core")


# --- reset clamping ----------------------------------------------------------------------


def test_clamp_reset_keeps_a_sensible_reset() -> None:
    assert clamp_reset(NOW + 600, NOW) == (NOW + 600, None)


def test_clamp_reset_in_the_past_becomes_a_short_wait_with_a_warning() -> None:
    reset, problem = clamp_reset(NOW - 100, NOW)
    assert reset == NOW + PAST_RESET_WAIT_SECONDS
    assert problem is not None
    assert "in the past" in problem


def test_clamp_reset_a_second_in_the_past_is_boundary_noise_not_a_warning() -> None:
    assert clamp_reset(NOW - 1, NOW) == (NOW + PAST_RESET_WAIT_SECONDS, None)


def test_clamp_reset_more_than_an_hour_ahead_is_clamped_to_an_hour() -> None:
    reset, problem = clamp_reset(NOW + 10 * 365 * 86400, NOW)
    assert reset == NOW + MAX_WAIT_SECONDS
    assert problem is not None
    assert "one hour" in problem


def test_clamp_reset_in_milliseconds_is_read_as_seconds() -> None:
    reset, problem = clamp_reset((NOW + 120) * 1000, NOW)
    assert reset == pytest.approx(NOW + 120)
    assert problem is not None
    assert "milliseconds" in problem


def test_limiter_logs_a_warning_once_for_a_nonsense_reset(caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    gate = limiter(t)
    with caplog.at_level(logging.WARNING, logger="gh_year_end.github.ratelimit"):
        first = gate.observe(state(10, NOW + 50 * 86400))
        gate.observe(state(9, NOW + 50 * 86400))
    assert first.reset == NOW + MAX_WAIT_SECONDS
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


# --- Retry-After -------------------------------------------------------------------------


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120", NOW) == 120.0


def test_retry_after_as_http_date() -> None:
    moment = datetime.fromtimestamp(NOW + 90, tz=UTC)
    assert parse_retry_after(format_datetime(moment, usegmt=True), NOW) == pytest.approx(90.0)


def test_retry_after_date_in_the_past_is_zero() -> None:
    moment = datetime.fromtimestamp(NOW - 90, tz=UTC)
    assert parse_retry_after(format_datetime(moment, usegmt=True), NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan"])
def test_retry_after_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_longer_than_an_hour_is_clamped() -> None:
    assert parse_retry_after("999999999", NOW) == MAX_WAIT_SECONDS


# --- classification ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "retry_after", "remaining", "expected"),
    [
        (403, "API rate limit exceeded for user ID 1.", None, 0, "primary"),
        (429, "API rate limit exceeded", None, 0, "primary"),
        (403, "You have exceeded a secondary rate limit.", None, 4000, "secondary"),
        (403, "You have exceeded a secondary rate limit.", None, 0, "primary"),
        (403, "You have exceeded a secondary rate limit.", 30.0, 0, "secondary"),
        (429, "", 30.0, 4000, "secondary"),
        (429, "Too Many Requests", None, None, "secondary"),
        (403, "You have triggered an abuse detection mechanism.", None, None, "secondary"),
        (403, "Resource not accessible by personal access token", None, 4000, None),
        (403, "Resource protected by organization SAML enforcement.", None, None, None),
        (500, "secondary rate limit", 30.0, 0, None),
    ],
)
def test_classify_limit_follows_githubs_documented_order(
    status: int,
    message: str,
    retry_after: float | None,
    remaining: int | None,
    expected: str | None,
) -> None:
    st = state(remaining, NOW + 60) if remaining is not None else None
    assert classify_limit(status, message, retry_after, st) == expected


def test_secondary_message_detection_ignores_case() -> None:
    assert is_secondary_message("You have exceeded a SECONDARY RATE LIMIT")
    assert not is_secondary_message("Not Found")


# --- backoff -----------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 6, 10, 500])
def test_backoff_is_full_jitter_within_bounds(attempt: int) -> None:
    rng = random.Random(7)
    ceiling = min(60.0, 1.0 * 2 ** min(attempt, 62))
    delays = [backoff_delay(attempt, base=1.0, cap=60.0, rng=rng) for _ in range(300)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8  # it really spreads over the whole range
    assert min(delays) < ceiling * 0.2


def test_secondary_wait_doubles_per_repeat_and_stops_at_an_hour() -> None:
    assert [secondary_wait(60.0, n) for n in range(4)] == [60.0, 120.0, 240.0, 480.0]
    assert secondary_wait(60.0, 40) == MAX_WAIT_SECONDS


# --- the Limiter -------------------------------------------------------------------------


def test_limiter_caps_requests_in_flight() -> None:
    t = FakeTime()
    gate = limiter(t, concurrency=3)
    seen: list[int] = []

    async def worker() -> None:
        await gate.acquire()
        seen.append(gate.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        gate.release()

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(10)))

    asyncio.run(main())
    assert max(seen) == 3
    assert gate.max_in_flight == 3
    assert gate.in_flight == 0
    assert t.sleeps == []


def test_limiter_pause_is_shared_by_every_worker() -> None:
    t = FakeTime()
    calls: list[tuple[str, float]] = []
    gate = limiter(t, on_wait=calls)
    started: list[float] = []

    async def worker() -> None:
        await gate.acquire()
        started.append(t.now)
        gate.release()

    async def main() -> None:
        gate.pause(NOW + 60, "secondary rate limit")
        await asyncio.gather(*(worker() for _ in range(4)))

    asyncio.run(main())
    assert started == [NOW + 60] * 4
    assert t.now == NOW + 60  # one shared minute, not four
    assert calls == [("secondary rate limit", 60.0)]
    assert gate.paused_seconds == 60.0


def test_limiter_pause_is_only_ever_extended() -> None:
    t = FakeTime()
    gate = limiter(t)
    gate.pause(NOW + 60, "long")
    gate.pause(NOW + 10, "short")
    assert gate.paused_until == NOW + 60


def test_short_pauses_are_not_announced() -> None:
    t = FakeTime()
    calls: list[tuple[str, float]] = []
    gate = limiter(t, on_wait=calls)
    gate.pause(NOW + 2, "blip")
    assert calls == []


def test_remaining_minus_in_flight_at_zero_pauses_until_reset_plus_margin() -> None:
    t = FakeTime()
    calls: list[tuple[str, float]] = []
    gate = limiter(t, margin=2.0, on_wait=calls)
    gate.observe(state(2, NOW + 30))

    async def main() -> None:
        await gate.acquire()
        await gate.acquire()  # two in flight: the budget of 2 is spoken for
        assert t.sleeps == []
        third = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        await third

    asyncio.run(main())
    assert t.sleeps == [pytest.approx(32.0)]
    assert len(calls) == 1
    assert "primary rate limit" in calls[0][0]


def test_remaining_budget_is_not_paused_while_it_lasts() -> None:
    t = FakeTime()
    gate = limiter(t, concurrency=8)
    gate.observe(state(5, NOW + 30))

    async def main() -> None:
        for _ in range(5):
            await gate.acquire()

    asyncio.run(main())
    assert t.sleeps == []


def test_out_of_order_answers_keep_the_lowest_remaining_of_a_window() -> None:
    gate = limiter(FakeTime())
    gate.observe(state(10, NOW + 30))
    gate.observe(state(12, NOW + 30))  # an older request's answer, arriving late
    assert gate.state() == state(10, NOW + 30)
    gate.observe(state(4999, NOW + 3590))  # a new window
    assert gate.state() == state(4999, NOW + 3590)
    gate.observe(state(3, NOW + 30))  # straggler from the old window
    assert gate.state() == state(4999, NOW + 3590)


def test_points_budget_pauses_when_a_minute_is_spent() -> None:
    t = FakeTime()
    gate = limiter(t, ppm=5)

    async def main() -> None:
        for _ in range(6):
            await gate.acquire()
            gate.release()

    asyncio.run(main())
    assert t.sleeps == [pytest.approx(60.0)]


def test_points_budget_does_not_slow_a_run_below_it() -> None:
    t = FakeTime()
    gate = limiter(t, ppm=5)

    async def main() -> None:
        for _ in range(20):
            await gate.acquire()
            gate.release()
            t.now += 12.0  # exactly 5 per minute

    asyncio.run(main())
    assert t.sleeps == []


def test_secondary_repeats_double_but_concurrent_hits_are_one_episode() -> None:
    t = FakeTime()
    gate = limiter(t)
    assert gate.secondary_hit(t.now, None, 60.0) == 60.0
    gate.pause(t.now + 60.0, "secondary")
    assert gate.secondary_hit(t.now + 0.1, None, 60.0) == 60.0  # same episode, in flight
    t.now += 61.0
    assert gate.secondary_hit(t.now, None, 60.0) == 120.0  # a repeat after the pause
    t.now += 121.0
    gate.success()
    assert gate.secondary_hit(t.now, None, 60.0) == 60.0  # a success in between starts over


def test_secondary_hit_honours_retry_after_and_doubles_it_on_repeats() -> None:
    t = FakeTime()
    gate = limiter(t)
    assert gate.secondary_hit(t.now, 7.0, 60.0) == 7.0
    t.now += 8.0
    assert gate.secondary_hit(t.now, 7.0, 60.0) == 14.0


def test_success_during_a_secondary_pause_does_not_reset_the_growth() -> None:
    t = FakeTime()
    gate = limiter(t)
    assert gate.secondary_hit(t.now, None, 60.0) == 60.0
    t.now += 1.0
    gate.success()  # a request sent before the pause, answered during it
    t.now += 60.0
    assert gate.secondary_hit(t.now, None, 60.0) == 120.0


def test_clamp_reset_allows_a_little_over_an_hour_for_skew_and_rounding() -> None:
    assert clamp_reset(NOW + 3601, NOW) == (NOW + 3601, None)


def test_acquire_cancelled_while_paused_gives_its_slot_back() -> None:
    t = FakeTime()
    gate = limiter(t, concurrency=1)

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    gate._sleep = never

    async def main() -> None:
        gate.pause(NOW + 60, "pause")
        task = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate._sleep = t.sleep
        await asyncio.wait_for(gate.acquire(), timeout=1)

    asyncio.run(main())
    assert gate.in_flight == 1


def test_a_secondary_limit_lowers_what_acquire_lets_through() -> None:
    t = FakeTime()
    gate = limiter(t, concurrency=4)
    order: list[str] = []

    async def main() -> None:
        for _ in range(4):
            await gate.acquire()
        gate.release()  # refused while 3 others were in flight
        gate.secondary_hit(t.now, 0.0, 0.0)
        assert gate.allowance == 2
        for _ in range(3):
            gate.release()
        t.now += 1.0
        await gate.acquire()
        await gate.acquire()
        waiter = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        order.append("blocked" if not waiter.done() else "through")
        gate.release()
        await asyncio.wait_for(waiter, timeout=1)
        order.append("through")

    asyncio.run(main())
    assert order == ["blocked", "through"]
    assert gate.in_flight == 2

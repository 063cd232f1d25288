"""AdaptiveGate: slow start, halving on a secondary-limit episode, the tolerated estimate from
the refusals of one wave, additive increase, and first-come slots."""

from __future__ import annotations

import asyncio

import pytest

from gh_year_end.github.concurrency import PROBE_AFTER_SUCCESSES, SLOW_START, AdaptiveGate


def grow(gate: AdaptiveGate, successes: int) -> None:
    for _ in range(successes):
        gate.succeeded()


def test_slow_start_begins_small_and_doubles_per_window_of_successes() -> None:
    gate = AdaptiveGate(64)
    assert gate.allowance == SLOW_START == 4
    grow(gate, 4)
    assert gate.allowance == 8
    grow(gate, 8)
    assert gate.allowance == 16
    grow(gate, 16 + 32)
    assert gate.allowance == 64
    grow(gate, 1000)
    assert gate.allowance == 64


def test_a_maximum_below_the_slow_start_is_used_at_once() -> None:
    assert AdaptiveGate(2).allowance == 2
    assert AdaptiveGate(64, slow_start=False).allowance == 64


def test_an_episode_halves_once_and_the_rest_of_its_wave_says_nothing_new() -> None:
    gate = AdaptiveGate(64, slow_start=False)
    gate.refused(49, new_episode=True)  # 50 in flight, the first refusal
    assert gate.allowance == 32
    for _ in range(39):  # the others refused in the same wave
        gate.refused(0, new_episode=False)
    assert gate.allowance == 32


def test_growth_stops_below_the_concurrency_an_episode_was_met_at_then_probes_rarely() -> None:
    gate = AdaptiveGate(64, slow_start=False)
    gate.refused(10, new_episode=True)  # 11 in flight: one too many
    assert gate.allowance == 32
    grow(gate, 32)
    assert gate.allowance == 32  # already above what the episode showed: no growth
    gate.refused(10, new_episode=True)
    assert gate.allowance == 16
    gate.refused(10, new_episode=True)
    assert gate.allowance == 8
    grow(gate, 8 + 9)  # 8 → 9 → 10: below the 10 tolerated, one per window
    assert gate.allowance == 10
    grow(gate, PROBE_AFTER_SUCCESSES - 1)
    assert gate.allowance == 10
    gate.succeeded()
    assert gate.allowance == 11


def test_a_refusal_with_few_in_flight_still_leaves_the_halved_allowance_to_grow_back() -> None:
    gate = AdaptiveGate(16, slow_start=False)
    gate.refused(0, new_episode=True)  # concurrency was not the cause
    assert gate.allowance == 8
    grow(gate, PROBE_AFTER_SUCCESSES)
    assert gate.allowance == 9


def test_a_refusal_during_slow_start_ends_it() -> None:
    gate = AdaptiveGate(64)
    grow(gate, 4 + 8)  # 16
    gate.refused(13, new_episode=True)  # met at 14
    assert gate.allowance == 8
    grow(gate, 8)
    assert gate.allowance == 9  # one at a time now, not doubling
    grow(gate, 9 + 10 + 11 + 12)
    assert gate.allowance == 13
    grow(gate, 13)
    assert gate.allowance == 13  # one below the 14 the episode was met at


def test_slots_are_handed_out_first_come_and_never_above_the_allowance() -> None:
    gate = AdaptiveGate(2, slow_start=False)
    order: list[int] = []

    async def worker(n: int) -> None:
        await gate.take()
        order.append(n)
        assert gate.held <= gate.allowance
        await asyncio.sleep(0)
        gate.give()

    async def main() -> None:
        await asyncio.gather(*(worker(n) for n in range(6)))

    asyncio.run(main())
    assert order == list(range(6))
    assert gate.held == 0


def test_a_waiter_cancelled_gives_its_turn_to_the_next() -> None:
    gate = AdaptiveGate(1, slow_start=False)

    async def main() -> None:
        await gate.take()
        first = asyncio.create_task(gate.take())
        second = asyncio.create_task(gate.take())
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        gate.give()
        await asyncio.wait_for(second, timeout=1)
        assert gate.held == 1

    asyncio.run(main())


def test_a_waiter_cancelled_just_before_a_slot_is_given_back_ends_cancelled() -> None:
    # On a stop every worker is cancelled at once: one holding a slot gives it back before the
    # cancelled waiter's handler runs, and _wake has already dropped that (done) waiter.
    gate = AdaptiveGate(1, slow_start=False)

    async def main() -> None:
        await gate.take()
        waiter = asyncio.create_task(gate.take())
        await asyncio.sleep(0)  # it waits
        waiter.cancel()
        gate.give()  # before the waiter's own handler had a turn
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert gate.held == 0
        await asyncio.wait_for(gate.take(), timeout=1)  # the gate still works

    asyncio.run(main())

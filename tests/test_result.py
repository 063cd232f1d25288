"""The outcome of a run and its exit code, decided from counts alone (collect/result.py)."""

from __future__ import annotations

import pytest

from gh_year_end.collect.result import Ending, decide


def end(**changes: object) -> Ending:
    base: dict[str, object] = {
        "units": 12, "complete": 12, "unavailable": 0, "failed": 0, "pending": 0,
    }  # fmt: skip
    base.update(changes)
    return Ending(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        (end(), ("complete", 0)),
        (end(complete=10, unavailable=2), ("complete", 0)),
        (end(units=0, complete=0), ("complete", 0)),  # nothing to collect is not a failure
        (end(complete=0, unavailable=12), ("unreadable", 3)),  # nothing could be read
        (end(complete=11, failed=1), ("incomplete", 3)),
        (end(complete=11, pending=1), ("incomplete", 3)),
        (end(discovered=False, units=0, complete=0), ("incomplete", 3)),
        (end(refused=1), ("incomplete", 3)),  # a listed repository not collected
        (end(already=True), ("already_complete", 0)),
        (end(already=True, complete=11, failed=1), ("already_complete", 3)),
        (end(already=True, complete=0, unavailable=12), ("unreadable", 3)),
        (end(complete=3, pending=9, signal_exit=130), ("interrupted", 130)),
        (end(complete=3, pending=9, signal_exit=129), ("interrupted", 129)),
        (end(cancelled=True, complete=0, pending=12), ("cancelled", 0)),
    ],
    ids=[
        "complete", "complete-with-unavailable", "nothing-to-collect", "nothing-readable",
        "a-failure", "a-pending-unit", "discovery-unfinished", "a-refused-name",
        "already-complete", "already-with-a-failure", "already-unreadable", "sigint", "sighup",
        "cancelled",
    ],
)  # fmt: skip
def test_the_outcome_follows_the_documented_rules(
    ending: Ending, expected: tuple[str, int]
) -> None:
    assert decide(ending) == expected

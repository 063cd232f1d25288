"""What a run's end means: the outcome and the exit code, decided from counts alone (pure).

The rules, in order:

1. declined at the question before starting over → ``cancelled``, 0 (nothing changed);
2. a signal stopped it → ``interrupted``, 130/143/129;
3. units that cannot be read at all — every planned unit permanently unavailable, none
   complete — → ``unreadable``, 3: a token without the needed scopes or SSO authorization must
   not pass a CI job with an empty dataset (an organization with no repositories to collect is
   another matter: nothing to read is complete);
4. units not done (pending, discovery unfinished), failures that are not unavailability,
   repositories refused for their names, or a refresh with units left for ``ghye resume`` →
   ``incomplete`` (``already_complete`` when nothing
   was left to try), 3;
5. otherwise ``complete`` / ``already_complete``, 0 — units recorded unavailable (404, 410,
   451, 403) included, and named in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from gh_year_end.collect.events import Outcome
from gh_year_end.errors import EXIT_INCOMPLETE, EXIT_OK


@dataclass(frozen=True)
class Ending:
    """The facts the outcome is decided from."""

    units: int
    complete: int
    unavailable: int
    failed: int
    pending: int
    refused: int = 0
    discovered: bool = True
    already: bool = False
    cancelled: bool = False
    signal_exit: int | None = None
    refresh_left: int = 0
    """Units a refresh left for the next ``ghye resume`` (a failure that may pass)."""


def decide(end: Ending) -> tuple[Outcome, int]:
    """(outcome, exit code) for ``end`` (the rules in the module docstring)."""
    if end.cancelled:
        return "cancelled", EXIT_OK
    if end.signal_exit is not None:
        return "interrupted", end.signal_exit
    ended = end.discovered and end.pending == 0
    if ended and end.units > 0 and end.complete == 0 and end.failed == 0:
        return "unreadable", EXIT_INCOMPLETE
    if end.already:
        clean = end.failed == 0 and end.refused == 0
        return "already_complete", EXIT_OK if clean else EXIT_INCOMPLETE
    if ended and end.failed == 0 and end.refused == 0 and end.refresh_left == 0:
        return "complete", EXIT_OK
    return "incomplete", EXIT_INCOMPLETE

"""SIGINT/SIGTERM/SIGHUP → a stop event; a second one leaves at once.

The first signal only asks the collector to wind down: no new request starts, pages in flight
commit or are dropped, the checkpoint is saved and the lock released. A second one exits
immediately — the page-commit invariant keeps the checkpoint consistent even then. SIGHUP (the
terminal closed, an ssh session dropped) is handled like SIGTERM, with its own exit code, 129.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Final, NoReturn

from gh_year_end.errors import EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM

_EXIT_CODES: Final = {
    signal.SIGINT: EXIT_SIGINT,
    signal.SIGTERM: EXIT_SIGTERM,
    signal.SIGHUP: EXIT_SIGHUP,
}
_NAMES: Final = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


def _leave_now(code: int) -> NoReturn:
    os._exit(code)


class StopSignal:
    """Turns the first SIGINT/SIGTERM/SIGHUP into ``event``; the second leaves via
    ``hard_exit``."""

    def __init__(
        self,
        on_stop: Callable[[str], None] | None = None,
        hard_exit: Callable[[int], NoReturn] = _leave_now,
    ) -> None:
        self.event = asyncio.Event()
        self.signum: int | None = None
        self._on_stop = on_stop
        self._hard_exit = hard_exit
        self._installed: list[int] = []

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (0 when no signal came)."""
        return _EXIT_CODES.get(signal.Signals(self.signum), 0) if self.signum is not None else 0

    @property
    def name(self) -> str | None:
        """The first signal's name, if one came."""
        return _NAMES.get(signal.Signals(self.signum)) if self.signum is not None else None

    def trigger(self, signum: int) -> None:
        """Handle one signal (also callable directly, e.g. from tests)."""
        if self.signum is not None:
            self._hard_exit(_EXIT_CODES.get(signal.Signals(signum), EXIT_SIGINT))
        self.signum = signum
        self.event.set()
        if self._on_stop is not None:
            self._on_stop(_NAMES.get(signal.Signals(signum), str(signum)))

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route SIGINT, SIGTERM and SIGHUP to :meth:`trigger` on ``loop``.

        A signal the process was started ignoring stays ignored: ``nohup ghye collect`` must
        survive its terminal closing, as it did before ghye handled SIGHUP.
        """
        for signum in _EXIT_CODES:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            loop.add_signal_handler(signum, self.trigger, signum)
            self._installed.append(signum)

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the signals back to their previous handling."""
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed.clear()

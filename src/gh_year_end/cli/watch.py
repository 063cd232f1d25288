"""``ghye status --watch``: the status again every interval until Ctrl+C — a live view on a
terminal, repeated output elsewhere, one JSON object per line with ``--json``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.live import Live

from gh_year_end.cli.render import render_status
from gh_year_end.cli.runtime import Runtime

if TYPE_CHECKING:
    from gh_year_end.manage.status import StatusReport


def watch_status(
    runtime: Runtime, build: Callable[[], StatusReport], *, as_json: bool, interval: float
) -> None:
    """Build and show the status every ``interval`` seconds; return at Ctrl+C (exit 0)."""
    out = runtime.stdout()
    try:
        if as_json:
            while True:
                runtime.write_json(build().to_dict())
                runtime.sleep(interval)
        elif out.is_terminal:
            with Live(render_status(build()), console=out, auto_refresh=False) as live:
                while True:
                    runtime.sleep(interval)
                    live.update(render_status(build()), refresh=True)
        else:
            while True:
                out.print(render_status(build()))
                out.print()
                runtime.sleep(interval)
    except KeyboardInterrupt:
        return

"""The small text formatters every renderer shares: one console line, times, sizes, durations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console
from rich.text import Text


def line_printer(console: Console) -> Callable[..., None]:
    """``line(text, style="")``: one unwrapped, unhighlighted line on ``console``."""

    def line(text: str, style: str = "") -> None:
        console.print(Text(text, style=style), soft_wrap=True)

    return line


def format_duration(seconds: float) -> str:
    """Seconds → ``HH:MM:SS`` (hours keep growing past 99)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def iso(moment: datetime) -> str:
    """``2026-03-01 12:00:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(n: int) -> str:
    """Bytes, human-sized: ``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return f"{n} B"  # pragma: no cover — the loop always returns

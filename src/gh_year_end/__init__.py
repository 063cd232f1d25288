"""ghye: collect a GitHub organization's (or user's) year of activity into JSONL files."""

from __future__ import annotations

from typing import Final

__version__: Final = "0.1.0"

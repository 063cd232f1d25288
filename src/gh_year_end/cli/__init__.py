"""The ghye command line: each command parses, calls one library function, renders its result.

``app`` (:mod:`.app`: error mapping, logging, global options) · ``Runtime`` (:mod:`.runtime`:
what commands take from the outside world) · :mod:`.commands` · :mod:`.render` (pure renderers)
· :mod:`.watch` (``status --watch``) · :mod:`.progress` (the live display and plain lines).
"""

from __future__ import annotations

from gh_year_end.cli.app import app, main
from gh_year_end.cli.render import render_unlock_result
from gh_year_end.cli.runtime import Runtime, locate_config

__all__ = ["Runtime", "app", "locate_config", "main", "render_unlock_result"]

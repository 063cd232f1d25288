"""`make demo`: collect a small fake org offline, with the live display, then show `ghye status`.

Starts the bundled fake GitHub on a free loopback port, writes a config for it under
``data/demo/``, runs ``ghye collect --force`` and ``ghye status`` as a user would, and stops the
server. Nothing leaves 127.0.0.1; the token is a made-up one the fake server accepts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings

DEMO_TOKEN: Final = "demo-token-not-a-secret"  # noqa: S105 — the fake server's made-up token
DEMO_ROOT: Final = Path("data") / "demo"


def demo_config(api_url: str, root: Path) -> str:
    """The YAML config the demo collects with."""
    return f"""\
github:
  api_url: {api_url}
  target: {{mode: org, name: acme}}
  auth: {{token_env: GHYE_DEMO_TOKEN}}
  discovery: {{include_forks: false, include_archived: false, visibility: all}}
  windows: {{year: 2025}}
rate_limit:
  max_concurrency: 4
collection:
  enable: {{pulls: true, issues: true, reviews: true, comments: true, commits: true}}
storage:
  root: {root.resolve()}
"""


def main() -> int:
    """Run the demo; returns the collect's exit code."""
    DEMO_ROOT.mkdir(parents=True, exist_ok=True)
    settings = FakeSettings(owner="acme", repos=12, token=DEMO_TOKEN, latency=0.02)
    with FakeGitHub(settings).start() as server:
        config_path = DEMO_ROOT / "config.yaml"
        config_path.write_text(demo_config(server.base_url, DEMO_ROOT / "data"), encoding="utf-8")
        env = {**os.environ, "GHYE_DEMO_TOKEN": DEMO_TOKEN}
        ghye = [sys.executable, "-m", "gh_year_end"]
        print(f"demo: fake GitHub on {server.base_url}; config {config_path}", flush=True)
        collect = subprocess.run(
            [*ghye, "collect", "--config", str(config_path), "--force"], env=env, check=False
        )
        print(flush=True)
        subprocess.run([*ghye, "status", "--config", str(config_path)], env=env, check=False)
        stats = server.stats()
        print(
            f"\ndemo: the fake server answered {stats['requests']} requests "
            f"(at most {stats['max_inflight']} at once); data under {DEMO_ROOT / 'data'}",
            flush=True,
        )
    return collect.returncode


if __name__ == "__main__":
    raise SystemExit(main())

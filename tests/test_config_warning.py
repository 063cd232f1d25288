"""A gh-year-end config's keys that ghye does not use are named in one warning line when a run
starts — on stderr, also with --json — and the run goes on."""

from __future__ import annotations

from pathlib import Path

import orjson

from clirun import cli
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import TEST_TOKEN, TOKEN_ENV, config_text

ENV = {TOKEN_ENV: TEST_TOKEN}


def _gh_year_end_config(folder: Path, api_url: str) -> Path:
    doc = orjson.loads(config_text(api_url, folder / "data"))
    doc["report"] = {"title": "Year in Review"}
    doc["collection"]["commits"] = {"classify_files": True}
    doc["github"]["discovery"]["activity_filter"] = {"enabled": True}
    path = folder / "config.yaml"
    path.write_bytes(orjson.dumps(doc))
    return path


def test_ignored_gh_year_end_keys_are_named_once_on_stderr_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    with FakeGitHub(FakeSettings(repos=2, token=TEST_TOKEN)).start() as fake:
        config = _gh_year_end_config(tmp_path, fake.base_url)
        ran = cli(["collect", "--json", "--config", str(config)], cwd=tmp_path, environ=ENV)
    assert ran.code == 0, ran.stderr
    assert orjson.loads(ran.stdout)["outcome"] == "complete"
    named = [line for line in ran.stderr.splitlines() if "not used by ghye" in line]
    assert named == [
        "WARNING gh_year_end.config: not used by ghye (gh-year-end keys, accepted): "
        "github.discovery.activity_filter.*, collection.commits.classify_files, report.* "
        "(docs/config.md lists each gh-year-end key and what ghye does with it)"
    ]

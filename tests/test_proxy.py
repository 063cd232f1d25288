"""The API is reached through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY,
ALL_PROXY, NO_PROXY — curl's rules), and directly when it names none."""

from __future__ import annotations

from pathlib import Path

import pytest

from gh_year_end.github.proxy import proxy_for
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
    compare_with_expected,
    ghye_env,
    read_dataset,
    run_ghye,
    target_dir,
    write_config,
)

GITHUB = "https://api.github.com"


def test_no_proxy_variables_mean_a_direct_connection() -> None:
    assert proxy_for(GITHUB, {}) is None


def test_an_https_api_goes_through_https_proxy_and_an_http_one_through_http_proxy() -> None:
    environ = {"HTTPS_PROXY": "http://secure:3128", "HTTP_PROXY": "http://plain:3128"}
    assert proxy_for(GITHUB, environ) == "http://secure:3128"
    assert proxy_for("http://ghe.example.com/api/v3", environ) == "http://plain:3128"


def test_all_proxy_is_the_fallback_and_a_bare_host_gets_http_scheme() -> None:
    assert proxy_for(GITHUB, {"ALL_PROXY": "proxy.corp:8080"}) == "http://proxy.corp:8080"
    assert proxy_for(GITHUB, {"ALL_PROXY": "x:1", "HTTPS_PROXY": "http://y:2"}) == "http://y:2"


def test_a_lowercase_variable_wins_over_its_uppercase_twin() -> None:
    environ = {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"}
    assert proxy_for(GITHUB, environ) == "http://lower:1"


@pytest.mark.parametrize(
    ("no_proxy", "bypassed"),
    [
        ("*", True),
        ("api.github.com", True),
        ("github.com", True),  # a name covers its subdomains
        (".github.com", True),
        ("other.com, github.com:443", True),
        ("api.github.com:8443", False),  # another port
        ("https://api.github.com", True),
        ("hub.com", False),  # not a suffix at a dot
        ("api.github.co", False),
        ("", False),
    ],
)
def test_no_proxy_names_hosts_reached_directly(no_proxy: str, bypassed: bool) -> None:
    environ = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": no_proxy}
    assert (proxy_for(GITHUB, environ) is None) is bypassed


def test_no_proxy_matches_addresses_and_networks() -> None:
    environ = {"HTTP_PROXY": "http://proxy:3128", "no_proxy": "10.0.0.0/8,::1,172.16.0.9:8080"}
    assert proxy_for("http://10.1.2.3:8080/api/v3", environ) is None
    assert proxy_for("http://[::1]:8080/api/v3", environ) is None
    assert proxy_for("http://172.16.0.9:8080/api/v3", environ) is None
    assert proxy_for("http://172.16.0.9:9090/api/v3", environ) == "http://proxy:3128"
    assert proxy_for("http://192.168.1.1/api/v3", environ) == "http://proxy:3128"


def test_a_collect_goes_through_the_proxy_in_http_proxy(tmp_path: Path) -> None:
    # The API's host does not exist: only a request sent to the proxy (the fake, which serves
    # absolute-form targets as a forwarding proxy would) can reach it.
    api_url = "http://github.proxied.invalid"
    settings = FakeSettings(
        repos=2, pulls=8, issues=5, issue_comments=6, review_comments=4, commits=10,
        forks=(), archived=(), link_base_url=api_url, token=TEST_TOKEN,
    )  # fmt: skip
    with FakeGitHub(settings).start() as fake:
        config = write_config(tmp_path, api_url, max_concurrency=2)
        result = run_ghye(
            ["--quiet", "collect", "--config", str(config)],
            env=ghye_env(HTTP_PROXY=fake.base_url),
        )
        stats = fake.stats()
        expected = fake.expected(SINCE, UNTIL)
    assert result.returncode == 0, result.stderr
    assert set(stats["hosts"]) == {"github.proxied.invalid"}
    dataset = read_dataset(target_dir(tmp_path / "data"))
    assert compare_with_expected(dataset, expected) == []

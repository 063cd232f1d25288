"""A fake GitHub REST API over real HTTP/1.1 on 127.0.0.1, for the tests, the demo and benchmarks.

The server is written directly on asyncio streams (keep-alive, Content-Length bodies) so that it
can misbehave the way networks and servers do: reset a connection mid-request, promise more body
than it sends, answer invalid JSON, stall, drip the body a byte at a time, answer 200 with nothing
in it, page in circles. It runs in a background thread with its own event loop::

    with FakeGitHub(FakeSettings(owner="acme", repos=12)) as fake:
        httpx.get(fake.url("/orgs/acme/repos"), headers={"Authorization": "Bearer fake-token"})
        fake.stats()        # what it was asked, what it answered
        fake.expected(since, until)   # the ids a correct collection of the window holds
        fake.inject("empty", match="/pulls")   # the next matching data request answers 200 + ""

or from a shell (prints one "fake GitHub listening on <base_url> — …" line, serves until
SIGINT/SIGTERM; ``--help`` lists every setting with its default, and every fault kind)::

    python -m gh_year_end.testing.fakegithub --owner acme --repos 12 --prefix /api/v3

One job per module:

``settings``  what it serves and how it behaves (each field with its help text)
``cli``       the command line, generated from the settings
``server``    :class:`FakeGitHub`: lifecycle, and the pipeline every request goes through
``wire``      HTTP/1.1: parsing requests, writing answers (whole, or reset/truncated/trickled)
``limits``    the primary rate window and the secondary limit on requests in flight
``faults``    fault kinds, which request gets which, what each does to an answer
``api``       routes → answers, GitHub's REST semantics
``paging``    pages of a listing and their Link headers
``control``   the counters, the request log and the ``/_fake/*`` routes
``data``      the dataset: repos, items built lazily, the expected ids of a window
``repos``     one repo as listed, and its items as integer columns with their queries
``generate``  a repo's items, generated from the seed
``records``   GitHub-shaped JSON records, rendered per page (with ``render``, ``skeletons``)
"""

from gh_year_end.testing.fakegithub.api import EMPTY_REPO_MESSAGE, FORBIDDEN_MESSAGE
from gh_year_end.testing.fakegithub.cli import main, settings_from_args
from gh_year_end.testing.fakegithub.data import FakeData, Visibility, parse_moment
from gh_year_end.testing.fakegithub.faults import (
    DEFAULT_FAULT_KINDS,
    FAULT_KINDS,
    FAULT_MEANINGS,
)
from gh_year_end.testing.fakegithub.limits import SECONDARY_MESSAGE
from gh_year_end.testing.fakegithub.server import FakeGitHub
from gh_year_end.testing.fakegithub.settings import DataSpec, FakeSettings
from gh_year_end.testing.fakegithub.wire import DOCS_URL

__all__ = [
    "DEFAULT_FAULT_KINDS",
    "DOCS_URL",
    "EMPTY_REPO_MESSAGE",
    "FAULT_KINDS",
    "FAULT_MEANINGS",
    "FORBIDDEN_MESSAGE",
    "SECONDARY_MESSAGE",
    "DataSpec",
    "FakeData",
    "FakeGitHub",
    "FakeSettings",
    "Visibility",
    "main",
    "parse_moment",
    "settings_from_args",
]

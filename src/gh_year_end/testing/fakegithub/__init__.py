"""A fake GitHub REST and GraphQL API over real HTTP/1.1 on 127.0.0.1, for the tests, the demo
and benchmarks.

The server is written directly on asyncio streams (keep-alive, Content-Length bodies) so that it
can misbehave the way networks and servers do: reset a connection mid-request, promise more body
than it sends, answer invalid JSON, stall, drip the body a byte at a time, answer 200 with nothing
in it, page in circles. It runs in a background thread with its own event loop::

    with FakeGitHub(FakeSettings(owner="acme", repos=12)) as fake:
        httpx.get(fake.url("/orgs/acme/repos"), headers={"Authorization": "Bearer fake-token"})
        fake.stats()        # what it was asked, what it answered
        fake.expected(since, until)   # the ids a correct collection of the window holds
        fake.inject("empty", match="/pulls")   # the next matching data request answers 200 + ""
        fake.mutate(seed=1, edits=2, adds=1)   # the data changes while served: what changed

or from a shell (prints one "fake GitHub listening on <base_url> — …" line, serves until
SIGINT/SIGTERM; ``--help`` lists every setting with its default, and every fault kind)::

    python -m gh_year_end.testing.fakegithub --owner acme --repos 12 --prefix /api/v3

GraphQL: ``POST /graphql`` (with ``prefix="/api/v3"``, GHES's ``POST /api/graphql``), executed
by graphql-core against ``schema.graphql`` — a faithful subset of GitHub's published schema
(``tests/vendor/github-graphql-schema``; a test checks every type, field and argument) — over the
same data the REST side serves: a review seen through GraphQL is the review REST lists, field
for field and in the same order (``fullDatabaseId`` = id, ``id`` = node_id, ``url`` =
html_url, ``commit.oid`` = commit_id; some reviews are a bot's: REST ``dependabot[bot]`` of
type "Bot", GraphQL ``Bot`` "dependabot"). It models GitHub's answers: 200 with ``errors``
(NOT_FOUND, FORBIDDEN, EXCESSIVE_PAGINATION, MISSING_PAGINATION_BOUNDARIES,
MAX_NODE_LIMIT_EXCEEDED, RATE_LIMITED) beside partial ``data``; the documented cost (requests
for each connection / 100, rounded, at least 1) taken from a "graphql" window of its own
(``graphql_rate_limit`` points per ``rate_window``, ``x-ratelimit-resource: graphql``);
``rateLimit`` and ``dryRun``; ``search(type: ISSUE) { issueCount }`` for ``repo:``, ``is:pr`` /
``is:issue``, ``created:`` / ``updated:`` comparisons, counted by :meth:`FakeData.expected`'s
window rule; the default branch's ``history(since, until, first, after)`` — ``totalCount`` and
the commits REST's /commits lists for the window, newest first, with ``committedDate``,
``additions``, ``deletions``, ``changedFilesIfAvailable``; a repository's health (licence, code
of conduct, security policy, topics, languages, rulesets, ``object(expression: "HEAD:path")``
trees, and — with admin rights, ``admin_repos`` — the branch protection rule and
``hasVulnerabilityAlertsEnabled``, refused FORBIDDEN without them; :mod:`.graphql_health`,
:mod:`.health`); a 502 past
``graphql_heavy_nodes`` (GitHub's timeout); the secondary limit and every fault kind as for REST.
It does not model mutations, subscriptions, ``node``/``viewer``, anything outside its schema
(refused at validation), search results (counts only), or GitHub's exact wording of parse and
validation errors — see :mod:`.graphql_api` for the details. ``graphql=False`` makes the path
answer 404, as a GitHub without GraphQL. Stats count GraphQL requests as
``by_endpoint["graphql"]`` and the points they spent as ``graphql_points``; each log entry of a
request with a body carries ``body_digest`` (GraphQL queries all share the target /graphql).

Accounts and a GitHub App: ``tokens`` adds tokens of more accounts (token → login); GitHub's
limits are per account, so each account has its own "core" and "graphql" windows and its own
secondary limit, tokens of one login share them, and every answer carries the x-ratelimit-*
headers of the account that sent it; ``GET /user`` answers the token's account. A GitHub App
(``app_id``, ``app_public_key``, ``app_installation_id``, ``app_token_lifetime``) is
authenticated by RS256 JWTs verified as GitHub does, with GitHub's refusals; it finds its
installation on the owner and exchanges JWTs for installation tokens that expire and share the
installation's budget (``fake.installation_tokens()`` lists them, for leak checks). See
:mod:`.accounts` and :mod:`.apps`.

Conditional requests and changing data: every 200 of a REST data route carries an ``ETag``
and a GET whose ``If-None-Match`` matches it is answered 304, spending no "core" budget
(``stats()["not_modified"]``, ``["core_spent"]``) — see :mod:`.etags`; ``fake.mutate(...)``
(``POST /_fake/mutate``) edits, adds and deletes items and adds repos at the clock's now, every
list, count, GraphQL answer, ETag and ``expected`` following — see :mod:`.mutate`.

Admin rights: the primary token's account administers the repos of ``admin_repos`` (no other
account any repo): REST repository records carry the caller's ``permissions`` (``admin`` true
there) and, to an admin, ``security_and_analysis``. ``expected(..., extra=("repo_health",
"commit_stats"))`` adds what GraphQL alone collects to each unit.

One job per module:

``settings``  what it serves and how it behaves (each field with its help text)
``cli``       the command line, generated from the settings
``server``    :class:`FakeGitHub`: lifecycle, and the pipeline every request goes through
``wire``      HTTP/1.1: parsing requests, writing answers (whole, or reset/truncated/trickled)
``accounts``  who a token belongs to: user accounts, an App's installation, the anonymous
``apps``      the GitHub App: JWT verification, installation, installation tokens that expire
``limits``    per account: the primary rate windows (REST "core", "graphql"), the secondary limit
``faults``    fault kinds, which request gets which, what each does to an answer
``api``       routes → answers, GitHub's REST semantics
``graphql_api`` POST /graphql → answers, GitHub's GraphQL semantics (schema.graphql, resolvers)
``graphql_cost`` a query's points and nodes, by GitHub's documented rules, before it runs
``graphql_health`` the GraphQL health fields of a repository, admin rights included
``search``    issue-search qualifiers → counts
``paging``    pages of a listing and their Link headers
``etags``     conditional requests: ETags on REST answers, 304s that give their budget back
``control``   the counters, the request log and the ``/_fake/*`` routes
``mutate``    data that changes while served: what to change, and the summary of the changes
``changes``   one repo's edits, adds and deletes, each as GitHub makes it
``data``      the dataset: repos, items built lazily, the expected ids of a window
``repos``     one repo as listed, and its items as integer columns with their queries
``generate``  a repo's items, generated from the seed
``health``    a repo's health (branch, licence, trees, protection, …), drawn from the seed
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

"""GitHub's REST semantics over the fake's data: a route → its answer.

Pure: no I/O and no policy (auth, limits and faults are the server's). Every list answer is a
page (:mod:`.paging`) of rows filtered and sorted as GitHub would, each row rendered by
:class:`.records.Records` only when its page is served.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import unquote

from gh_year_end.testing.fakegithub import skeletons
from gh_year_end.testing.fakegithub.accounts import (
    Account,
    Accounts,
    has_admin_rights,
    sees_private,
)
from gh_year_end.testing.fakegithub.data import TOKEN_USER_LOGIN, FakeData, parse_moment
from gh_year_end.testing.fakegithub.paging import page
from gh_year_end.testing.fakegithub.records import RecordBuilder, Records
from gh_year_end.testing.fakegithub.repos import RepoData, RepoInfo
from gh_year_end.testing.fakegithub.wire import (
    DOCS_URL,
    Request,
    Response,
    error_response,
    json_response,
    not_found,
)

FORBIDDEN_MESSAGE: Final = "Resource not accessible by integration"
EMPTY_REPO_MESSAGE: Final = "Git Repository is empty."
_ROWS_CACHE_SIZE: Final = 256


class InvalidParamError(Exception):
    """A query parameter GitHub would refuse with 422."""


def _choice(params: Mapping[str, str], key: str, default: str, options: Sequence[str]) -> str:
    value = params.get(key, default) or default
    if value not in options:
        raise InvalidParamError(f"{key} must be one of {', '.join(options)}, got {value!r}")
    return value


def _moment(params: Mapping[str, str], key: str) -> float | None:
    value = params.get(key)
    if not value:
        return None
    try:
        return parse_moment(value).timestamp()
    except ValueError:
        raise InvalidParamError(f"{key} {value!r} is not a valid ISO 8601 timestamp") from None


class Api:
    """GitHub's REST semantics over :class:`FakeData`."""

    def __init__(
        self, data: FakeData, records: Records, link_base: str, accounts: Accounts | None = None
    ) -> None:
        self.data = data
        self.records = records
        self.link_base = link_base
        self.spec = data.spec
        self.accounts = accounts
        self._rows: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._generation = data.generation  # the data's, when _rows was filled

    def handle(self, req: Request) -> Response:
        """Answer one authenticated, admitted GET."""
        if req.method != "GET":
            return not_found()
        parts = [unquote(p) for p in req.path.strip("/").split("/")] if req.path.strip("/") else []
        try:
            return self._route(req, parts)
        except InvalidParamError as exc:
            return error_response(
                422, "Validation Failed", errors=[{"message": str(exc), "code": "invalid"}]
            )

    def _route(self, req: Request, parts: list[str]) -> Response:
        spec = self.spec
        owner = spec.owner.lower()
        caller = req.caller
        match parts:
            case ["user"] | ["user", "repos"] if caller is not None and (
                caller.kind == "installation"
            ):
                return _integration_refused(parts)
            case ["user"] if caller is not None and not caller.primary:
                return json_response(200, self._other(caller), endpoint="user")
            case ["user"]:
                return json_response(200, self._account(token=True), endpoint="user")
            case ["user", "repos"] if caller is not None and not caller.primary:
                # Another account: a member of the org (it lists the org's repos); in user mode
                # it owns nothing and collaborates on nothing.
                if spec.mode == "user":
                    return json_response(200, [], endpoint="repos_list")
                return self._user_repos(req)
            case ["user", "repos"]:
                return self._user_repos(req)
            case ["installation", "repositories"]:
                return self._installation_repos(req)
            case ["user", uid, "repos"] if uid.isdigit():
                if int(uid) != self.data.owner_id:
                    return json_response(200, [], endpoint="repos_list")
                return self._public_repos(req, f"/user/{uid}/repos")
            case ["users", login]:
                return self._user(login)
            case ["users", login, "repos"]:
                if login.lower() == owner:
                    return self._public_repos(req, f"/user/{self.data.owner_id}/repos")
                if login.lower() == TOKEN_USER_LOGIN and spec.mode == "org":
                    return json_response(200, [], endpoint="repos_list")
                if self._known_user(login) is not None:
                    return json_response(200, [], endpoint="repos_list")
                return not_found("repos_list")
            case ["orgs", org] if spec.mode == "org" and org.lower() == owner:
                return json_response(200, self._org(), endpoint="orgs")
            case ["orgs", org, "repos"] if spec.mode == "org" and org.lower() == owner:
                return self._org_repos(req)
            case ["organizations", oid, "repos"] if spec.mode == "org" and oid == str(
                self.data.owner_id
            ):
                return self._org_repos(req)
            case ["repos", o, r, *rest]:
                return self._repo(req, self.data.find(o, r), rest)
            case ["repositories", rid, *rest] if rid.isdigit():
                return self._repo(req, self.data.find_id(int(rid)), rest)
        return not_found()

    # --- accounts ---------------------------------------------------------------------------

    def _account(self, *, token: bool) -> dict[str, Any]:
        base = self.records.token_user() if token else self.records.owner()
        public = sum(1 for r in self.data.repos if not r.private)
        return {
            **base,
            "name": base["login"].title(),
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "bio": None,
            "public_repos": public if base["id"] == self.data.owner_id else 0,
            "followers": 0,
            "following": 0,
            "created_at": "2015-05-05T10:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _user(self, login: str) -> Response:
        if login.lower() == self.spec.owner.lower():
            return json_response(200, self._account(token=False), endpoint="users")
        if login.lower() == TOKEN_USER_LOGIN:
            return json_response(200, self._account(token=True), endpoint="users")
        other = self._known_user(login)
        if other is not None:
            return json_response(200, self._other(other), endpoint="users")
        return not_found("users")

    def _known_user(self, login: str) -> Account | None:
        """A user account of ``tokens`` other than the primary (which the cases above know)."""
        found = self.accounts.user(login) if self.accounts is not None else None
        return found if found is not None and not found.primary else None

    def _other(self, account: Account) -> dict[str, Any]:
        """A user account of ``tokens`` as GET /user (or /users/{login}) shows it."""
        base = skeletons.account(
            self.records.api, self.records.html, account.login, account.id, "User"
        )
        return {
            **base,
            "name": account.login.title(),
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "bio": None,
            "public_repos": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2016-06-06T10:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _org(self) -> dict[str, Any]:
        o = self.records.owner()
        url = f"{self.records.api}/orgs/{o['login']}"
        return {
            "login": o["login"],
            "id": o["id"],
            "node_id": o["node_id"],
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": o["avatar_url"],
            "description": "A fake organization",
            "name": o["login"].title(),
            "html_url": o["html_url"],
            "public_repos": sum(1 for r in self.data.repos if not r.private),
            "total_private_repos": sum(1 for r in self.data.repos if r.private),
            "owned_private_repos": sum(1 for r in self.data.repos if r.private),
            "created_at": "2015-05-05T10:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "type": "Organization",
        }

    # --- repository listings -----------------------------------------------------------------

    def _listing(
        self, req: Request, repos: list[RepoInfo], default_sort: str, path: str
    ) -> Response:
        sort = _choice(
            req.params, "sort", default_sort, ("created", "updated", "pushed", "full_name")
        )
        direction = _choice(
            req.params, "direction", "asc" if sort == "full_name" else "desc", ("asc", "desc")
        )
        keys: dict[str, Callable[[RepoInfo], Any]] = {
            "created": lambda r: (r.created, r.id),
            "updated": lambda r: (r.pushed, r.id),
            "pushed": lambda r: (r.pushed, r.id),
            "full_name": lambda r: r.full_name.lower(),
        }
        rows = sorted(repos, key=keys[sort], reverse=direction == "desc")
        return self._page(req, rows, self._repository_json(req), path, "repos_list")

    def _repository_json(self, req: Request) -> Callable[[RepoInfo], str]:
        """A repo's listing record as ``req``'s caller sees it (its rights on the repo)."""
        privileged = has_admin_rights(req.caller)
        return lambda info: self.records.repository_json(info, privileged=privileged)

    def _org_repos(self, req: Request) -> Response:
        kind = _choice(
            req.params, "type", "all", ("all", "public", "private", "forks", "sources", "member")
        )
        keep: dict[str, Callable[[RepoInfo], bool]] = {
            "public": lambda r: not r.private,
            "private": lambda r: r.private,
            "forks": lambda r: r.fork,
            "sources": lambda r: not r.fork,
        }
        test = keep.get(kind, _any_repo)
        repos = [r for r in self.data.repos if test(r)]
        return self._listing(req, repos, "created", f"/organizations/{self.data.owner_id}/repos")

    def _public_repos(self, req: Request, path: str) -> Response:
        _choice(req.params, "type", "owner", ("all", "owner", "member"))
        repos = [r for r in self.data.repos if not r.private]
        return self._listing(req, repos, "full_name", path)

    def _installation_repos(self, req: Request) -> Response:
        """GET /installation/repositories: an installation token's repos (all of the owner's:
        the installation's selection is "all"), a page of them in GitHub's envelope."""
        if req.caller is not None and req.caller.kind != "installation":
            return error_response(
                403,
                "You must authenticate with an installation access token in order to list "
                "repositories for an installation.",
                endpoint="repos_list",
            )
        repos = sorted(self.data.repos, key=lambda r: r.full_name.lower())
        listed = self._page(
            req, repos, self._repository_json(req), "/installation/repositories", "repos_list"
        )
        head = f'{{"total_count":{len(repos)},"repository_selection":"all","repositories":'
        listed.body = head.encode() + listed.body + b"}"
        return listed

    def _user_repos(self, req: Request) -> Response:
        visibility = _choice(req.params, "visibility", "all", ("all", "public", "private"))
        kind = _choice(req.params, "type", "all", ("all", "owner", "public", "private", "member"))
        affiliation = set(
            req.params.get("affiliation", "owner,collaborator,organization_member").split(",")
        )
        wanted = "owner" if self.spec.mode == "user" else "organization_member"
        repos = list(self.data.repos) if wanted in affiliation else []
        if kind in ("public", "private"):
            visibility = kind
        if visibility != "all":
            repos = [r for r in repos if r.private == (visibility == "private")]
        return self._listing(req, repos, "full_name", "/user/repos")

    # --- one repository ----------------------------------------------------------------------

    def _repo(self, req: Request, info: RepoInfo | None, rest: list[str]) -> Response:
        name = _endpoint_name(rest)
        if info is None or info.status == 404:
            return not_found(name)
        if info.private and not sees_private(req.caller, self.spec.mode):
            return not_found(name)  # GitHub does not tell a private repo from a missing one
        if info.status == 451:
            return error_response(
                451,
                "Repository access blocked",
                endpoint=name,
                block={
                    "reason": "dmca",
                    "created_at": "2025-02-03T04:05:06Z",
                    "html_url": DOCS_URL,
                },
            )
        if not rest:
            record = self.records.repository(info, privileged=has_admin_rights(req.caller))
            return json_response(200, record, endpoint="repo")
        if info.status == 403:
            return error_response(403, FORBIDDEN_MESSAGE, endpoint=name)
        d = self.data.repo(info)
        rec = self.records
        p = req.params
        path = f"/repositories/{info.id}/{'/'.join(rest)}"
        key: tuple[Any, ...]
        match rest:
            case ["pulls"]:
                state = _choice(p, "state", "open", ("open", "closed", "all"))
                sort = _choice(
                    p, "sort", "created", ("created", "updated", "popularity", "long-running")
                )
                desc = _choice(
                    p, "direction", "desc" if sort == "created" else "asc", ("asc", "desc")
                )
                key = (info.index, "pulls", state, sort == "updated", desc)
                rows = self._cached(key, lambda: d.pulls(state, sort, desc == "desc"))
                return self._page(req, rows, _bind(rec.pull, info, d), path, name)
            case ["pulls", number] if number.isdigit():
                row = d.pull_row(int(number))
                if row is None:
                    return not_found(name)
                return Response(200, rec.pull(info, d, row).encode(), endpoint=name)
            case ["issues"]:
                state = _choice(p, "state", "open", ("open", "closed", "all"))
                sort = _choice(p, "sort", "created", ("created", "updated", "comments"))
                desc = _choice(p, "direction", "desc", ("asc", "desc"))
                since = _moment(p, "since")
                key = (info.index, "issues", state, sort, desc, since)
                rows = self._cached(key, lambda: d.issues(state, since, sort, desc == "desc"))
                return self._page(req, rows, _bind(rec.issue, info, d), path, name)
            case ["issues", "comments"] | ["pulls", "comments"]:
                kind: Literal["ic", "rc"] = "ic" if rest[0] == "issues" else "rc"
                sort = _choice(p, "sort", "created", ("created", "updated"))
                # as GitHub: direction is ignored without sort; the default order is oldest first
                desc = _choice(p, "direction", "asc", ("asc", "desc")) if "sort" in p else "asc"
                since = _moment(p, "since")
                key = (info.index, kind, sort, desc, since)
                rows = self._cached(key, lambda: d.comments(kind, since, sort, desc == "desc"))
                build = rec.issue_comment if kind == "ic" else rec.review_comment
                return self._page(req, rows, _bind(build, info, d), path, name)
            case ["pulls", number, "reviews"] if number.isdigit():
                found = d.reviews(int(number))
                if found is None:
                    return not_found(name)
                return self._page(req, found, _bind(rec.review, info, d), path, name)
            case ["commits"]:
                if info.empty:
                    return error_response(409, EMPTY_REPO_MESSAGE, endpoint=name)
                since, until = _moment(p, "since"), _moment(p, "until")
                key = (info.index, "commits", since, until)
                rows = self._cached(key, lambda: d.commits(since, until))
                return self._page(req, rows, _bind(rec.commit, info, d), path, name)
        return not_found(name)

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], list[int]]) -> list[int]:
        """Filtered row lists per query: every page of one listing filters the same way (until
        a mutation changes the data: then every list is made anew)."""
        if self._generation != self.data.generation:
            self._rows.clear()
            self._generation = self.data.generation
        found = self._rows.get(key)
        if found is not None:
            self._rows.move_to_end(key)
            return found
        found = compute()
        self._rows[key] = found
        if len(self._rows) > _ROWS_CACHE_SIZE:
            self._rows.popitem(last=False)
        return found

    def _page(
        self, req: Request, rows: Sequence[Any], build: Callable[[Any], str], path: str, name: str
    ) -> Response:
        return page(req, rows, build, link_base=self.link_base, path=path, endpoint=name)


def _any_repo(_info: RepoInfo) -> bool:
    return True


def _integration_refused(parts: Sequence[str]) -> Response:
    """GitHub's answer to an installation token on a route for users only."""
    anchor = (
        "get-the-authenticated-user"
        if parts == ["user"]
        else ("list-repositories-for-the-authenticated-user")
    )
    page = "users/users" if parts == ["user"] else "repos/repos"
    body = {
        "message": FORBIDDEN_MESSAGE,
        "documentation_url": f"{DOCS_URL}/{page}#{anchor}",
        "status": "403",
    }
    return json_response(403, body, endpoint="user" if parts == ["user"] else "repos_list")


def _bind(build: RecordBuilder, info: RepoInfo, d: RepoData) -> Callable[[int], str]:
    return lambda row: build(info, d, row)


def _endpoint_name(rest: Sequence[str]) -> str:
    match rest:
        case []:
            return "repo"
        case ["pulls"]:
            return "pulls"
        case ["pulls", "comments"]:
            return "review_comments"
        case ["pulls", _n]:
            return "pull"
        case ["issues"]:
            return "issues"
        case ["issues", "comments"]:
            return "issue_comments"
        case ["pulls", _n, "reviews"]:
            return "reviews"
        case ["commits"]:
            return "commits"
    return "unknown"

"""A small fake Hugging Face Hub HTTP server for tests (no network needed).

It keeps repositories in memory and implements what `push_to_hub` (upload in "regular" mode: file contents inline
in the commit body) and `from_pretrained` / `hf_hub_download` / `snapshot_download` need from huggingface_hub:

- `POST /api/repos/create`, `POST /api/validate-yaml`, `GET /api/whoami-v2`
- `GET /api/{type}s/{repo}` and `GET /api/{type}s/{repo}/revision/{rev}` (repository info with `siblings`)
- `GET /api/{type}s/{repo}/tree/{rev}[/{path}]` (file listing)
- `POST /api/{type}s/{repo}/paths-info/{rev}`
- `POST /api/{type}s/{repo}/preupload/{rev}` (always `uploadMode: "regular"`)
- `POST /api/{type}s/{repo}/commit/{rev}` (NDJSON body: a header line, then `file` lines with base64 contents)
- `HEAD` / `GET /{repo}/resolve/{rev}/{path}` (and `/{type}s/{repo}/resolve/...` for datasets and spaces)

Every request that matches no route answers 404 and is recorded in `FakeHub.unhandled`, so a test can show
which endpoint a new huggingface_hub release started to call. Only one branch exists (`main`); a commit id
works as a revision too.

`HF_ENDPOINT` must be set before huggingface_hub is imported, so code that talks to the server normally runs in
a subprocess whose environment comes from [`FakeHub.environment`].

```python
>>> with FakeHub() as hub:  # doctest: +SKIP
...     subprocess.run([sys.executable, "push.py"], env=hub.environment(tmp_path / "hf_home"), check=True)
...     sorted(hub.files("user/repo"))
```
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

_REPO_TYPES = ("model", "dataset", "space")


def _git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class FakeRepo:
    """One repository: the files at the head of `main` and the list of commit ids (oldest first)."""

    repo_id: str
    repo_type: str = "model"
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    snapshots: dict[str, dict[str, bytes]] = field(default_factory=dict)

    @property
    def head(self) -> str:
        return self.commits[-1] if self.commits else "0" * 40

    def files_at(self, revision: str) -> dict[str, bytes] | None:
        if revision in ("main", self.head):
            return self.files
        return self.snapshots.get(revision)


class FakeHub:
    """The server. Use it as a context manager; `endpoint` is its base URL (`http://127.0.0.1:<port>`).

    Attributes:
        repos (`dict[str, FakeRepo]`): the repositories, keyed `"{type}:{owner/name}"`.
        requests (`list[tuple[str, str]]`): every request as `(method, path)`.
        unhandled (`list[tuple[str, str]]`): requests that matched no route.
    """

    def __init__(self, user: str = "user") -> None:
        self.user = user
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakehub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Hub is not running; use it as a context manager or call start().")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def environment(self, hf_home: str | os.PathLike, base: dict[str, str] | None = None) -> dict[str, str]:
        """A process environment pointing huggingface_hub at this server with a dummy token and its own cache."""
        env = dict(os.environ if base is None else base)
        for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_MODULES_CACHE", "HF_TOKEN_PATH"):
            env.pop(name, None)
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_HUB_OFFLINE="0",
            TRANSFORMERS_OFFLINE="0",
            HF_TOKEN="dummy",
            HF_HOME=str(Path(hf_home)),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_XET="1",
            HF_HUB_ETAG_TIMEOUT="30",
            HF_HUB_DOWNLOAD_TIMEOUT="30",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    # ------------------------------------------------------------------ inspection
    def repo(self, repo_id: str, repo_type: str = "model") -> FakeRepo | None:
        return self.repos.get(f"{repo_type}:{repo_id}")

    def files(self, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
        """The files at the head of `main` (a copy); empty if the repository does not exist."""
        repo = self.repo(repo_id, repo_type)
        return dict(repo.files) if repo is not None else {}

    # ------------------------------------------------------------------ state changes (called by the handler)
    def _create(self, repo_id: str, repo_type: str) -> tuple[FakeRepo, bool]:
        with self._lock:
            key = f"{repo_type}:{repo_id}"
            if key in self.repos:
                return self.repos[key], False
            repo = FakeRepo(repo_id, repo_type)
            self.repos[key] = repo
            self._commit(repo, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}, [], "initial commit")
            return repo, True

    def _commit(self, repo: FakeRepo, added: dict[str, bytes], deleted: list[str], summary: str) -> str:
        files = dict(repo.files)
        files.update(added)
        for path in deleted:
            if path.endswith("/"):
                files = {name: data for name, data in files.items() if not name.startswith(path)}
            else:
                files.pop(path, None)
        digest = hashlib.sha1(repo.head.encode() + summary.encode())
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name])
        commit = digest.hexdigest()
        repo.files = files
        repo.commits.append(commit)
        repo.snapshots[commit] = files
        return commit


_REPO = r"(?P<repo>[^/]+/[^/]+|[^/]+)"


class _Handler(BaseHTTPRequestHandler):
    fake_hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # route the server's access log to logging
        logger.debug("fakehub: " + format, *args)

    # ------------------------------------------------------------------ helpers
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def _not_found(self) -> None:
        self.fake_hub.unhandled.append((self.command, self.path))
        logger.warning("fakehub: no route for %s %s", self.command, self.path)
        self._json(404, {"error": f"fake hub: no route for {self.command} {self.path}"})

    def _lookup(self, repo_type: str, repo_id: str) -> FakeRepo | None:
        repo = self.fake_hub.repo(repo_id, repo_type)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
        return repo

    def _repo_info(self, repo: FakeRepo, revision: str) -> None:
        files = repo.files_at(revision)
        if files is None:
            self._error(404, "RevisionNotFound", f"Revision {revision} not found")
            return
        sha = repo.head if revision == "main" else revision
        self._json(
            200,
            {
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": sha,
                "private": False,
                "disabled": False,
                "gated": False,
                "tags": [],
                "downloads": 0,
                "likes": 0,
                "lastModified": "2026-01-01T00:00:00.000Z",
                "createdAt": "2026-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": name, "size": len(data)} for name, data in sorted(files.items())],
            },
        )

    # ------------------------------------------------------------------ routes
    def do_HEAD(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path = unquote(urlsplit(self.path).path)
        self.fake_hub.requests.append((self.command, path))
        body = self._body() if self.command in ("POST", "PUT") else b""
        method = self.command
        types = "|".join(f"{t}s" for t in _REPO_TYPES)

        if method == "POST" and path == "/api/repos/create":
            payload = json.loads(body or b"{}")
            repo_type = payload.get("type") or "model"
            name = payload["name"]
            repo_id = f"{payload['organization']}/{name}" if payload.get("organization") else name
            if "/" not in repo_id:
                repo_id = f"{self.fake_hub.user}/{repo_id}"
            _, created = self.fake_hub._create(repo_id, repo_type)
            url = f"{self.fake_hub.endpoint}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
            if not created:
                self._json(409, {"error": "You already created this repo", "url": url})
                return
            self._json(200, {"url": url, "name": repo_id, "id": repo_id})
            return
        if method == "POST" and path == "/api/validate-yaml":
            self._json(200, {"errors": [], "warnings": []})
            return
        if method == "GET" and path == "/api/whoami-v2":
            self._json(200, {"type": "user", "name": self.fake_hub.user, "orgs": [],
                             "auth": {"accessToken": {"role": "write", "displayName": "dummy"}}})
            return

        match = re.fullmatch(rf"/api/(?P<type>{types})/{_REPO}(?:/revision/(?P<rev>[^/]+))?", path)
        if match and method == "GET":
            repo = self._lookup(match["type"][:-1], match["repo"])
            if repo is not None:
                self._repo_info(repo, match["rev"] or "main")
            return

        match = re.fullmatch(rf"/api/(?P<type>{types})/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", path)
        if match and method == "GET":
            repo = self._lookup(match["type"][:-1], match["repo"])
            if repo is None:
                return
            files = repo.files_at(match["rev"])
            if files is None:
                self._error(404, "RevisionNotFound", f"Revision {match['rev']} not found")
                return
            prefix = (match["sub"] or "").strip("/")
            entries = []
            for name, data in sorted(files.items()):
                if prefix and not name.startswith(prefix + "/"):
                    continue
                entries.append({"type": "file", "path": name, "size": len(data), "oid": _git_blob_sha(data)})
            self._json(200, entries)
            return

        match = re.fullmatch(rf"/api/(?P<type>{types})/{_REPO}/paths-info/(?P<rev>[^/]+)", path)
        if match and method == "POST":
            repo = self._lookup(match["type"][:-1], match["repo"])
            if repo is None:
                return
            files = repo.files_at(match["rev"]) or {}
            try:
                wanted = json.loads(body).get("paths", [])
            except ValueError:  # form-encoded
                from urllib.parse import parse_qs

                wanted = parse_qs(body.decode()).get("paths", [])
            entries = [
                {"type": "file", "path": name, "size": len(files[name]), "oid": _git_blob_sha(files[name])}
                for name in wanted
                if name in files
            ]
            self._json(200, entries)
            return

        match = re.fullmatch(rf"/api/(?P<type>{types})/{_REPO}/preupload/(?P<rev>[^/]+)", path)
        if match and method == "POST":
            repo = self._lookup(match["type"][:-1], match["repo"])
            if repo is None:
                return
            payload = json.loads(body or b"{}")
            self._json(
                200,
                {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                           for f in payload.get("files", [])]},
            )
            return

        match = re.fullmatch(rf"/api/(?P<type>{types})/{_REPO}/commit/(?P<rev>[^/]+)", path)
        if match and method == "POST":
            repo = self._lookup(match["type"][:-1], match["repo"])
            if repo is None:
                return
            if match["rev"] != "main":
                self._error(404, "RevisionNotFound", f"Revision {match['rev']} not found (the fake Hub has only main)")
                return
            added: dict[str, bytes] = {}
            deleted: list[str] = []
            summary = ""
            for line in body.decode().splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item.get("key"), item.get("value", {})
                if key == "header":
                    summary = value.get("summary", "")
                elif key == "file":
                    if value.get("encoding", "base64") != "base64":
                        self._error(400, "BadRequest", f"unsupported encoding {value.get('encoding')!r}")
                        return
                    added[value["path"]] = base64.b64decode(value["content"])
                elif key in ("deletedFile", "deletedFolder"):
                    deleted.append(value["path"] + ("/" if key == "deletedFolder" else ""))
                elif key == "lfsFile":
                    self._error(400, "BadRequest", "the fake Hub stores no LFS files (it answers uploadMode regular)")
                    return
            with self.fake_hub._lock:
                commit = self.fake_hub._commit(repo, added, deleted, summary)
            prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
            self._json(
                200,
                {"commitUrl": f"{self.fake_hub.endpoint}/{prefix}{repo.repo_id}/commit/{commit}",
                 "commitOid": commit, "pullRequestUrl": None, "success": True},
            )
            return

        match = re.fullmatch(rf"(?:/(?P<type>datasets|spaces))?/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", path)
        if match and method in ("GET", "HEAD"):
            repo_type = (match["type"] or "models")[:-1]
            repo = self._lookup(repo_type, match["repo"])
            if repo is None:
                return
            files = repo.files_at(match["rev"])
            if files is None:
                self._error(404, "RevisionNotFound", f"Revision {match['rev']} not found")
                return
            name = match["file"]
            if name not in files:
                self._error(404, "EntryNotFound", f"{name} does not exist at {match['rev']}")
                return
            data = files[name]
            commit = repo.head if match["rev"] == "main" else match["rev"]
            self._send(200, data, {"ETag": f'"{_git_blob_sha(data)}"', "X-Repo-Commit": commit,
                                   "Accept-Ranges": "bytes"}, content_type="application/octet-stream")
            return

        self._not_found()


__all__ = ["FakeHub", "FakeRepo"]

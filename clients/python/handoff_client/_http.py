"""The HTTP transport: a handoff server (``handoff serve``) reached over its v1 API."""

import base64
import email.utils
import http.client
import json
import os
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

from . import _apply, snapshot
from .errors import (HandoffError, InvalidRequestError, PayloadTooLargeError, RateLimitedError, UnavailableError,
                     error_for_status)

# The longest wait the server grants one long-poll (API: max 60s); the client asks for less.
LONG_POLL = 30.0
_RETRY_STATUS = (502, 503, 504)


def go_duration(seconds: float) -> str:
    """seconds as a Go duration string, in whole milliseconds."""
    return "%dms" % max(0, int(seconds * 1000))


def _problem(body: bytes, status: int, reason: str) -> str:
    try:
        p = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace").strip()
        return text or f"HTTP {status} {reason}"
    if not isinstance(p, dict):
        return f"HTTP {status} {reason}"
    detail = p.get("detail") or p.get("title") or f"HTTP {status} {reason}"
    for e in p.get("errors") or []:
        msg = e.get("message") if isinstance(e, dict) else None
        if msg and msg not in detail:
            loc = e.get("location")
            detail += f"; {loc}: {msg}" if loc else f"; {msg}"
    return detail


def _retry_after(value: Optional[str]) -> float:
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return 1.0


class HTTPTransport:
    """Calls a handoff server; every call retries network errors, 502/503/504 and 429
    (after Retry-After) with backoff until its deadline."""

    def __init__(self, url: str, token: Optional[str], base: str, retry_timeout: float = 60.0):
        if not url.startswith(("http://", "https://")):
            raise HandoffError(f"server URL {url!r} must start with http:// or https://; set HANDOFF_SERVER to the server's address")
        self.url = url.rstrip("/")
        self._token = token
        self.base = base
        self.retry_timeout = retry_timeout

    def __repr__(self) -> str:  # never shows the token
        return f"HTTPTransport({self.url!r})"

    # ---- the wire ----

    def _once(self, method: str, path: str, body: Optional[bytes], ctype: Optional[str], timeout: float) -> Tuple[int, Dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if self._token:
            req.add_header("Authorization", "Bearer " + self._token)
        req.add_header("Accept", "application/json")
        if ctype:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as e:
            try:
                data = e.read()
            finally:
                e.close()
            return e.code, dict(e.headers.items()) if e.headers else {}, data

    def call(self, method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None,
             ctype: Optional[str] = None, deadline: Optional[float] = None, read_timeout: float = 30.0,
             task_id: Optional[str] = None) -> Tuple[int, Any]:
        """One API call with retries; returns (status, decoded JSON or None)."""
        if body is not None:
            raw, ctype = json.dumps(body).encode("utf-8"), "application/json"
        if deadline is None:
            deadline = time.monotonic() + self.retry_timeout
        delay, attempt = 0.1, 0
        while True:
            attempt += 1
            why: str
            try:
                status, headers, data = self._once(method, path, raw, ctype, read_timeout)
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    # Asking again cannot help.
                    raise HandoffError(f"{method} {path}: the certificate of {self.url} is not trusted here ({reason}); "
                                       "give its CA with SSL_CERT_FILE, or fix the certificate", task_id=task_id) from e
                status, headers, data = 0, {}, b""
                why = f"{self.url} cannot be reached ({reason})"
            else:
                if status < 400:
                    return status, (json.loads(data) if data.strip() else None)
                detail = _problem(data, status, http.client.responses.get(status, ""))
                if status not in _RETRY_STATUS and status != 429:
                    raise error_for_status(status, detail, task_id)
                why = detail
            wait = delay * (0.5 + random.random())
            if status == 429:
                wait = _retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            left = deadline - time.monotonic()
            if wait > left:
                fix = "the server limits requests per token (--rate); retry later" if status == 429 else \
                    "check that the server runs (GET /healthz) and HANDOFF_SERVER names it"
                cls = RateLimitedError if status == 429 else UnavailableError
                raise cls(f"{method} {path}: {why}, still after {attempt} attempts; {fix}", status=status or None, task_id=task_id)
            time.sleep(wait)
            delay = min(delay * 2, 2.0)

    # ---- snapshots ----

    def upload_tree(self, root: str, entries: Dict[str, snapshot.Entry]) -> str:
        """Stores the workspace's files on the server, sending only the blobs it lacks; returns the tree ID."""
        body = {"entries": [e.as_json() for e in entries.values()]}
        by_id = {e.id: e.path for e in entries.values()}
        for _ in range(3):
            _, got = self.call("POST", "/v1/trees", body)
            if got.get("tree"):
                return got["tree"]
            for blob in got.get("missing") or []:
                path = by_id.get(blob)
                if path is None:
                    raise HandoffError(f"the server asks for blob {blob}, which is not in the snapshot")
                read = snapshot.read_entry(root, path)
                if read is None or snapshot.blob_id(read[1]) != blob:
                    raise HandoffError(f"{path} changed while it was being uploaded; submit again once it is written")
                try:
                    self.call("PUT", "/v1/blobs/" + blob, raw=read[1], ctype="application/octet-stream")
                except PayloadTooLargeError as e:  # the server's message may not name the file
                    raise PayloadTooLargeError(
                        f"{path} ({len(read[1])} bytes) is over the server's limit for one file ({e.detail}); leave it "
                        "out of the workspace (.gitignore), or raise HANDOFF_SNAPSHOT_MAX_FILE on the server",
                        status=e.status) from None
        raise HandoffError("the server still lacks blobs after they were uploaded twice; check its storage (handoff serve's log)")

    # ---- tasks ----

    def submit(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """Snapshots the workspace, submits the task and records what the module and output
        were, for applying the kept tests later; returns the server's answer."""
        base = self.base
        root, in_git = snapshot.find_root(base)
        module = request.get("module") or ""
        if os.path.isabs(module) and snapshot.inside(root, os.path.realpath(module)) is None:
            root, in_git = snapshot.find_root(os.path.dirname(os.path.realpath(module)))  # the module's own workspace
        request["workspace"] = root
        request["module"] = snapshot.resolve(root, base, module, "module")
        if request.get("output"):
            request["output"] = snapshot.resolve(root, base, request["output"], "output")
        entries = snapshot.snapshot(root, in_git)
        tree = self.upload_tree(root, entries)
        # A key makes a retried POST after a lost answer return the same task, not a second one.
        request.setdefault("idempotency_key", "py-" + str(uuid.uuid4()))
        _, got = self.call("POST", "/v1/tasks", {"tree": tree, "request": request})
        st = got.get("status") or {}
        _apply.record(root, got["task_id"], self.url, st.get("module_path") or request["module"],
                      st.get("output_path") or request.get("output") or "", entries)
        return got

    def status(self, task_id: str) -> Dict[str, Any]:
        return self.call("GET", "/v1/tasks/" + urllib.parse.quote(task_id, safe=""), task_id=task_id)[1]

    def result_step(self, task_id: str, wait: float, poll_interval: float) -> Optional[Dict[str, Any]]:
        """The result once the task has finished within wait seconds (kept tests applied),
        else None. A server restart or a network error mid-wait is retried until then."""
        deadline = time.monotonic() + wait
        q = "/v1/tasks/" + urllib.parse.quote(task_id, safe="") + "/result"
        while True:
            left = deadline - time.monotonic()
            step = min(max(left, 0.0), LONG_POLL)
            started = time.monotonic()
            status, got = self.call("GET", q + "?wait=" + go_duration(step), deadline=max(deadline, time.monotonic() + 5),
                                    read_timeout=step + 30, task_id=task_id)
            if status == 200:
                return self.apply_pending(got)
            if time.monotonic() >= deadline:
                return None
            if time.monotonic() - started < min(step, poll_interval):
                time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def files(self, task_id: str) -> Dict[str, Any]:
        _, got = self.call("GET", "/v1/tasks/" + urllib.parse.quote(task_id, safe="") + "/files", task_id=task_id)
        return {"files": {f["path"]: base64.b64decode(f.get("content") or "") for f in got.get("files") or []},
                "pending": bool(got.get("pending"))}

    def apply(self, task_id: str) -> Dict[str, Any]:
        status, got = self.call("GET", "/v1/tasks/" + urllib.parse.quote(task_id, safe="") + "/result", task_id=task_id)
        if status != 200:
            raise InvalidRequestError(f"task {task_id} is {got.get('status')}; its kept tests can be applied once it has finished",
                                      task_id=task_id)
        return self.apply_pending(got)

    def apply_pending(self, result: Dict[str, Any]) -> Dict[str, Any]:
        """Writes a finished task's waiting kept tests where this client sees the workspace."""
        task_id = result["task_id"]
        root = snapshot.find_root(self.base)[0]
        if not (result.get("apply") or {}).get("pending"):
            _apply.forget(root, task_id)  # nothing waits (any more): the record is done with
            return result
        rec = _apply.load(root, task_id)
        if rec is None:
            ws = self.status(task_id).get("workspace")
            rec = _apply.load(ws, task_id) if ws and os.path.isdir(ws) else None
        if rec is None:
            result = dict(result)
            result["apply"] = dict(result["apply"], reason=(
                f"the kept tests wait on the server: this workspace holds no record of submitting task {task_id} "
                f"(.handoff/remote/{task_id}.json); apply it from the workspace that submitted it"))
            return result
        return _apply.apply(self, rec, result)

    def applied(self, task_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
        return self.call("POST", "/v1/tasks/" + urllib.parse.quote(task_id, safe="") + "/applied", body, task_id=task_id)[1]

    def cancel(self, task_id: str) -> Dict[str, Any]:
        return self.call("POST", "/v1/tasks/" + urllib.parse.quote(task_id, safe="") + "/cancel", task_id=task_id)[1]

    def list(self, state: Optional[List[str]] = None, agent: Optional[str] = None, label: Optional[str] = None,
             module: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
        tasks: List[Dict[str, Any]] = []
        cursor = ""
        while len(tasks) < limit:
            q: List[Tuple[str, str]] = [("state", s) for s in state or []]
            for k, v in (("agent", agent), ("label", label), ("module", module), ("cursor", cursor)):
                if v:
                    q.append((k, v))
            q.append(("limit", str(min(limit - len(tasks), 100))))
            _, got = self.call("GET", "/v1/tasks?" + urllib.parse.urlencode(q))
            tasks.extend(got.get("tasks") or [])
            cursor = got.get("next_cursor") or ""
            if not cursor or not got.get("tasks"):
                break
        return tasks[:limit]

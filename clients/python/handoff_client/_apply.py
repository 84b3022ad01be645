"""Writing a remote task's kept tests into the workspace it was submitted from.

At submit the client records, in ``<root>/.handoff/remote/<task_id>.json``,
the blob IDs of the module's and the output's files. When the result says
the kept tests wait (``apply.pending``), the client fetches them and writes
each file only where the workspace still holds what it held at submit: a
file the user changed meanwhile is never overwritten, and when the module
itself changed nothing is written (the kept tests were verified against the
submitted module): they wait on the server until the module is as it was.
Once the server has recorded the apply, the record is removed.
"""

import json
import os
import tempfile
import time
from typing import Any, Dict, List, Optional

from . import snapshot
from .errors import HandoffError

RECORD_DIR = os.path.join(snapshot.STATE_DIR, "remote")
_GITIGNORE = "# handoff's own state; never commit it\n*\n"


def _write_atomic(path: str, content: bytes, mode: int = 0o644) -> None:
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".handoff-tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def record(root: str, task_id: str, server: str, module: str, output: str, entries: Dict[str, snapshot.Entry]) -> None:
    """Remembers the module's and output's blob IDs at submit (None: the file was absent)."""
    files: Dict[str, Optional[str]] = {}
    if module in entries:
        files[module] = entries[module].id
    else:  # a Go package directory: its own files
        prefix = module.rstrip("/") + "/"
        for p, e in entries.items():
            if p.startswith(prefix) and "/" not in p[len(prefix):]:
                files[p] = e.id
    module_files = sorted(files)
    if output:
        files[output] = entries[output].id if output in entries else None
    state = os.path.join(root, snapshot.STATE_DIR)
    os.makedirs(state, exist_ok=True)
    ignore = os.path.join(state, ".gitignore")
    if not os.path.exists(ignore):
        _write_atomic(ignore, _GITIGNORE.encode())
    body = {"task_id": task_id, "server": server, "workspace": root, "module": module, "output": output,
            "module_files": module_files, "files": files, "submitted_at": time.time()}
    _write_atomic(os.path.join(root, RECORD_DIR, task_id + ".json"), json.dumps(body, indent=2).encode())


def load(root: str, task_id: str) -> Optional[Dict[str, Any]]:
    """The record of a task this client submitted from root, or None."""
    try:
        with open(os.path.join(root, RECORD_DIR, task_id + ".json"), "rb") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or "files" not in rec:
        return None  # not this client's (the handoff command line keeps its own records there)
    rec["workspace"] = root
    return rec


def forget(root: str, task_id: str) -> None:
    """Removes the record of a task once nothing of it waits to be applied."""
    try:
        os.unlink(os.path.join(root, RECORD_DIR, task_id + ".json"))
    except FileNotFoundError:
        pass


def _target(root: str, path: str) -> str:
    """The file for a slash-separated path inside root; refuses one escaping it."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path or \
            any(part in ("", ".", "..") for part in path.split("/")):
        raise HandoffError(f"the server sent a kept test file named {path!r}, which is not a plain path inside the workspace; nothing was written")
    if path.split("/")[0] in (".git", snapshot.STATE_DIR):
        raise HandoffError(f"the server sent a kept test file under {path.split('/')[0]}/ ({path}); nothing was written")
    full = os.path.join(root, *path.split("/"))
    parent = os.path.realpath(os.path.dirname(full))
    real_root = os.path.realpath(root)
    if parent != real_root and not parent.startswith(real_root + os.sep):
        raise HandoffError(f"the kept test file {path} would be written outside the workspace {root} through a symbolic link; nothing was written")
    return full


def apply(transport: Any, rec: Dict[str, Any], result: Dict[str, Any]) -> Dict[str, Any]:
    """Writes the waiting kept tests of result's task by rec's rules; returns the result to give the caller."""
    root, task_id = rec["workspace"], result["task_id"]
    recorded: Dict[str, Optional[str]] = rec.get("files") or {}
    moved = [p for p in rec.get("module_files") or [] if snapshot.file_blob_id(root, p) != recorded.get(p)]
    if moved:
        out = dict(result)
        out["apply"] = dict(result.get("apply") or {}, reason=(
            f"{', '.join(moved)} changed since the submit, so the kept tests (verified against the submitted "
            f"version) were not written; they wait on the server: apply({task_id!r}) writes them once the module "
            f"is as it was at submit, files({task_id!r}) returns them"))
        return out
    got = transport.files(task_id)
    if not got["files"]:  # another client recorded an apply meanwhile, and the server let go of them
        return dict(result, apply=dict(result.get("apply") or {}, reason=(
            f"the server holds no kept tests of task {task_id} any more; read its result again to see where they went")))
    targets = {path: _target(root, path) for path in got["files"]}  # every path checked before any write
    written: List[str] = []
    skipped: List[str] = []
    for path, content in sorted(got["files"].items()):
        now = snapshot.file_blob_id(root, path)
        if now == snapshot.blob_id(content):
            written.append(path)  # already there (another waiter wrote it)
            continue
        if path in recorded:
            unchanged = now == recorded[path]
        else:
            unchanged = now is None  # unknown at submit: write only where nothing is
        if not unchanged:
            skipped.append(path)
            continue
        full = targets[path]
        mode = os.stat(full).st_mode & 0o777 if os.path.isfile(full) and not os.path.islink(full) else 0o644
        _write_atomic(full, content, mode)
        written.append(path)
    info = dict(result.get("apply") or {})
    if skipped:
        # The server is told nothing: the kept tests stay there (it drops them once an apply is recorded).
        return dict(result, files=written, apply=dict(info, reason=(
            f"{', '.join(skipped)} changed since the submit and was left as it is; the kept tests wait on the "
            f"server: apply({task_id!r}) writes them once the file is as it was at submit, files({task_id!r}) "
            "returns them")))
    # What the server records (POST .../applied takes exactly these fields; it sets where and pending).
    body: Dict[str, Any] = {"applied": True, "stale": bool(info.get("stale")), "files": written}
    if info.get("redropped"):
        body["redropped"] = info["redropped"]
    try:
        final = transport.applied(task_id, body)
    except HandoffError as e:
        return dict(result, files=written, apply=dict(info, **body, pending=False, where="submitter", reason=(
            "written here, but the server could not record it (the next wait writes nothing new and tells it "
            f"again): {e.detail}")))
    forget(root, task_id)
    return final if isinstance(final, dict) and final.get("task_id") else \
        dict(result, files=written, apply=dict(info, **body, pending=False, where="submitter"))


"""The local transport: the ``handoff`` command on this machine, run as a subprocess.

Tasks live in the database the command line uses for the workspace
(``.handoff/handoff.db``, or ``HANDOFF_DATABASE_URL``); ``submit`` starts a
background worker when none is alive. Settings and secrets reach the
command through the environment, never its command line.
"""

import json
import os
import shutil
import subprocess
from typing import Any, Dict, List, Mapping, Optional

from ._http import go_duration
from .errors import ConflictError, HandoffError, InvalidRequestError, NotFoundError

EXIT_NO_SUCCESS = 1
EXIT_USAGE = 2
EXIT_WAIT_TIMEOUT = 124

# Request fields and the submit flags that set them.
_FLAGS = {"agent": "--agent", "model": "--model", "idempotency_key": "--idempotency-key", "priority": "--priority",
          "apply": "--apply", "max_attempts": "--max-attempts", "max_rounds": "--max-rounds", "runs": "--runs",
          "budget_usd": "--budget-usd"}
_DURATIONS = {"timeout": "--timeout", "test_timeout": "--test-timeout"}


def find_binary(given: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    name = given or env.get("HANDOFF_BIN") or "handoff"
    path = shutil.which(name, path=env.get("PATH")) if os.sep not in name else name
    if not path or not os.access(path, os.X_OK):
        raise HandoffError(
            f"the handoff command ({name}) was not found; install it (go install github.com/handoff-dev/handoff/cmd/handoff@latest), "
            "set HANDOFF_BIN to its path, or set HANDOFF_SERVER to use a handoff server")
    return path


class LocalTransport:
    """Runs ``handoff`` with ``--json`` in the client's folder and reads its JSON."""

    def __init__(self, base: str, binary: Optional[str] = None, env: Optional[Mapping[str, str]] = None):
        self.base = base
        self.env = dict(os.environ if env is None else env)  # the command's whole environment
        self.binary = find_binary(binary, self.env)

    def __repr__(self) -> str:
        return f"LocalTransport({self.binary!r}, base={self.base!r})"

    def _run(self, args: List[str], ok=(0,), task_id: Optional[str] = None, timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        p = subprocess.run([self.binary, *args], cwd=self.base, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, check=False)
        if p.returncode in ok:
            return p
        msg = p.stderr.decode(errors="replace").strip()
        lines = [ln for ln in msg.splitlines() if ln.startswith("handoff: ")]
        detail = (lines[-1] if lines else msg)[len("handoff: "):] if (lines or msg.startswith("handoff: ")) else msg
        detail = detail or f"handoff {args[0]} exited with status {p.returncode}"
        if p.returncode == EXIT_USAGE:
            if detail.startswith("task not found"):
                raise NotFoundError(detail, task_id=task_id)
            if detail.startswith("idempotency key"):
                raise ConflictError(detail, task_id=task_id)
            raise InvalidRequestError(detail, task_id=task_id)
        raise HandoffError(detail, task_id=task_id)

    @staticmethod
    def _json(p: subprocess.CompletedProcess) -> Any:
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise HandoffError(f"handoff printed no JSON: {p.stdout[:200]!r} {p.stderr[-500:]!r}") from None

    def submit(self, request: Dict[str, Any]) -> Dict[str, Any]:
        args = ["submit", "--json", "--module", request["module"]]
        if request.get("output"):
            args += ["--output", request["output"]]
        if request.get("coverage") is not None:
            args += ["--coverage", repr(float(request["coverage"]))]
        for k, flag in _FLAGS.items():
            if request.get(k) not in (None, ""):
                args += [flag, str(request[k])]
        for k, flag in _DURATIONS.items():
            if request.get(k):
                args += [flag, go_duration(request[k] / 1e9)]
        for k, v in (request.get("labels") or {}).items():
            args += ["--label", f"{k}={v}"]
        if request.get("no_worker"):
            args.append("--no-worker")
        return self._json(self._run(args))

    def status(self, task_id: str) -> Dict[str, Any]:
        return self._json(self._run(["status", "--json", task_id], task_id=task_id))

    def result_step(self, task_id: str, wait: float, poll_interval: float) -> Optional[Dict[str, Any]]:
        # --wait-timeout 0 would wait for ever: the shortest real wait is 1ms.
        p = self._run(["wait", "--json", "--quiet", "--wait-timeout", go_duration(max(wait, 0.001)),
                       "--poll-interval", go_duration(max(poll_interval, 0.01)), task_id],
                      ok=(0, EXIT_NO_SUCCESS, EXIT_WAIT_TIMEOUT), task_id=task_id)
        if p.returncode == EXIT_WAIT_TIMEOUT:
            return None
        if p.returncode == EXIT_NO_SUCCESS and not p.stdout.strip():
            raise HandoffError(p.stderr.decode(errors="replace").strip() or "handoff wait failed", task_id=task_id)
        return self._json(p)

    def files(self, task_id: str) -> Dict[str, Any]:
        raise HandoffError("files are served by a handoff server (HANDOFF_SERVER); here the kept tests are written "
                           "into the workspace: read the paths in the result's \"files\"", task_id=task_id)

    def apply(self, task_id: str) -> Dict[str, Any]:
        p = self._run(["apply", "--json", task_id], ok=(0, EXIT_NO_SUCCESS), task_id=task_id)
        if not p.stdout.strip():
            raise HandoffError(p.stderr.decode(errors="replace").strip() or "handoff apply failed", task_id=task_id)
        return self._json(p)

    def cancel(self, task_id: str) -> Dict[str, Any]:
        self._run(["cancel", "--json", "--wait", "10s", task_id], task_id=task_id)
        return self.status(task_id)

    def list(self, state: Optional[List[str]] = None, agent: Optional[str] = None, label: Optional[str] = None,
             module: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
        args = ["list", "--json", "--limit", str(limit)]
        for s in state or []:
            args += ["--state", s]
        if label:
            args += ["--label", label]
        tasks = self._json(self._run(args)) or []
        # the command line filters by state and label; agent and module here, as the server does
        return [t for t in tasks if (not agent or t.get("agent") == agent) and (not module or module in (t.get("module_path") or ""))]

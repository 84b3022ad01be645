"""Client (blocking) and TestGenerator (asyncio): the calls of the handoff Python client."""

import asyncio
import math
import os
import time
from typing import Any, Dict, List, Mapping, Optional

from ._http import HTTPTransport
from ._local import LocalTransport
from .errors import HandoffError, WaitTimeoutError

# Request fields a caller may set besides module, output and coverage.
_OPTIONS = {"agent", "model", "idempotency_key", "priority", "apply", "timeout", "test_timeout", "max_attempts",
            "max_rounds", "runs", "budget_usd", "labels", "no_worker"}

# How long one step of an asyncio wait blocks a thread: a cancelled wait ends within it.
_ASYNC_STEP = {"local": 5.0, "http": 30.0}


def _request(module: str, output: Optional[str], coverage: Optional[float], options: Dict[str, Any]) -> Dict[str, Any]:
    unknown = set(options) - _OPTIONS
    if unknown:
        raise TypeError(f"unknown request option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_OPTIONS))}")
    if not module:
        raise ValueError("no module given; name the file or Go package to cover")
    r: Dict[str, Any] = {"module": os.fspath(module)}
    if output:
        r["output"] = os.fspath(output)
    if coverage is not None:
        r["coverage"] = float(coverage)
    for k, v in options.items():
        if v is None:
            continue
        if k in ("timeout", "test_timeout"):  # seconds here; nanoseconds in the request's JSON
            v = int(float(v) * 1e9)
        r[k] = v
    return r


class Client:
    """A blocking handoff client.

    With a server URL (``Client(url, token)``, or HANDOFF_SERVER and HANDOFF_TOKEN
    through ``from_env``) it talks to ``handoff serve``: it snapshots the workspace
    itself, sends only the files the server lacks, and writes the kept tests into
    the workspace when the result comes back. Without one it drives the local
    ``handoff`` command (HANDOFF_BIN, else ``handoff`` on PATH).

    workspace is the folder relative paths start from (default: the working
    directory at construction); the workspace root is its git root, else itself.
    env is the local command's whole environment (default: os.environ).
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, workspace: Optional[str] = None,
                 handoff_bin: Optional[str] = None, env: Optional[Mapping[str, str]] = None, retry_timeout: float = 60.0):
        base = os.path.abspath(os.fspath(workspace) if workspace else os.getcwd())
        if url:
            self._t: Any = HTTPTransport(url, token, base, retry_timeout)
            self.transport = "http"
        else:
            self._t = LocalTransport(base, handoff_bin, env)
            self.transport = "local"

    def __repr__(self) -> str:
        return f"Client({self._t!r})"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **kwargs: Any) -> "Client":
        """A client for HANDOFF_SERVER with HANDOFF_TOKEN; the local ``handoff`` command when HANDOFF_SERVER is unset."""
        env = os.environ if env is None else env
        url = env.get("HANDOFF_SERVER", "").strip()
        token = env.get("HANDOFF_TOKEN", "").strip()
        if url and not token:
            raise HandoffError("HANDOFF_SERVER is set but HANDOFF_TOKEN is not; set HANDOFF_TOKEN to a token with the "
                               "submit and read scopes (or unset HANDOFF_SERVER to use the local handoff command)")
        if url:
            return cls(url, token, **kwargs)
        return cls(env=env if env is not os.environ else None, **kwargs)

    def submit(self, module: str, output: Optional[str] = None, coverage: Optional[float] = None, **options: Any) -> str:
        """Submits a task and returns its ID at once. options: agent, model, idempotency_key,
        priority, apply, timeout and test_timeout (seconds), max_attempts, max_rounds, runs,
        budget_usd, labels (dict), no_worker (local only)."""
        return self._t.submit(_request(module, output, coverage, options))["task_id"]

    def status(self, task_id: str) -> Dict[str, Any]:
        """The task's state now (``status["status"]``: QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)."""
        return self._t.status(task_id)

    def result(self, task_id: str, wait: Optional[float] = None, poll_interval: float = 1.0) -> Dict[str, Any]:
        """The verified result, waiting up to wait seconds (None: until the task ends).

        Raises WaitTimeoutError (a TimeoutError) when the wait ends first; the task keeps running.
        """
        deadline = math.inf if wait is None else time.monotonic() + max(0.0, wait)
        while True:
            got = self.result_step(task_id, min(deadline - time.monotonic(), 3600.0), poll_interval)
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                raise self._timeout(task_id, wait)

    def result_step(self, task_id: str, wait: float, poll_interval: float) -> Optional[Dict[str, Any]]:
        """The result when the task ends within wait seconds, else None."""
        return self._t.result_step(task_id, max(0.0, wait), poll_interval)

    def _timeout(self, task_id: str, wait: Optional[float]) -> WaitTimeoutError:
        try:
            state = self.status(task_id).get("status", "live")
        except HandoffError:
            state = "live"
        return WaitTimeoutError(f"task {task_id} is still {state} after waiting {wait if wait is not None else 0:g}s; it keeps running: "
                                "wait again later, or cancel it", task_id=task_id)

    def generate(self, module: str, output: Optional[str] = None, coverage: Optional[float] = None, *,
                 wait: Optional[float] = None, poll_interval: float = 1.0, **options: Any) -> Dict[str, Any]:
        """submit, then result: blocks until the task ends (or wait seconds pass)."""
        return self.result(self.submit(module, output, coverage, **options), wait, poll_interval)

    def cancel(self, task_id: str) -> Dict[str, Any]:
        """Asks the task to stop (a running agent is stopped); returns its status."""
        return self._t.cancel(task_id)

    def list(self, state: Optional[List[str]] = None, agent: Optional[str] = None, label: Optional[str] = None,
             module: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
        """Tasks, newest first; label is "key=value"."""
        if isinstance(state, str):
            state = [state]
        return self._t.list(state, agent, label, module, limit)

    def files(self, task_id: str) -> Dict[str, Any]:
        """The kept test files stored with a server's result: {"files": {path: bytes}, "pending": bool}."""
        return self._t.files(task_id)

    def apply(self, task_id: str) -> Dict[str, Any]:
        """Writes a finished task's waiting kept tests into the workspace (see the result's "apply")."""
        return self._t.apply(task_id)


class TestGenerator:
    """The asyncio face of Client, with the calls of the original design note.

    The blocking work runs in threads, so other coroutines (refactoring, deploy
    checks) run meanwhile under asyncio.gather.
    """

    __test__ = False  # a library class, not a pytest test class

    def __init__(self, client: Optional[Client] = None, **kwargs: Any):
        self.client = client or Client(**kwargs)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **kwargs: Any) -> "TestGenerator":
        """Reads HANDOFF_SERVER and HANDOFF_TOKEN (see Client.from_env)."""
        return cls(Client.from_env(env, **kwargs))

    async def submit_test_generation_task(self, module_path: str, output_path: Optional[str] = None,
                                          coverage_threshold: float = 80, **options: Any) -> str:
        """Submits and returns the task ID at once."""
        return await asyncio.to_thread(self.client.submit, module_path, output_path, coverage_threshold, **options)

    async def get_task_status(self, task_id: str) -> Dict[str, Any]:
        """The status dict; ``status["status"]`` is QUEUED, RUNNING, COMPLETED, FAILED or CANCELLED."""
        return await asyncio.to_thread(self.client.status, task_id)

    async def get_test_generation_results(self, task_id: str, timeout: Optional[float] = 300,
                                          poll_interval: float = 2.0) -> Dict[str, Any]:
        """The result dict (``results["success"]``) once the task ends.

        Raises TimeoutError (WaitTimeoutError) after timeout seconds; the task keeps running.
        """
        deadline = math.inf if timeout is None else time.monotonic() + max(0.0, timeout)
        step = _ASYNC_STEP[self.client.transport]
        while True:
            left = deadline - time.monotonic()
            got = await asyncio.to_thread(self.client.result_step, task_id, min(max(left, 0.0), step), poll_interval)
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                raise await asyncio.to_thread(self.client._timeout, task_id, timeout)

    async def generate_tests(self, module_path: str, output_path: Optional[str] = None, coverage_threshold: float = 80,
                             timeout: Optional[float] = None, poll_interval: float = 2.0, **options: Any) -> Dict[str, Any]:
        """submit_test_generation_task then get_test_generation_results (no time limit by default)."""
        task_id = await self.submit_test_generation_task(module_path, output_path, coverage_threshold, **options)
        return await self.get_test_generation_results(task_id, timeout, poll_interval)

    async def cancel_task(self, task_id: str) -> Dict[str, Any]:
        """Asks the task to stop; returns its status."""
        return await asyncio.to_thread(self.client.cancel, task_id)

    async def list_tasks(self, **kwargs: Any) -> List[Dict[str, Any]]:
        """Tasks, newest first (see Client.list)."""
        return await asyncio.to_thread(self.client.list, **kwargs)

    async def apply(self, task_id: str) -> Dict[str, Any]:
        """Writes a finished task's waiting kept tests into the workspace."""
        return await asyncio.to_thread(self.client.apply, task_id)


OpenHandsTestGenerator = TestGenerator

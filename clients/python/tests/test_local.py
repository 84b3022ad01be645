"""The local transport against the real handoff command and a real worker."""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CALC_TESTS, GATED_AGENT, missing, wait_until
from handoff_client import (Client, InvalidRequestError, NotFoundError, OpenHandsTestGenerator, TestGenerator,
                            WaitTimeoutError)


def run(coro):
    return asyncio.run(coro)


def test_submit_status_results(ws, env, start_worker):
    """The design note's calls: submit returns at once, status reads the state, results brings the
    verified result and the kept tests are in the workspace."""
    gen = OpenHandsTestGenerator(workspace=str(ws), env=env)
    assert TestGenerator is OpenHandsTestGenerator

    async def main():
        t0 = time.monotonic()
        task_id = await gen.submit_test_generation_task("calc.go", output_path=None, coverage_threshold=80)
        took = time.monotonic() - t0
        status = await gen.get_task_status(task_id)
        assert status["status"] == "QUEUED", status  # no worker yet
        assert status["task_id"] == task_id and status["module_path"] == "calc.go"
        start_worker(ws, env)
        results = await gen.get_test_generation_results(task_id, timeout=120, poll_interval=0.1)
        return task_id, took, results

    task_id, took, results = run(main())
    assert took < 5, f"submit took {took:.2f}s"
    assert results["task_id"] == task_id
    assert results["success"] is True, results
    assert results["status"] == "COMPLETED"
    assert results["coverage"]["after"] == 100
    assert sorted(results["tests"]["kept"]) == ["TestAbs", "TestAdd", "TestDiv"]
    assert (ws / "calc_test.go").read_text() == CALC_TESTS
    assert run(gen.get_task_status(task_id[-8:]))["status"] == "COMPLETED", "short IDs work as in the CLI"


def test_results_timeout_keeps_task_running(ws, env, marks, start_worker):
    """get_test_generation_results raises the built-in TimeoutError when the wait ends first,
    and the task keeps running to its verdict."""
    env["HANDOFF_EXEC_COMMAND"] = GATED_AGENT
    start_worker(ws, env)
    gen = TestGenerator.from_env(env, workspace=str(ws))
    assert gen.client.transport == "local"

    async def main():
        task_id = await gen.submit_test_generation_task("calc.go")
        wait_until(lambda: (marks / "started").exists(), 60, "the agent started")
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as exc:
            await gen.get_test_generation_results(task_id, timeout=1.0, poll_interval=0.1)
        waited = time.monotonic() - t0
        assert isinstance(exc.value, WaitTimeoutError) and exc.value.task_id == task_id
        assert "RUNNING" in str(exc.value) and "keeps running" in str(exc.value)
        assert 0.9 <= waited < 10, waited
        assert (await gen.get_task_status(task_id))["status"] == "RUNNING"
        (marks / "go").touch()
        return await gen.get_test_generation_results(task_id, timeout=120, poll_interval=0.1)

    results = run(main())
    assert results["success"] is True, results
    assert (ws / "calc_test.go").exists()


def test_generate_tests_builtin_from_a_subfolder(tmp_path, env, start_worker):
    """generate_tests = submit + wait, with the offline builtin agent, and a module path
    relative to the working directory (a folder below the repository's root)."""
    from conftest import CALC, git_repo
    ws = git_repo(tmp_path / "ws", {"go.mod": "module example.com/m\n\ngo 1.22\n", "pkg/calc/calc.go": CALC})
    env["HANDOFF_AGENT"] = "builtin"
    start_worker(ws, env)
    gen = TestGenerator(workspace=str(ws / "pkg"), env=env)
    results = run(gen.generate_tests("calc/calc.go", coverage_threshold=80, poll_interval=0.1))
    assert results["success"] is True, results
    assert results["module_path"] == "pkg/calc/calc.go"
    assert results["agent"]["name"] == "builtin"
    assert (ws / "pkg/calc/calc_test.go").exists()


def test_sync_client_errors_list_cancel(ws, env, marks, start_worker):
    """The blocking Client: bad input and unknown IDs raise with the CLI's message; list; cancel."""
    c = Client(workspace=str(ws), env=env)
    with pytest.raises(InvalidRequestError, match="nope.go does not exist"):
        c.submit("nope.go")
    with pytest.raises(InvalidRequestError, match="outside 0..100"):
        c.submit("calc.go", coverage=150)
    env["HANDOFF_EXEC_COMMAND"] = GATED_AGENT
    c = Client(workspace=str(ws), env=env)
    task_id = c.submit("calc.go", labels={"stage": "unit"})
    with pytest.raises(NotFoundError, match="no task ID starts or ends with"):
        c.status("ffffffff")
    with pytest.raises(WaitTimeoutError):
        c.result(task_id, wait=0)
    assert [t["task_id"] for t in c.list(label="stage=unit")] == [task_id]
    assert c.list(state="COMPLETED") == []
    start_worker(ws, env)
    wait_until(lambda: (marks / "started").exists(), 60, "the agent started")
    assert c.cancel(task_id)["status"] == "CANCELLED"
    res = c.result(task_id, wait=30)
    assert res["status"] == "CANCELLED" and res["success"] is False
    assert not (ws / "calc_test.go").exists()


def test_apply_where_the_worker_could_not(ws, env, tmp_path, start_worker):
    """A worker that cannot see the workspace leaves the kept tests pending in the database;
    Client.apply writes them where the workspace is (where: submitter)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        missing("unshare", "apt-get install util-linux")
    if os.geteuid() != 0:
        missing("root, to hide the workspace from the worker in a mount namespace", "run the tests as root, as CI does")
    outside = Path(tempfile.mkdtemp(prefix="handoff-py-elsewhere-"))
    try:
        env["HANDOFF_DATABASE_URL"] = str(outside / "handoff.db")
        work = outside / "work"
        work.mkdir()
        c = Client(workspace=str(ws), env=env)
        task_id = c.submit("calc.go", no_worker=True)
        hidden = str(ws.parent)
        w_env = dict(env, HANDOFF_WORK_DIR=str(work))
        start_worker(work, w_env, [unshare, "--mount", "--propagation", "private", "sh", "-c",
                                   'mount -t tmpfs none "$1" && test ! -e "$2" && exec "$3" worker',
                                   "sh", hidden, str(ws), env["HANDOFF_BIN"]])
        wait_until(lambda: c.status(task_id)["status"] == "COMPLETED", 120, "the task finished elsewhere", 0.1)
        assert not (ws / "calc_test.go").exists(), "the worker could not write into the workspace"
        res = c.apply(task_id)
        assert res["apply"]["applied"] is True and res["apply"]["where"] == "submitter", res["apply"]
        assert (ws / "calc_test.go").read_text() == CALC_TESTS
        assert c.apply(task_id)["apply"]["where"] == "submitter", "a second apply shows the task as it is"
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_no_handoff_command(tmp_path):
    """Without HANDOFF_SERVER and without the command, the error says how to get either."""
    from handoff_client import HandoffError
    with pytest.raises(HandoffError, match="HANDOFF_BIN"):
        Client(workspace=str(tmp_path), env={"PATH": str(tmp_path), "HANDOFF_BIN": ""})
    with pytest.raises(HandoffError, match="HANDOFF_TOKEN"):
        Client.from_env({"HANDOFF_SERVER": "http://127.0.0.1:1"})


def app_ws(tmp_path):
    """A workspace laid out as the design note's example expects: internal/calc/calc.go."""
    from conftest import CALC, git_repo
    return git_repo(tmp_path / "app", {"go.mod": "module example.com/app\n\ngo 1.22\n", "internal/calc/calc.go": CALC})


def test_example_workflow(tmp_path, env, start_worker):
    """examples/workflow.py, the design note's workflow, runs as a user would run it."""
    ws = app_ws(tmp_path)
    start_worker(ws, env)
    example = Path(__file__).resolve().parents[1] / "examples" / "workflow.py"
    p = subprocess.run([os.environ.get("HANDOFF_PYTHON") or "python3", str(example)], cwd=ws, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    assert "refactoring done" in out and "deploy checks done" in out
    summary = json.loads(out.splitlines()[-1])
    assert summary["success"] is True and summary["files"] == ["internal/calc/calc_test.go"], summary
    assert (ws / "internal/calc/calc_test.go").read_text() == CALC_TESTS


def test_readme_example(tmp_path, env, start_worker):
    """The README's workflow runs as written."""
    ws = app_ws(tmp_path)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert "OpenHandsTestGenerator.from_env()" in code and "get_test_generation_results(task_id, timeout=300" in code
    start_worker(ws, env)
    p = subprocess.run([os.environ.get("HANDOFF_PYTHON") or "python3", "-c", code],
                       cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert p.stdout.decode().startswith("True "), p.stdout.decode()
    assert (ws / "internal/calc/calc_test.go").read_text() == CALC_TESTS

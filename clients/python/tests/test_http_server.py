"""The HTTP transport against a real `handoff serve` and a real `handoff worker` on its database.

Neither the server nor the worker reads the client's workspace: the files travel
through the API, the worker works in its own HANDOFF_WORK_DIR, and the kept tests
come back through the API for the client to write (apply.where == "submitter").
"""

import asyncio
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import CALC, CALC_TESTS, GATED_AGENT, git, git_repo, wait_until
from handoff_client import (AuthenticationError, Client, ConflictError, HandoffError, InvalidRequestError, NotFoundError,
                            OpenHandsTestGenerator, PayloadTooLargeError, PermissionDeniedError, TestGenerator,
                            WaitTimeoutError)
from realserver import established

HERE = Path(__file__).resolve().parent


def test_generate_over_http_applies_in_the_clients_workspace(serve, ws, tmp_path):
    s = serve()
    token = s.token("py", "submit,read")
    gen = TestGenerator.from_env({"HANDOFF_SERVER": s.url, "HANDOFF_TOKEN": token}, workspace=str(ws))
    assert gen.client.transport == "http" and token not in repr(gen.client)

    async def main():
        task_id = await gen.submit_test_generation_task("calc.go", output_path=None, coverage_threshold=80)
        status = await gen.get_task_status(task_id)
        results = await gen.get_test_generation_results(task_id, timeout=120, poll_interval=0.2)
        return task_id, status, results

    task_id, status, results = asyncio.run(main())
    assert status["status"] in ("QUEUED", "RUNNING") and status["module_path"] == "calc.go", status
    assert status["workspace"] == str(ws.resolve()), "the client's path, recorded and shown, never read"
    assert results["task_id"] == task_id and results["success"] is True, results
    assert results["coverage"]["after"] == 100
    assert sorted(results["tests"]["kept"]) == ["TestAbs", "TestAdd", "TestDiv"]
    assert (ws / "calc_test.go").read_text() == CALC_TESTS
    assert results["files"] == ["calc_test.go"]
    assert results["apply"]["applied"] is True and results["apply"]["where"] == "submitter", results["apply"]
    assert not results["apply"].get("pending")
    assert not (ws / ".handoff/remote" / f"{task_id}.json").exists(), "nothing is left to apply"
    assert git(ws, "status", "--porcelain") == "?? calc_test.go\n", "the client wrote the kept tests, nothing else"

    # The server recorded the apply: another client, in a folder that submitted nothing, sees it.
    other = Client(s.url, token, workspace=str(tmp_path))
    again = other.result(task_id[-8:], wait=0)
    assert again["apply"]["where"] == "submitter" and again["apply"]["applied"] is True, again["apply"]
    assert again["files"] == ["calc_test.go"]
    assert other.status(task_id[:8])["status"] == "COMPLETED", "short IDs work as on the command line"


def test_timeout_keeps_the_task_running_list_and_cancel(serve, env, ws, marks):
    env["HANDOFF_EXEC_COMMAND"] = GATED_AGENT
    s = serve()
    gen = TestGenerator(Client(s.url, s.token("py", "submit,read,cancel"), workspace=str(ws)))
    c = gen.client

    # A running task is cancelled: its agent stops, nothing is written.
    doomed = c.submit("calc.go", labels={"stage": "unit"})
    wait_until(lambda: (marks / "started").exists(), 60, "the agent started")
    assert [t["task_id"] for t in c.list(label="stage=unit")] == [doomed]
    assert [t["task_id"] for t in c.list(state="RUNNING")] == [doomed]
    assert c.list(state=["COMPLETED", "FAILED"]) == []
    assert c.cancel(doomed)["task_id"] == doomed
    res = c.result(doomed, wait=60)
    assert res["status"] == "CANCELLED" and res["success"] is False, res
    assert not (ws / "calc_test.go").exists()

    (marks / "started").unlink()

    async def main():
        task_id = await gen.submit_test_generation_task("calc.go", coverage_threshold=80)
        wait_until(lambda: (marks / "started").exists(), 60, "the agent started")
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as exc:
            await gen.get_test_generation_results(task_id, timeout=1.0, poll_interval=0.1)
        waited = time.monotonic() - t0
        assert isinstance(exc.value, WaitTimeoutError) and exc.value.task_id == task_id
        assert "RUNNING" in str(exc.value) and "keeps running" in str(exc.value)
        assert 0.9 <= waited < 10, waited
        assert (await gen.get_task_status(task_id))["status"] == "RUNNING", "the task keeps running"
        (marks / "go").touch()
        return task_id, await gen.get_test_generation_results(task_id, timeout=120, poll_interval=0.1)

    task_id, results = asyncio.run(main())
    assert results["success"] is True and results["apply"]["where"] == "submitter", results
    assert (ws / "calc_test.go").read_text() == CALC_TESTS
    assert [t["task_id"] for t in c.list()] == [task_id, doomed], "newest first"
    assert [t["task_id"] for t in c.list(limit=1)] == [task_id]


def test_refusals_carry_the_servers_message(serve, env, ws, tmp_path):
    env["HANDOFF_SNAPSHOT_MAX_FILE"] = "1"  # MiB
    s = serve(worker=False)
    c = Client(s.url, s.token("ci", "submit,read"), workspace=str(ws))
    reader = Client(s.url, s.token("reader", "read"), workspace=str(ws))

    with pytest.raises(AuthenticationError, match="unknown or revoked") as e:
        Client(s.url, "hnd_" + "x" * 43, workspace=str(ws)).status("ffffffff")
    assert e.value.status == 401
    with pytest.raises(PermissionDeniedError, match="lacks the scope submit") as e:
        reader.submit("calc.go")
    assert e.value.status == 403
    with pytest.raises(NotFoundError, match='no task ID starts or ends with "ffffffff"') as e:
        reader.status("ffffffff")
    assert e.value.status == 404 and isinstance(e.value, LookupError)
    with pytest.raises(InvalidRequestError, match=f"nope.go does not exist in {ws.resolve()}") as e:
        c.submit("nope.go")
    assert e.value.status == 422 and isinstance(e.value, ValueError)
    with pytest.raises(InvalidRequestError, match="coverage 150 is outside 0..100") as e:
        c.submit("calc.go", coverage=150)
    assert e.value.status == 422
    with pytest.raises(InvalidRequestError, match="outside the workspace"):
        c.submit("../calc.go")  # refused here, before anything is sent
    assert reader.list() == [], "nothing was created"

    task_id = c.submit("calc.go", idempotency_key="k1")
    assert c.submit("calc.go", idempotency_key="k1") == task_id
    with pytest.raises(ConflictError) as e:
        c.submit("calc.go", idempotency_key="k1", runs=2)
    assert e.value.status == 409
    with pytest.raises(PermissionDeniedError, match="lacks the scope cancel"):
        c.cancel(task_id)
    with pytest.raises(WaitTimeoutError, match="still QUEUED"):
        reader.result(task_id, wait=0)

    (ws / "big.bin").write_bytes(b"\0" * (2 << 20))
    with pytest.raises(PayloadTooLargeError, match="big.bin.*HANDOFF_SNAPSHOT_MAX_FILE") as e:
        c.submit("calc.go")
    assert e.value.status == 413


def test_server_restarted_mid_long_poll(serve, env, ws, marks):
    """SIGTERM while a result wait is in flight; the same port and database again: the client retries
    and gets the result."""
    env["HANDOFF_EXEC_COMMAND"] = GATED_AGENT
    s = serve()
    c = Client(s.url, s.token("py", "submit,read"), workspace=str(ws))
    task_id = c.submit("calc.go")
    wait_until(lambda: (marks / "started").exists(), 60, "the agent started")
    got = {}

    def wait():
        try:
            got["result"] = c.result(task_id, wait=120, poll_interval=0.1)
        except Exception as e:  # noqa: BLE001 - reported by the test below
            got["error"] = e

    t = threading.Thread(target=wait)
    t.start()
    url, port = s.url, int(s.addr.rsplit(":", 1)[1])
    wait_until(lambda: established(port), 30, "the client's long-poll reached the server")
    s.stop()  # its grace (1s) ends the long-poll: the connection closes unanswered
    assert "result" not in got and t.is_alive(), got  # the agent waits for "go": no result yet
    s.start()
    assert s.url == url, "the same address"
    (marks / "go").touch()
    t.join(150)
    assert not t.is_alive()
    assert "error" not in got, got.get("error")
    res = got["result"]
    assert res["success"] is True and res["apply"]["where"] == "submitter", res
    assert (ws / "calc_test.go").read_text() == CALC_TESTS
    first, restarted = s.log().split("stopping", 1)
    assert f"path=/v1/tasks/{task_id}/result status=200" not in first
    assert "listening on" in restarted and f"path=/v1/tasks/{task_id}/result status=200" in restarted, \
        "the restarted server gave the result"


def test_example_and_readme_workflow_against_the_server(serve, env, tmp_path):
    """examples/workflow.py and the README's block run as written, with HANDOFF_SERVER and HANDOFF_TOKEN."""
    s = serve()
    run_env = dict(env, HANDOFF_SERVER=s.url, HANDOFF_TOKEN=s.token("pipeline", "submit,read"))
    layout = {"go.mod": "module example.com/app\n\ngo 1.22\n", "internal/calc/calc.go": CALC}
    example_ws = git_repo(tmp_path / "example", layout)
    readme_ws = git_repo(tmp_path / "readme", layout)
    readme = (HERE.parent / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert "OpenHandsTestGenerator.from_env()" in code and 'asyncio.run(main("internal/calc/calc.go"))' in code
    py = os.environ.get("HANDOFF_PYTHON") or "python3"
    procs = [subprocess.Popen([py, str(HERE.parent / "examples" / "workflow.py")], cwd=example_ws, env=run_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE),
             subprocess.Popen([py, "-c", code], cwd=readme_ws, env=run_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out.decode() + err.decode()

    out = outs[0][0].decode()
    assert "refactoring done" in out and "deploy checks done" in out
    summary = json.loads(out.splitlines()[-1])
    assert summary["success"] is True and summary["files"] == ["internal/calc/calc_test.go"], summary
    assert summary["apply"]["where"] == "submitter", summary
    assert outs[1][0].decode().startswith("True "), outs[1][0].decode()
    for w in (example_ws, readme_ws):
        assert (w / "internal/calc/calc_test.go").read_text() == CALC_TESTS
    assert OpenHandsTestGenerator is TestGenerator


def test_tls_untrusted_certificate_refused_at_once(serve, tmp_path, monkeypatch):
    """Over HTTPS, a server whose certificate the client does not trust is refused at the first answer,
    saying what to do, not retried until the call's deadline; with its CA in SSL_CERT_FILE it is served."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=handoff test",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    s = serve("--tls-cert", str(cert), "--tls-key", str(key), worker=False)
    assert s.url.startswith("https://"), s.url
    token = s.token("py", "read")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(HandoffError, match="not trusted here.*SSL_CERT_FILE") as e:
        Client(s.url, token, retry_timeout=20).list()
    assert "attempts" not in str(e.value), "the error is not a retried one"
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert Client(s.url, token).list() == []

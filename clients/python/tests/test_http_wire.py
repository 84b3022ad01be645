"""The HTTP transport's wire rules, against a real `handoff serve` behind a recording proxy
(realserver.Proxy): the calls the client makes and in what order, blobs sent only when the
server lacks them, kept tests applied by the submit-time blob IDs, and retries of what a
healthy server does not answer on demand (502/503/504, dropped connections, a lost answer),
429 from the server's own rate limit."""

import os
import time

import pytest

from conftest import CALC, CALC_TESTS, git_repo
from handoff_client import Client, HandoffError, RateLimitedError, UnavailableError, blob_id


@pytest.fixture
def hws(tmp_path):
    return git_repo(tmp_path / "ws", {"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": CALC,
                                      ".gitignore": "*.log\n"})


def calls(proxy):
    """Each request the proxy saw, as "METHOD path" with blob IDs and task IDs left out."""
    out = []
    for r in proxy.seen():
        path = r["path"].split("?")[0]
        if path.startswith("/v1/blobs/"):
            path = "/v1/blobs/ID"
        elif path.startswith("/v1/tasks/"):
            path = "/v1/tasks/ID" + path[len("/v1/tasks/") + 36:]
        out.append(f"{r['method']} {path}")
    return out


def test_submit_sends_the_tree_then_only_missing_blobs(serve, proxy, hws):
    s = serve(worker=False)
    token = s.token("py", "submit,read")
    p = proxy(s.url)
    (hws / "debug.log").write_text("ignored by git, so never sent")
    c = Client(p.url, token, workspace=str(hws))
    task_id = c.submit("calc.go", coverage=85, labels={"stage": "unit"})

    assert calls(p) == ["POST /v1/trees", "PUT /v1/blobs/ID", "PUT /v1/blobs/ID", "PUT /v1/blobs/ID",
                        "POST /v1/trees", "POST /v1/tasks"]
    files = ("go.mod", "calc.go", ".gitignore")
    tree = p.seen("POST /v1/trees")[0]["json"]
    assert sorted(e["path"] for e in tree["entries"]) == sorted(files)
    for e in tree["entries"]:
        content = (hws / e["path"]).read_bytes()
        assert e == {"path": e["path"], "mode": "100644", "id": blob_id(content), "size": len(content)}
    assert sorted(r["path"] for r in p.seen("PUT")) == sorted("/v1/blobs/" + blob_id((hws / n).read_bytes()) for n in files)
    sent = p.seen("POST /v1/tasks")[0]["json"]
    assert len(sent["tree"]) == 64
    assert sent["request"]["workspace"] == str(hws.resolve()) and sent["request"]["module"] == "calc.go"
    assert sent["request"]["coverage"] == 85 and sent["request"]["labels"] == {"stage": "unit"}
    assert sent["request"]["idempotency_key"], "a retried POST /v1/tasks must not make a second task"
    assert all(r["auth"] == "Bearer " + token for r in p.seen()), "the token travels in the header, always"
    assert token not in repr(c)

    st = c.status(task_id)
    assert (st["module_path"], st["output_path"], st["labels"]) == ("calc.go", "calc_test.go", {"stage": "unit"})
    assert (hws / ".handoff/remote" / f"{task_id}.json").exists()
    assert "*" in (hws / ".handoff/.gitignore").read_text()

    p.clear()
    (hws / "new.go").write_text("package calc\n")
    c.submit("calc.go")
    assert calls(p) == ["POST /v1/trees", "PUT /v1/blobs/ID", "POST /v1/trees", "POST /v1/tasks"], \
        "only the new file's content is sent"
    assert p.seen("PUT")[0]["path"] == "/v1/blobs/" + blob_id(b"package calc\n")


def test_a_lost_submit_answer_makes_one_task(serve, proxy, hws):
    s = serve(worker=False)
    p = proxy(s.url)
    c = Client(p.url, s.token("py", "submit,read"), workspace=str(hws))
    p.fail("POST /v1/tasks", "lose")  # the server queues the task; its answer never arrives
    task_id = c.submit("calc.go")
    assert [r["status"] for r in p.seen("POST /v1/tasks")] == ["201 lost", 201]
    assert [t["task_id"] for t in c.list()] == [task_id], "the retry carried the same idempotency key"


def test_kept_tests_applied_by_the_submit_time_files(serve, proxy, hws, tmp_path):
    """One task, applied step by step: retries of a result wait, a changed output and a changed module
    that keep the tests on the server, kept file paths that would leave the workspace, then the apply."""
    s = serve()
    p = proxy(s.url)
    c = Client(p.url, s.token("py", "submit,read"), workspace=str(hws))
    task_id = c.submit("calc.go")
    (hws / "calc_test.go").write_text("package calc // mine\n")

    p.fail("/result", 503, 502, "drop", 504)
    res = c.result(task_id, wait=120, poll_interval=0.1)
    assert [r["status"] for r in p.seen("/result")][:5] == [503, 502, "drop", 504, 200]
    assert (hws / "calc_test.go").read_text() == "package calc // mine\n", "a file changed since the submit stays"
    assert "calc_test.go changed since the submit" in res["apply"]["reason"] and res["apply"]["pending"] is True
    assert f"apply({task_id!r})" in res["apply"]["reason"]

    (hws / "calc_test.go").unlink()  # as it was at submit: absent
    (hws / "calc.go").write_text(CALC + "\n// edited\n")
    res = c.apply(task_id)
    assert not (hws / "calc_test.go").exists()
    assert "calc.go changed since the submit" in res["apply"]["reason"] and res["apply"]["pending"] is True

    (hws / "calc.go").write_text(CALC)
    os.symlink(str(tmp_path), hws / "link")  # made after the submit: a snapshot would refuse it
    for bad in ["../escape_test.go", "/tmp/abs_test.go", "link/x_test.go", ".git/hooks/pre-commit"]:
        def hostile(status, got, bad=bad):
            got["files"].append({"path": bad, "content": "cHduZWQ="})
            return status, got
        p.fail("/files", hostile)
        with pytest.raises(HandoffError, match="nothing was written"):
            c.apply(task_id)
        assert not (hws / "calc_test.go").exists(), f"{bad}: no file is written when one path is bad"
    assert not (tmp_path / "x_test.go").exists() and not (tmp_path / "escape_test.go").exists()
    assert not p.seen("/applied"), "the server was told nothing while nothing was written"

    res = c.apply(task_id)
    assert (hws / "calc_test.go").read_text() == CALC_TESTS
    assert res["apply"]["applied"] is True and res["apply"]["where"] == "submitter" and not res["apply"].get("pending")
    assert res["files"] == ["calc_test.go"]
    assert [r["json"] for r in p.seen("/applied")] == [{"applied": True, "stale": False, "files": ["calc_test.go"]}], \
        "the flat record POST .../applied takes"
    assert not [n for n in os.listdir(hws) if n.startswith(".handoff-tmp-")], "the temporary file was renamed"
    assert calls(p)[-3:] == ["GET /v1/tasks/ID/result", "GET /v1/tasks/ID/files", "POST /v1/tasks/ID/applied"]
    assert c.result(task_id, wait=0)["apply"]["where"] == "submitter"


def test_gives_up_at_the_deadline(serve, proxy, hws):
    s = serve(worker=False)
    token = s.token("py", "read")
    p = proxy(s.url)
    p.fail("GET /v1/tasks", *[503] * 100)
    c = Client(p.url, token, workspace=str(hws), retry_timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(UnavailableError, match="the proxy answers 503, still after"):
        c.list()
    assert time.monotonic() - t0 < 2
    s.stop()
    with pytest.raises(UnavailableError, match="cannot be reached"):
        Client(s.url, token, workspace=str(hws), retry_timeout=0.3).list()


def test_429_waits_for_retry_after(serve, proxy, hws):
    s = serve("--rate", "1", "--burst", "1", worker=False)
    token = s.token("py", "read")
    p = proxy(s.url)
    c = Client(p.url, token, workspace=str(hws))
    assert c.list() == []
    t0 = time.monotonic()
    assert c.list() == []
    assert time.monotonic() - t0 >= 0.9, "the second call waited for the server's Retry-After"
    assert [r["status"] for r in p.seen()] == [200, 429, 200]
    with pytest.raises(RateLimitedError, match="over its rate limit"):
        Client(p.url, token, workspace=str(hws), retry_timeout=0.3).list()

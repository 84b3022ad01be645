"""Fixtures: the real handoff binary, a small Go workspace in git, a real worker, a real server."""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # handoff_client from this tree, installed or not

REPO = HERE.parents[2]  # clients/python/tests → the repository root

CALC = """package calc

import "errors"

// Add returns a+b.
func Add(a, b int) int { return a + b }

// Abs returns the absolute value of n.
func Abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Div divides a by b.
func Div(a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}
"""

CALC_TESTS = """package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestAbs(t *testing.T) {
	if Abs(-4) != 4 || Abs(4) != 4 {
		t.Fatal("Abs")
	}
}

func TestDiv(t *testing.T) {
	if q, err := Div(6, 3); err != nil || q != 2 {
		t.Fatal("Div(6, 3)")
	}
	if _, err := Div(1, 0); err == nil {
		t.Fatal("Div by zero must fail")
	}
}
"""

# An exec agent writing tests that cover all of calc.go.
GOOD_AGENT = "cat > \"$HANDOFF_OUTPUT_PATH\" <<'GO'\n" + CALC_TESTS + "GO"
# The same, once the file $MARKS/go exists: a task that stays RUNNING until the test says so.
GATED_AGENT = 'touch "$MARKS/started"; while [ ! -e "$MARKS/go" ]; do sleep 0.05; done; ' + GOOD_AGENT


def missing(what: str, how: str) -> None:
    """Skips, or fails under HANDOFF_REQUIRE_ALL=1, because what is missing."""
    if os.environ.get("HANDOFF_REQUIRE_ALL") == "1":
        pytest.fail(f"{what} is required (HANDOFF_REQUIRE_ALL=1) but missing: {how}")
    pytest.skip(f"skipped: {what} is missing; {how}")


def wait_until(cond, within: float, what: str, every: float = 0.05):
    """Polls cond until it returns a true value, with a deadline."""
    deadline = time.monotonic() + within
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {within}s")
        time.sleep(every)  # polling with a deadline


def git(cwd, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()


def git_repo(path: Path, files: dict) -> Path:
    """Lays out files and commits them to a fresh git repository at path."""
    for name, body in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


@pytest.fixture(scope="session")
def handoff_bin(tmp_path_factory) -> str:
    """The handoff command: HANDOFF_BIN when set (the Go test builds it), else built once here."""
    given = os.environ.get("HANDOFF_BIN")
    if given:
        return given
    if shutil.which("go") is None:
        missing("the go command", "install Go (go.dev/dl) to build handoff")
    out = tmp_path_factory.mktemp("bin") / "handoff"
    p = subprocess.run(["go", "build", "-o", str(out), "./cmd/handoff"], cwd=REPO, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout.decode()
    return str(out)


@pytest.fixture
def marks(tmp_path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


@pytest.fixture
def env(handoff_bin, marks) -> dict:
    """The environment of the client and worker: this test's settings, nobody's server."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("HANDOFF_", "OPENHANDS_", "LLM_")) or k in ("HANDOFF_PYTHON", "HANDOFF_REQUIRE_ALL")}
    e.update({"HANDOFF_BIN": handoff_bin, "HANDOFF_NO_AUTOSTART": "1", "HANDOFF_HEARTBEAT_INTERVAL": "100ms",
              "HANDOFF_HEARTBEAT_TIMEOUT": "2s", "HANDOFF_RETRY_BASE": "100ms", "HANDOFF_AGENT": "exec",
              "HANDOFF_EXEC_COMMAND": GOOD_AGENT, "MARKS": str(marks), "HANDOFF_EXEC_ENV": "MARKS",
              "PYTHONPATH": str(HERE.parent)})
    return e


@pytest.fixture
def ws(tmp_path) -> Path:
    """A git workspace holding the calc module."""
    return git_repo(tmp_path / "ws", {"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": CALC})


class Worker:
    def __init__(self, argv, cwd, env):
        self.log = open(Path(cwd).parent / f"worker-{time.monotonic_ns()}.log", "w+b")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@pytest.fixture
def start_worker(request):
    """start_worker(cwd, env, argv=None) runs `handoff worker`; it gets SIGTERM at the end of the test."""
    workers = []

    def start(cwd, env, argv=None):
        w = Worker(argv or [env["HANDOFF_BIN"], "worker"], cwd, env)
        workers.append(w)
        return w

    yield start
    for w in workers:
        log = w.stop()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print("worker log:\n" + log)


@pytest.fixture(params=["sqlite", "postgres"])
def server_db(request):
    """The database of a test's server: "" (a new SQLite file) or a fresh PostgreSQL schema in
    HANDOFF_TEST_POSTGRES_URL's database, dropped afterwards (made with psql)."""
    if request.param == "sqlite":
        yield ""
        return
    base = os.environ.get("HANDOFF_TEST_POSTGRES_URL", "")
    if not base or shutil.which("psql") is None:
        why = "PostgreSQL is missing: set HANDOFF_TEST_POSTGRES_URL (and install psql) to run these against it"
        if os.environ.get("HANDOFF_REQUIRE_ALL") == "1":
            pytest.fail(why + " (HANDOFF_REQUIRE_ALL=1)")
        pytest.skip("skipped: " + why)
    schema = "py_%d_%d" % (os.getpid(), next(_schemas))
    subprocess.run(["psql", base, "-q", "-c", "CREATE SCHEMA " + schema], check=True, stdin=subprocess.DEVNULL)
    sep = "&" if "?" in base else "?"
    yield base + sep + "search_path=" + schema
    subprocess.run(["psql", base, "-q", "-c", "DROP SCHEMA " + schema + " CASCADE"], stdin=subprocess.DEVNULL)


_schemas = itertools.count(1)


@pytest.fixture
def serve(handoff_bin, env, tmp_path, start_worker, request, server_db):
    """serve(*args, worker=True) starts `handoff serve` with args on a new SQLite database in a
    folder of its own, apart from the client's workspace, and a `handoff worker` on that
    database whose HANDOFF_WORK_DIR is elsewhere again: the server and the worker read no
    file of the client's workspace, and the kept tests come back through the API.

    Both take the test's env as it is when serve is called (the agent's command line is a
    setting of the server, where tasks are submitted). --grace 1s: a SIGTERM ends the
    server's long-polls within a second, as a restart in production may."""
    from realserver import Server
    servers = []

    def start(*args, worker=True):
        work = tmp_path / f"server{len(servers)}"
        work.mkdir()
        s = Server(handoff_bin, dict(env), work, ["--grace", "1s", *args], db=server_db)
        servers.append(s)
        s.start()
        if worker:
            (work / "tasks").mkdir()
            start_worker(work, dict(s.env, HANDOFF_WORK_DIR=str(work / "tasks")))
        return s

    yield start
    for s in servers:
        s.stop()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(f"server log ({s.work}):\n" + s.log())


@pytest.fixture
def proxy():
    """proxy(url) puts a recording, fault-injecting HTTP proxy (realserver.Proxy) in front of url."""
    from realserver import Proxy
    made = []

    def start(url):
        p = Proxy(url)
        made.append(p)
        return p

    yield start
    for p in made:
        p.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)

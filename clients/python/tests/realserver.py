"""A real `handoff serve` for the tests, and a small HTTP proxy to put in front of it.

Server runs the handoff command built from this tree: tokens come from
`handoff token create` (read from its stdout, never passed on a command line),
the address from what `handoff serve --addr 127.0.0.1:0` prints on stderr.

Proxy forwards every request to the real server and records what the client
sent; a test makes it answer a fault instead (an HTTP status, a dropped
connection, an answer lost after the server acted) to see the client's retries
against answers a healthy server does not give on demand.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

TOKEN_PATTERN = re.compile(r"hnd_[A-Za-z0-9_-]{43}")
_LISTENING = re.compile(r"listening on (https?://\S+)")


class Server:
    """`handoff serve` on its own database (db: a postgres:// URL; default a SQLite file in work), in
    work, a folder the client's workspace is not in."""

    def __init__(self, binary: str, env: Dict[str, str], work: Path, args: Sequence[str] = (), db: str = ""):
        self.binary, self.work, self.args = binary, work, list(args)
        self.db = db or str(work / "handoff.db")
        self.env = dict(env, HANDOFF_DATABASE_URL=self.db)
        self.addr = "127.0.0.1:0"  # the port it got the first time, on restarts
        self.url = ""
        self.proc: Optional[subprocess.Popen] = None
        self.lines: List[str] = []  # what it printed on stderr
        self._lock = threading.Lock()

    def token(self, name: str, scope: str) -> str:
        """A new token with scope (comma-separated), as `handoff token create` prints it."""
        p = subprocess.run([self.binary, "token", "create", "--name", name, "--scope", scope], cwd=self.work,
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        token = p.stdout.decode().strip()
        assert TOKEN_PATTERN.fullmatch(token), "handoff token create printed no token"
        return token

    def start(self) -> "Server":
        """Starts serve and returns once it said where it listens."""
        self.proc = subprocess.Popen([self.binary, "serve", "--addr", self.addr, *self.args], cwd=self.work,
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        found = threading.Event()
        got: Dict[str, str] = {}

        def read(stream):
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                with self._lock:
                    self.lines.append(line)
                m = _LISTENING.search(line)
                if m and not found.is_set():
                    got["url"] = m.group(1)
                    found.set()
            found.set()  # it exited

        threading.Thread(target=read, args=(self.proc.stderr,), daemon=True).start()
        if not found.wait(30) or "url" not in got:
            self.stop()
            pytest.fail("handoff serve never said where it listens:\n" + self.log())
        self.url = got["url"]
        self.addr = urllib.parse.urlsplit(self.url).netloc
        return self

    def stop(self, timeout: float = 30) -> Optional[int]:
        """SIGTERM, then its exit status (SIGKILL past timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        with self._lock:
            return "\n".join(self.lines)


# A fault the proxy answers instead of the server: an HTTP status (a problem JSON
# answer), "drop" (the connection ends before the request reaches the server),
# "lose" (the server acts on the request, its answer is lost), or a function
# rewriting the server's answer (status, JSON) → (status, JSON).
Fault = Any


class Proxy:
    """An HTTP proxy to upstream that records each request and can answer faults."""

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.requests: List[Dict[str, Any]] = []  # {"method", "path", "auth", "json", "status"}
        self._faults: List[Tuple[str, Fault]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes, headers: Dict[str, str]):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drop(self):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                seen: Dict[str, Any] = {"method": self.command, "path": self.path,
                                        "auth": self.headers.get("Authorization"), "status": None,
                                        "json": json.loads(body) if self.headers.get("Content-Type") == "application/json" else None}
                fault = proxy._take(f"{self.command} {self.path}")
                with proxy._lock:
                    proxy.requests.append(seen)
                if fault == "drop":
                    seen["status"] = "drop"
                    return self._drop()
                if isinstance(fault, int):
                    seen["status"] = fault
                    problem = {"title": http.client.responses.get(fault, ""), "status": fault,
                               "detail": f"the proxy answers {fault}"}
                    return self._answer(fault, json.dumps(problem).encode(), {"Content-Type": "application/problem+json"})
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    status, data = resp.status, resp.read()
                    out = {k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "retry-after", "www-authenticate")}
                except (OSError, http.client.HTTPException):
                    seen["status"] = "upstream down"
                    return self._drop()  # as the server's own connection would
                finally:
                    conn.close()
                if fault == "lose":
                    seen["status"] = f"{status} lost"
                    return self._drop()
                if callable(fault):
                    status, got = fault(status, json.loads(data))
                    data = json.dumps(got).encode()
                seen["status"] = status
                self._answer(status, data, out)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def fail(self, match: str, *faults: Fault) -> None:
        """The next requests whose "METHOD path" contains match get faults, one each, in order."""
        with self._lock:
            self._faults.extend((match, f) for f in faults)

    def _take(self, line: str) -> Optional[Fault]:
        with self._lock:
            for i, (match, fault) in enumerate(self._faults):
                if match in line:
                    del self._faults[i]
                    return fault
        return None

    def seen(self, match: str = "") -> List[Dict[str, Any]]:
        """The recorded requests whose "METHOD path" contains match."""
        with self._lock:
            return [r for r in self.requests if match in f"{r['method']} {r['path']}"]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()



def established(port: int) -> int:
    """How many TCP connections to 127.0.0.1:port are open now, as the server's side of them
    (/proc/net/tcp): a request in flight, such as a long-poll."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            local, _, state = line.split()[1:4]
            if state == "01" and local == "0100007F:%04X" % port:  # ESTABLISHED, 127.0.0.1:port
                n += 1
    return n

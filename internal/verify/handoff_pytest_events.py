"""pytest plugin of handoff's internal/verify (embedded in the Go binary).

It writes one JSON line per event to $HANDOFF_EVENTS, flushed at once so a
run killed at its timeout still shows which test was running; deselects the
test functions listed in the JSON file $HANDOFF_SKIP; and, under coverage.py,
records each test function's coverage in a dynamic context named after it.
"""
import json
import os

import pytest

_ids = {}
_out = None


def _emit(**event):
    global _out
    if _out is None:
        _out = open(os.environ["HANDOFF_EVENTS"], "a", encoding="utf-8")
    _out.write(json.dumps(event) + "\n")
    _out.flush()


def _func_id(item):
    name = getattr(item, "originalname", None)
    parent = getattr(item, "parent", None)
    if name and parent is not None and parent.nodeid:
        return parent.nodeid + "::" + name
    return item.nodeid.split("[")[0]


def pytest_collection_modifyitems(config, items):
    skip = set()
    path = os.environ.get("HANDOFF_SKIP")
    if path:
        with open(path, encoding="utf-8") as fh:
            skip = set(json.load(fh))
    keep, gone = [], []
    for item in items:
        fid = _func_id(item)
        _ids[item.nodeid] = fid
        (gone if fid in skip else keep).append(item)
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = keep


def pytest_collectreport(report):
    if report.failed:
        _emit(e="collect", path=str(report.nodeid), text=str(report.longrepr))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    fid = _ids.get(item.nodeid) or _func_id(item)
    _emit(e="start", id=fid, node=item.nodeid)
    cov = None
    try:
        import coverage
        cov = coverage.Coverage.current()
    except Exception:
        cov = None
    if cov is not None:
        cov.switch_context(fid)
    yield
    if cov is not None:
        cov.switch_context("")


def pytest_runtest_logreport(report):
    fid = _ids.get(report.nodeid) or report.nodeid.split("[")[0]
    text = ""
    if report.failed:
        text = str(report.longrepr)[-4000:]
    elif report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    _emit(e="report", id=fid, when=report.when, outcome=report.outcome,
          xfail=hasattr(report, "wasxfail"), text=text)

import os
import subprocess
import tempfile

import pytest

from shapes.geometry import Rect, area_circle, clamp, classify


def test_classify_negative():
    # good: covers the negative branch
    assert classify(-2) == "negative"


def test_area_again():
    # passes, but the existing test covers area_circle already
    assert area_circle(1) == pytest.approx(3.14159, rel=1e-4)


def test_clamp_wrong():
    # fails against the real clamp
    assert clamp(5, 0, 3) == 5


def test_no_assert():
    # asserts nothing
    classify(0)


class TestRect:
    def test_area(self):
        # good: covers Rect
        assert Rect(2, 3).area() == 6


def test_hang():
    # never ends, and leaves a child process behind
    assert subprocess.run(["sleep", "3602"]).returncode == 0


def test_clamp_flaky():
    # passes on odd runs only (a counter in the temporary directory)
    path = os.path.join(tempfile.gettempdir(), "handoff-flaky-counter")
    n = 0
    if os.path.exists(path):
        with open(path) as fh:
            n = int(fh.read().strip() or 0)
    n += 1
    with open(path, "w") as fh:
        fh.write(str(n))
    assert n % 2 == 1, "run %d fails" % n
    assert clamp(-1, 0, 3) == 0

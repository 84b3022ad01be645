import subprocess
import time

from shapes.geometry import classify


def test_classify_zero():
    assert classify(0) == "zero"


def test_sleeps_forever():
    # a child that would outlive the test, then a sleep that never ends
    subprocess.Popen(["sleep", "3606"])
    while True:
        time.sleep(1)
    assert False

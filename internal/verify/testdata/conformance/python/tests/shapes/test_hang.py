import subprocess


def test_hang():
    assert subprocess.run(["sleep", "3605"]).returncode == 0

"""The workspace snapshot the HTTP transport sends: git's blob IDs and modes, the right files."""

import os
import subprocess

import pytest

from conftest import git, git_repo
from handoff_client import InvalidRequestError, blob_id
from handoff_client import snapshot


def test_blob_ids_and_modes_are_gits(tmp_path):
    ws = git_repo(tmp_path / "ws", {
        ".gitignore": "build/\n*.log\n",
        "a.go": "package a\n",
        "dir/b.txt": "",
        "dir/bin.dat": "",
        "run.sh": "#!/bin/sh\necho hi\n",
    })
    (ws / "dir/bin.dat").write_bytes(bytes(range(256)) * 3 + b"\0\r\n")
    os.chmod(ws / "run.sh", 0o755)
    os.symlink("../a.go", ws / "dir/link")
    (ws / "build").mkdir()
    (ws / "build/out.o").write_text("ignored")
    (ws / "debug.log").write_text("ignored")
    (ws / "new.go").write_text("package a // untracked, not ignored\n")
    (ws / ".handoff/remote").mkdir(parents=True)
    (ws / ".handoff/remote/x.json").write_text("{}")
    os.remove(ws / "dir/b.txt")  # deleted from the work tree, still in the index

    root, in_git = snapshot.find_root(str(ws / "dir"))
    assert (root, in_git) == (str(ws.resolve()), True)
    got = snapshot.snapshot(root, in_git)
    assert sorted(got) == [".gitignore", "a.go", "dir/bin.dat", "dir/link", "new.go", "run.sh"]

    git(ws, "add", "-A")  # git's own view of the same files
    staged = {}
    for line in git(ws, "ls-files", "-s").splitlines():
        meta, path = line.split("\t", 1)
        mode, oid, _ = meta.split()
        if not path.startswith(".handoff/"):  # git would take it; handoff's own state never travels
            staged[path] = (mode, oid)
    assert {p: (e.mode, e.id) for p, e in got.items()} == staged
    assert got["run.sh"].mode == snapshot.MODE_EXECUTABLE
    assert got["dir/link"].mode == snapshot.MODE_SYMLINK
    assert got["dir/bin.dat"].size == 256 * 3 + 3
    hashed = subprocess.run(["git", "hash-object", "dir/bin.dat", "new.go"], cwd=ws, check=True,
                            stdout=subprocess.PIPE).stdout.decode().split()
    assert hashed == [got["dir/bin.dat"].id, got["new.go"].id]
    assert blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_outside_git_every_file_but_git_and_handoff(tmp_path):
    ws = tmp_path / "plain"
    for name in ["a.py", "pkg/b.py", ".handoff/handoff.db", "sub/.git/HEAD", ".hidden"]:
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(name)
    root, in_git = snapshot.find_root(str(ws / "pkg"))
    assert (root, in_git) == (str(ws / "pkg"), False), "outside git the root is the folder itself"
    root, in_git = snapshot.find_root(str(ws))
    got = snapshot.snapshot(root, in_git)
    assert sorted(got) == [".hidden", "a.py", "pkg/b.py"]
    assert got["a.py"].id == blob_id(b"a.py")


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../outside"])
def test_symlink_leaving_the_workspace_is_refused(tmp_path, target):
    ws = git_repo(tmp_path / "ws", {"a.go": "package a\n"})
    os.symlink(target, ws / "escape")
    with pytest.raises(InvalidRequestError, match="escape is a symbolic link to .* outside the workspace"):
        snapshot.snapshot(*snapshot.find_root(str(ws)))


def test_resolve_paths_like_the_cli(tmp_path):
    ws = git_repo(tmp_path / "ws", {"pkg/calc.go": "package calc\n"})
    root = str(ws.resolve())
    assert snapshot.resolve(root, str(ws / "pkg"), "calc.go", "module") == "pkg/calc.go"
    assert snapshot.resolve(root, root, str(ws / "pkg/calc.go"), "module") == "pkg/calc.go"
    with pytest.raises(InvalidRequestError, match="outside the workspace"):
        snapshot.resolve(root, root, "../elsewhere.go", "module")
    os.symlink(str(tmp_path), ws / "out")
    with pytest.raises(InvalidRequestError, match="through a symbolic link"):
        snapshot.resolve(root, root, "out/x.go", "output")

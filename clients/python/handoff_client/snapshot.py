"""The caller's workspace as the server sees it: its root, its files and their git blob IDs.

The HTTP transport sends a workspace as a list of entries (path, mode, blob
ID, size); the server asks for the blobs it lacks. Blob IDs are git's (the
SHA-1 of ``b"blob <size>\\0" + content``, what ``git hash-object`` prints),
so a workspace in git and one outside it are described the same way.
"""

import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

from .errors import HandoffError, InvalidRequestError

MODE_FILE = "100644"
MODE_EXECUTABLE = "100755"
MODE_SYMLINK = "120000"

# The folder where handoff keeps its own state in a workspace; never part of a snapshot.
STATE_DIR = ".handoff"


def blob_id(content: bytes) -> str:
    """git's blob ID of content: what ``git hash-object`` prints for a file holding it."""
    h = hashlib.sha1(b"blob %d\0" % len(content))
    h.update(content)
    return h.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One file of a snapshot: a slash-separated path relative to the root."""

    path: str
    mode: str
    id: str
    size: int

    def as_json(self) -> dict:
        return {"path": self.path, "mode": self.mode, "id": self.id, "size": self.size}


def _is_git_top(d: str) -> bool:
    g = os.path.join(d, ".git")
    if os.path.isdir(g):
        return os.path.exists(os.path.join(g, "HEAD"))
    if os.path.isfile(g):  # worktrees and submodules: "gitdir: ..."
        try:
            with open(g, "rb") as f:
                return f.read(8) == b"gitdir: "
        except OSError:
            return False
    return False


def find_root(start: str) -> Tuple[str, bool]:
    """The workspace root for start: its git work tree's top, else start itself.

    Returns (root, in_git); root is absolute with symbolic links resolved.
    """
    real = os.path.realpath(os.path.abspath(start))
    if not os.path.isdir(real):
        raise InvalidRequestError(f"workspace {real} is not an existing folder; name an existing one, or none for the working directory")
    d = real
    while True:
        if _is_git_top(d):
            return d, True
        parent = os.path.dirname(d)
        if parent == d:
            return real, False
        d = parent


def inside(root: str, p: str) -> Optional[str]:
    """p (absolute, normalized) relative to root, or None when p is outside it."""
    rel = os.path.relpath(p, root)
    if rel == os.curdir:
        return ""
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return rel


def resolve(root: str, base: str, p: str, what: str) -> str:
    """p (absolute, or relative to base) as a slash-separated path relative to root.

    Refuses paths outside the root, also through a symbolic link, as the
    command line does.
    """
    if not p:
        raise InvalidRequestError(f"{what}: the path is empty; give a path relative to the workspace root {root}")
    full = os.path.normpath(p if os.path.isabs(p) else os.path.join(base, p))
    rel = inside(root, full)
    if rel is None:  # base or p may be spelled through a link to the root
        real_base = os.path.realpath(base)
        full = os.path.normpath(p if os.path.isabs(p) else os.path.join(real_base, p))
        rel = inside(root, full)
    if rel is None or rel == "":
        raise InvalidRequestError(f"{what}: {p} is outside the workspace {root}; give a path inside it, relative to the workspace or working directory")
    if inside(root, os.path.realpath(os.path.join(root, rel))) is None:  # realpath follows the links that exist
        raise InvalidRequestError(f"{what}: {p} leads outside the workspace {root} through a symbolic link; give the real path inside it")
    return rel.replace(os.sep, "/")


def _git_paths(root: str) -> List[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
        )
    except FileNotFoundError:
        raise HandoffError(f"{root} is a git work tree but the git command is not installed; install git") from None
    if out.returncode != 0:
        raise HandoffError(f"git ls-files in {root} failed: {out.stderr.decode(errors='replace').strip()}")
    return sorted({os.fsdecode(p) for p in out.stdout.split(b"\0") if p})


def _dir_paths(root: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for d in dirnames:
            if d == ".git" or (rel_dir == os.curdir and d == STATE_DIR):
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                filenames.append(d)  # a link to a folder is stored as a link
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rel = f if rel_dir == os.curdir else os.path.join(rel_dir, f)
            yield rel.replace(os.sep, "/")


def read_entry(root: str, path: str) -> Optional[Tuple[str, bytes]]:
    """(mode, content) of the file at path, or None when it is absent or not a file or link.

    A link's content is its target; a link leading outside the root is refused.
    """
    full = os.path.join(root, *path.split("/"))
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(full)
        resolved = os.path.normpath(os.path.join(os.path.dirname(full), target))
        if os.path.isabs(target) or inside(root, resolved) is None:
            raise InvalidRequestError(
                f"{path} is a symbolic link to {target}, outside the workspace {root}; "
                "the server cannot follow it: make it point inside the workspace, or leave it out "
                "(.gitignore in a git workspace)")
        return MODE_SYMLINK, os.fsencode(target)
    if not stat.S_ISREG(st.st_mode):
        return None  # a folder (a submodule), device, socket or pipe
    with open(full, "rb") as f:
        content = f.read()
    return (MODE_EXECUTABLE if st.st_mode & 0o111 else MODE_FILE), content


def snapshot(root: str, in_git: bool) -> Dict[str, Entry]:
    """Every file of the workspace by path: in git the tracked and untracked-not-ignored
    files, outside git every file but .git and .handoff; never .handoff."""
    paths = _git_paths(root) if in_git else sorted(_dir_paths(root))
    entries = {}
    for p in paths:
        if p == STATE_DIR or p.startswith(STATE_DIR + "/"):
            continue
        got = read_entry(root, p)
        if got is None:
            continue  # deleted from the work tree but still in the index, or not a file
        mode, content = got
        entries[p] = Entry(p, mode, blob_id(content), len(content))
    return entries


def file_blob_id(root: str, path: str) -> Optional[str]:
    """The blob ID of the file at path now, or None when it is absent."""
    try:
        got = read_entry(root, path)
    except InvalidRequestError:
        return "link-outside"
    return None if got is None else blob_id(got[1])

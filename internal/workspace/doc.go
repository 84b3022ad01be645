// Package workspace captures the user's workspace as an immutable snapshot,
// materialises it as an isolated task directory, reports what an agent
// changed there, and writes kept files back to the workspace safely.
//
// A git workspace is snapshotted as a tree object written from a temporary
// copy of the index (tracked plus untracked-not-ignored files), pinned by
// refs/handoff/<id> so git gc keeps it; the user's index, HEAD, branches and
// files are never touched. When nothing was written in the workspace since
// the last snapshot's git started reading, that tree is pinned again instead
// (reuse.go). Any other folder is copied to
// <root>/.handoff/snapshots/<id>/. The .handoff/ directory at the root holds
// handoff's own state and is never part of a snapshot.
//
// Every path that reaches the file system is checked with Resolve first, so a
// path with "..", an absolute path elsewhere or a symlink pointing out of the
// workspace is refused with ErrOutsideWorkspace.
package workspace

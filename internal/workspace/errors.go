package workspace

import "errors"

// ErrOutsideWorkspace is wrapped by every error that refuses a path because it
// leaves the workspace ("..", an absolute path elsewhere, a symlink pointing
// out) or points into a place handoff never writes (.git, .handoff). Match it
// with errors.Is; the wrapping message names the path and the fix.
var ErrOutsideWorkspace = errors.New("path is outside the workspace")

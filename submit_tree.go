package handoff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// SubmitTree submits requests whose workspace is a tree stored in the
// database (uploaded through the HTTP API) rather than a folder this
// machine sees: the validation, defaults, idempotency and one-transaction
// insert of SubmitMany, with every path resolved against the stored
// tree. Each request's Workspace is the submitter's own absolute path to
// its workspace root, recorded and shown, never read here; Module and
// Output are relative to it (or absolute below it). A worker runs the
// tasks from the tree, and their kept tests wait in the database for the
// submitter to write (Result.Apply.Pending).
func (c *Client) SubmitTree(ctx context.Context, tree string, rs []Request) ([]string, error) {
	if !treeIDPattern.MatchString(tree) {
		return nil, fieldError("tree", "%q is not a tree ID (64 hex digits); store the workspace first and give the ID it returns", tree)
	}
	ws, err := c.snaps.FS(ctx, tree)
	if errors.Is(err, snapstore.ErrNotFound) {
		return nil, fieldError("tree", "tree %s is not in the database; store the workspace first (POST /v1/trees or /v1/snapshots) and give the ID it returns", tree)
	}
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", tree, err)
	}
	return c.submit(ctx, rs, storedTree{id: tree, fs: ws})
}

// treeIDPattern is a snapstore tree ID.
var treeIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// storedTree is a tree in the database, seen through its entries: the
// language rules read listings from them, and the few contents they need
// (a package clause, a link's target) from the database.
type storedTree struct {
	id string
	fs fs.ReadLinkFS
}

func (t storedTree) resolvePaths(r Request) (Request, string, error) {
	if r.Workspace == "" {
		return r, "", fieldError("Request.Workspace", "no workspace given; give the absolute path of the workspace root on the submitting machine (it is recorded, never read here)")
	}
	root := r.Workspace
	norm, lang, err := resolveModule(r, t.fs, root, func(p string) (string, error) { return workspace.ResolveFS(t.fs, root, p) })
	if err != nil {
		return r, "", err
	}
	norm.Workspace = r.Workspace
	return norm, lang, nil
}

func (t storedTree) snapshots(_ context.Context, ps []pending, ids []string, fresh []int) ([]workspace.Snapshot, func(), error) {
	snaps := make([]workspace.Snapshot, len(ps))
	for _, i := range fresh {
		snaps[i] = workspace.Snapshot{ID: ids[i], Workspace: ps[i].norm.Workspace, Kind: workspace.KindStored, Tree: t.id}
	}
	return snaps, func() {}, nil
}

package handoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/verify"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Defaults applied by Submit to fields left zero; their home is
// handofftype (handofftype.DefaultCoverage, ...).
const (
	DefaultCoverage    = handofftype.DefaultCoverage
	DefaultTimeout     = handofftype.DefaultTimeout
	DefaultMaxAttempts = handofftype.DefaultMaxAttempts
	DefaultMaxRounds   = handofftype.DefaultMaxRounds
	DefaultRuns        = handofftype.DefaultRuns
	DefaultTestTimeout = handofftype.DefaultTestTimeout
	DefaultPriority    = handofftype.DefaultPriority
	DefaultApply       = handofftype.DefaultApply
)

// MinTimeout is the shortest Timeout and TestTimeout Submit accepts: a
// task's timeout is kept in milliseconds, and a shorter one could not run
// anything anyway.
const MinTimeout = time.Second

// Submit validates r, snapshots its workspace and enqueues the task, all in
// milliseconds whatever the agent will take. It returns the task ID. A
// rejected request creates nothing.
func (c *Client) Submit(ctx context.Context, r Request) (string, error) {
	ids, err := c.SubmitMany(ctx, []Request{r})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SubmitMany submits several requests together, as a pipeline's generate
// stage does: every request is validated before anything is created, each
// workspace is snapshotted once, so all the tasks start from the same state,
// and the tasks are queued in one transaction: all of them or none. It
// returns the task IDs in the order of rs. A request whose idempotency key
// names an earlier task with the same request gets that task's ID.
func (c *Client) SubmitMany(ctx context.Context, rs []Request) ([]string, error) {
	return c.submit(ctx, rs, localFiles{c})
}

// submit queues a batch whose files come from src, again when a
// concurrent submit took one of its idempotency keys meanwhile.
func (c *Client) submit(ctx context.Context, rs []Request, src files) ([]string, error) {
	for range 3 {
		ids, err := c.submitOnce(ctx, rs, src)
		if !errors.Is(err, errLostKeyRace) {
			return ids, err
		}
		// Another submit took one of the keys between our check and our
		// insert; nothing of this batch was written. Again: the key now
		// resolves to its task.
	}
	return nil, fmt.Errorf("recording task: idempotency keys of this batch keep being taken by concurrent submits; submit again")
}

// files is where a batch's files come from: the workspaces on this
// machine (Submit) or a tree stored in the database (SubmitTree).
type files interface {
	// resolvePaths sets r's workspace and makes its module and output
	// paths relative to it, checked by the language rules; it returns the
	// module's language.
	resolvePaths(r Request) (Request, string, error)
	// snapshots returns the fresh requests' snapshots by request, and a
	// release for when the tasks are not queued after all.
	snapshots(ctx context.Context, ps []pending, ids []string, fresh []int) ([]workspace.Snapshot, func(), error)
}

// localFiles are the workspaces as this machine sees them.
type localFiles struct{ c *Client }

func (l localFiles) resolvePaths(r Request) (Request, string, error) { return l.c.resolvePaths(r) }

func (l localFiles) snapshots(ctx context.Context, ps []pending, ids []string, fresh []int) ([]workspace.Snapshot, func(), error) {
	return l.c.takeSnapshots(ctx, ps, ids, fresh)
}

// errLostKeyRace: an idempotency key was taken between the check and the
// insert.
var errLostKeyRace = errors.New("lost an idempotency key race")

// pending is one request of a batch, checked and filled.
type pending struct {
	norm Request
	lang string
	hash string
}

func (c *Client) submitOnce(ctx context.Context, rs []Request, src files) ([]string, error) {
	ps, err := c.prepare(rs, src)
	if err != nil {
		return nil, err
	}
	ids, fresh, err := c.assignIDs(ctx, ps)
	if err != nil || len(fresh) == 0 {
		return ids, err
	}
	snaps, release, err := src.snapshots(ctx, ps, ids, fresh)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ins := make([]engine.Insertion, 0, len(fresh))
	for _, i := range fresh {
		p := ps[i]
		rec := &store.Record{
			ID: ids[i], IdempotencyKey: p.norm.IdempotencyKey, RequestHash: p.hash, Request: p.norm, Snapshot: snaps[i],
			Language: p.lang, State: handofftype.StateQueued, MaxAttempts: p.norm.MaxAttempts, CreatedAt: now,
		}
		ins = append(ins, engine.Insertion{Record: rec, Priority: priorityLevel(p.norm.Priority), Timeout: p.norm.Timeout,
			Queue: engine.QueueFor(p.lang, p.norm.Agent)})
	}
	if err := c.eng.InsertMany(ctx, ins); err != nil {
		release()
		if errors.Is(err, store.ErrDuplicateKey) {
			return nil, errLostKeyRace
		}
		return nil, fmt.Errorf("recording task: %w", err)
	}
	return ids, nil
}

// prepare checks and fills every request of a batch, before anything is
// created.
func (c *Client) prepare(rs []Request, src files) ([]pending, error) {
	ps := make([]pending, len(rs))
	for i, r := range rs {
		norm, lang, err := c.normalize(r, src)
		if err != nil {
			if len(rs) > 1 {
				return nil, fmt.Errorf("request %d of %d (module %s): %w", i+1, len(rs), r.Module, err)
			}
			return nil, err
		}
		ps[i] = pending{norm, lang, requestHash(norm)}
	}
	return ps, nil
}

// assignIDs gives each request its task ID: the earlier task's when its
// idempotency key names one with the same request, a new one otherwise.
// fresh lists the requests that make a new task.
func (c *Client) assignIDs(ctx context.Context, ps []pending) (ids []string, fresh []int, err error) {
	ids = make([]string, len(ps))
	byKey := map[string]int{} // first request with each key in this batch
	for i, p := range ps {
		if key := p.norm.IdempotencyKey; key != "" {
			if j, ok := byKey[key]; ok {
				if ps[j].hash != p.hash {
					return nil, nil, fmt.Errorf("%w: key %q is given to two different requests (%d and %d); use a key per request",
						ErrIdempotencyConflict, key, j+1, i+1)
				}
				continue // filled from j below
			}
			byKey[key] = i
			id, err := c.existing(ctx, key, p.hash)
			if err != nil {
				return nil, nil, err
			}
			if id != "" {
				ids[i] = id
				continue
			}
		}
		ids[i] = uuid.Must(uuid.NewV7()).String()
		fresh = append(fresh, i)
	}
	for i, p := range ps {
		if j, ok := byKey[p.norm.IdempotencyKey]; ok && j != i {
			ids[i] = ids[j]
		}
	}
	return ids, fresh, nil
}

// takeSnapshots takes one snapshot per workspace of the fresh requests,
// pinned under each new task's ID and stored in the database (one tree for
// the batch, for workers that do not see the workspace), and returns them
// by request, with a release for when the tasks are not queued after all.
func (c *Client) takeSnapshots(ctx context.Context, ps []pending, ids []string, fresh []int) ([]workspace.Snapshot, func(), error) {
	byRoot := map[string][]int{}
	var roots []string
	for _, i := range fresh {
		root := ps[i].norm.Workspace
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], i)
	}
	snaps := make([]workspace.Snapshot, len(ps))
	var taken []workspace.Snapshot
	release := func() {
		for _, s := range taken {
			_ = s.Release(context.WithoutCancel(ctx))
		}
	}
	for _, root := range roots {
		idx := byRoot[root]
		snapIDs := make([]string, len(idx))
		for k, i := range idx {
			snapIDs[k] = ids[i]
		}
		got, err := workspace.TakeMany(ctx, root, snapIDs)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("snapshotting workspace %s: %w", root, err)
		}
		taken = append(taken, got...)
		stored, _, err := got[0].Store(ctx, c.snaps)
		if errors.Is(err, snapstore.ErrTooLarge) {
			release()
			return nil, nil, fmt.Errorf("%w: workspace %s: %v", ErrInvalidRequest, root, err)
		}
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("storing the snapshot of workspace %s: %w", root, err)
		}
		for k, i := range idx {
			got[k].Tree = stored.Tree
			snaps[i] = got[k]
		}
	}
	return snaps, release, nil
}

// existing returns the task already submitted under key, or an error when
// that task's request differs.
func (c *Client) existing(ctx context.Context, key, hash string) (string, error) {
	rec, err := c.store.ByIdempotencyKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if rec.RequestHash != hash {
		return "", fmt.Errorf("%w: key %q belongs to task %s; use a new key for a new request", ErrIdempotencyConflict, key, rec.ID)
	}
	return rec.ID, nil
}

// normalize checks r and fills every default, so that the stored request
// says exactly what will run. It returns the module's language.
func (c *Client) normalize(r Request, src files) (Request, string, error) {
	r, lang, err := src.resolvePaths(r)
	if err != nil {
		return r, "", err
	}
	if err := fillDefaults(&r); err != nil {
		return r, "", err
	}
	if err := c.chooseAgent(&r, lang); err != nil {
		return r, "", err
	}
	return r, lang, nil
}

// resolvePaths makes r's workspace its repository's root and its module and
// output paths relative to it, and checks them by the language rules.
func (c *Client) resolvePaths(r Request) (Request, string, error) {
	// Relative paths are relative to the workspace the caller named (or the
	// working directory), which may sit below the repository's root.
	base := r.Workspace
	if base == "" {
		base = c.base
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return r, "", fieldError("Request.Workspace", "%s: %v", r.Workspace, err)
	}
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		return r, "", fieldError("Request.Workspace", "%s is not an existing folder; name an existing one, or none for the working directory", base)
	}
	root, err := workspace.Root(base)
	if err != nil {
		return r, "", fieldError("Request.Workspace", "%s: %v", base, err)
	}
	r.Workspace = root
	return resolveModule(r, os.DirFS(root), base, func(p string) (string, error) { return workspace.Resolve(root, p) })
}

// resolveModule makes r's module and output paths, relative to base or
// absolute, relative to the workspace's root with resolve, and checks them
// by the language rules against ws, the workspace's files.
func resolveModule(r Request, ws fs.FS, base string, resolve func(p string) (string, error)) (Request, string, error) {
	if r.Module == "" {
		return r, "", fieldError("Request.Module", "no module given; name the file or Go package to cover")
	}
	mod, err := resolve(under(base, r.Module))
	if err != nil {
		return r, "", fieldError("Request.Module", "%s: %v", r.Module, err)
	}
	if _, err := fs.Stat(ws, mod); err != nil {
		return r, "", fieldError("Request.Module", "%s does not exist in %s; give a path relative to the workspace or working directory", r.Module, base)
	}
	r.Module = mod
	lang, err := verify.Language(ws, mod)
	if err != nil {
		return r, "", fieldError("Request.Module", "%s: %v", mod, err)
	}
	if r.Output == "" {
		if r.Output, err = verify.DefaultOutput(ws, mod); err != nil {
			return r, "", fieldError("Request.Module", "%s: %v", mod, err)
		}
		return r, lang, nil
	}
	if r.Output, err = resolve(under(base, r.Output)); err != nil {
		return r, "", fieldError("Request.Output", "%s: %v", r.Output, err)
	}
	if err := verify.CheckOutput(lang, r.Output); err != nil {
		return r, "", fieldError("Request.Output", "%v", err)
	}
	return r, lang, nil
}

// fillDefaults fills r's fields left zero with the defaults and checks the
// others are in range.
func fillDefaults(r *Request) error {
	if r.Coverage == nil {
		r.Coverage = Coverage(DefaultCoverage)
	} else if c := *r.Coverage; !(c >= 0 && c <= 100) { // NaN fails every comparison
		return fieldError("Request.Coverage", "coverage %g is outside 0..100; give a percentage such as 80", c)
	}
	switch r.Priority {
	case "":
		r.Priority = DefaultPriority
	case PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return fieldError("Request.Priority", "%q is not one of low, normal, high, critical", r.Priority)
	}
	switch r.Apply {
	case "":
		r.Apply = DefaultApply
	case ApplyNever, ApplySuccess, ApplyImproved:
	default:
		return fieldError("Request.Apply", "%q is not one of never, success, improved", r.Apply)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Timeout < MinTimeout || r.Timeout > engine.MaxTaskTimeout {
		return fieldError("Request.Timeout", "timeout %s is outside %s..%s; give one like 30m, or none for the default %s",
			r.Timeout, MinTimeout, engine.MaxTaskTimeout, DefaultTimeout)
	}
	for _, n := range []struct {
		field   string
		v       *int
		def, hi int
	}{
		{"Request.MaxAttempts", &r.MaxAttempts, DefaultMaxAttempts, 10},
		{"Request.MaxRounds", &r.MaxRounds, DefaultMaxRounds, 20},
		{"Request.Runs", &r.Runs, DefaultRuns, 50},
	} {
		if *n.v == 0 {
			*n.v = n.def
		} else if *n.v < 1 || *n.v > n.hi {
			return fieldError(n.field, "%d is outside 1..%d; give one in that range, or none for the default %d", *n.v, n.hi, n.def)
		}
	}
	if b := r.BudgetUSD; !(b >= 0) || math.IsInf(b, 1) { // NaN fails every comparison
		return fieldError("Request.BudgetUSD", "budget %g USD is not a usable amount; give a positive amount or 0 for the agent's default", b)
	}
	if r.TestTimeout == 0 {
		r.TestTimeout = DefaultTestTimeout
	}
	if r.TestTimeout < MinTimeout {
		return fieldError("Request.TestTimeout", "test timeout %s is below the minimum of %s; give one like 5m, or none for the default %s",
			r.TestTimeout, MinTimeout, DefaultTestTimeout)
	}
	return nil
}

// chooseAgent fills r.Agent and checks that it exists, serves the language
// and is configured.
func (c *Client) chooseAgent(r *Request, lang string) error {
	if r.Agent == "" {
		r.Agent = c.cfg.DefaultAgent
	}
	if r.Agent == "" {
		for _, name := range []string{"builtin"} {
			if a, ok := c.agents[name]; ok && slices.Contains(a.Languages(), lang) {
				r.Agent = name
			}
		}
	}
	if r.Agent == "" {
		var serve []string
		for _, n := range c.AgentNames() {
			if slices.Contains(c.agents[n].Languages(), lang) {
				serve = append(serve, n)
			}
		}
		return fieldError("Request.Agent", "no default agent serves %s modules; choose one (%s): exec runs the command in HANDOFF_EXEC_COMMAND, llm asks the model at LLM_BASE_URL, openhands talks to the server at OPENHANDS_URL",
			lang, strings.Join(serve, ", "))
	}
	a, ok := c.agents[r.Agent]
	if !ok {
		return fieldError("Request.Agent", "unknown agent %q; known agents: %s", r.Agent, strings.Join(c.AgentNames(), ", "))
	}
	if len(r.AgentSettings) > 0 {
		ca, ok := a.(agent.Configurable)
		if !ok {
			return fieldError("Request.AgentSettings", "agent %s takes no settings; leave them empty", r.Agent)
		}
		var err error
		if a, err = ca.WithSettings(r.AgentSettings); err != nil {
			return fieldError("Request.Agent", "agent %s: %v", r.Agent, err)
		}
	}
	if !slices.Contains(a.Languages(), lang) {
		return fieldError("Request.Agent", "agent %s does not serve %s modules (it serves %s)", r.Agent, lang, strings.Join(a.Languages(), ", "))
	}
	if ch, ok := a.(agent.Checker); ok {
		if err := ch.Check(); err != nil {
			return fieldError("Request.Agent", "agent %s is not ready: %v", r.Agent, err)
		}
	}
	return settle(r, a)
}

// settle writes into r the settings the task travels with and fingerprints
// of the secrets its agent uses here, so that whichever worker takes the
// task runs it as it was asked, and knows whether it holds the submitter's
// secrets. An agent that is not agent.Configurable runs with the worker's
// own configuration, as before.
func settle(r *Request, a agent.Agent) error {
	r.AgentSecrets = nil
	ca, ok := a.(agent.Configurable)
	if !ok {
		return nil
	}
	raw, err := ca.Settings()
	if err != nil {
		return fieldError("Request.Agent", "agent %s: %v", r.Agent, err)
	}
	r.AgentSettings = raw
	if secrets := ca.Secrets(); len(secrets) > 0 {
		r.AgentSecrets = handofftype.NewSecretPrints(secrets)
	}
	return nil
}

// under makes a relative path absolute against base.
func under(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, filepath.FromSlash(p))
}

// requestHash identifies what a request asks for, for idempotency. The agent
// settings count: the same key with another command line or server is
// another request, which must not silently get the first one's task. The
// secrets' prints do not: they are salted per submit, and a rotated API key
// does not change the work asked for.
func requestHash(r Request) string {
	r.IdempotencyKey = ""
	r.AgentSecrets = nil
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// priorityLevel maps a priority to River's 1 (first) .. 4 (last).
func priorityLevel(p Priority) int {
	switch p {
	case PriorityCritical:
		return 1
	case PriorityHigh:
		return 2
	case PriorityLow:
		return 4
	}
	return 3
}

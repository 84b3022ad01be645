package handoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
	"github.com/handoff-dev/handoff/internal/verify"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Defaults applied by Submit to fields left zero.
const (
	DefaultCoverage    = 80.0
	DefaultTimeout     = 30 * time.Minute
	DefaultMaxAttempts = 3
	DefaultMaxRounds   = 3
	DefaultRuns        = 3
	DefaultTestTimeout = 5 * time.Minute
)

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
	for range 3 {
		ids, err := c.submitOnce(ctx, rs)
		if !errors.Is(err, errLostKeyRace) {
			return ids, err
		}
		// Another submit took one of the keys between our check and our
		// insert; nothing of this batch was written. Again: the key now
		// resolves to its task.
	}
	return nil, fmt.Errorf("recording task: idempotency keys of this batch keep being taken by concurrent submits; submit again")
}

// errLostKeyRace: an idempotency key was taken between the check and the
// insert.
var errLostKeyRace = errors.New("lost an idempotency key race")

func (c *Client) submitOnce(ctx context.Context, rs []Request) ([]string, error) {
	type pending struct {
		norm Request
		lang string
		hash string
	}
	ps := make([]pending, len(rs))
	for i, r := range rs {
		norm, lang, err := c.normalize(r)
		if err != nil {
			if len(rs) > 1 {
				return nil, fmt.Errorf("request %d of %d (module %s): %w", i+1, len(rs), r.Module, err)
			}
			return nil, err
		}
		ps[i] = pending{norm, lang, requestHash(norm)}
	}
	ids := make([]string, len(rs))
	byKey := map[string]int{} // first request with each key in this batch
	var fresh []int           // requests that make a new task
	for i, p := range ps {
		if key := p.norm.IdempotencyKey; key != "" {
			if j, ok := byKey[key]; ok {
				if ps[j].hash != p.hash {
					return nil, fmt.Errorf("%w: key %q is given to two different requests (%d and %d); use a key per request",
						ErrIdempotencyConflict, key, j+1, i+1)
				}
				continue // filled from j below
			}
			byKey[key] = i
			id, err := c.existing(ctx, key, p.hash)
			if err != nil {
				return nil, err
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
	if len(fresh) == 0 {
		return ids, nil
	}

	// One snapshot per workspace, pinned under every new task's ID.
	byRoot := map[string][]int{}
	var roots []string
	for _, i := range fresh {
		root := ps[i].norm.Workspace
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], i)
	}
	snaps := make([]workspace.Snapshot, len(rs))
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
			return nil, fmt.Errorf("snapshotting workspace %s: %w", root, err)
		}
		taken = append(taken, got...)
		for k, i := range idx {
			snaps[i] = got[k]
		}
	}

	now := time.Now()
	ins := make([]engine.Insertion, 0, len(fresh))
	for _, i := range fresh {
		p := ps[i]
		snapJSON, _ := json.Marshal(snaps[i])
		rec := &store.Record{
			ID: ids[i], IdempotencyKey: p.norm.IdempotencyKey, RequestHash: p.hash, Request: p.norm, Snapshot: snapJSON,
			Language: p.lang, State: task.StateQueued, MaxAttempts: p.norm.MaxAttempts, CreatedAt: now,
		}
		ins = append(ins, engine.Insertion{Record: rec, Priority: priorityLevel(p.norm.Priority), Timeout: p.norm.Timeout})
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

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// normalize checks r and fills every default, so that the stored request
// says exactly what will run.
func (c *Client) normalize(r Request) (Request, string, error) {
	// Relative paths are relative to the workspace the caller named (or the
	// working directory), which may sit below the repository's root.
	base := r.Workspace
	if base == "" {
		base = c.base
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return r, "", invalid("workspace %s: %v", r.Workspace, err)
	}
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		return r, "", invalid("workspace %s is not an existing folder; pass one with --workspace", base)
	}
	root, err := workspace.Root(base)
	if err != nil {
		return r, "", invalid("workspace %s: %v", base, err)
	}
	r.Workspace = root
	if r.Module == "" {
		return r, "", invalid("no module given; name the file or Go package to cover with --module")
	}
	mod, err := workspace.Resolve(root, under(base, r.Module))
	if err != nil {
		return r, "", invalid("module %s: %v", r.Module, err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(mod))); err != nil {
		return r, "", invalid("module %s does not exist in %s; give a path relative to the workspace or working directory", r.Module, base)
	}
	r.Module = mod
	lang, err := verify.Language(root, mod)
	if err != nil {
		return r, "", invalid("module %s: %v", mod, err)
	}
	if r.Output == "" {
		if r.Output, err = verify.DefaultOutput(root, mod); err != nil {
			return r, "", invalid("module %s: %v", mod, err)
		}
	} else {
		if r.Output, err = workspace.Resolve(root, under(base, r.Output)); err != nil {
			return r, "", invalid("output %s: %v", r.Output, err)
		}
		if !verify.IsTestFile(lang, r.Output) {
			return r, "", invalid("output %s is not a %s test file name (Go: *_test.go; Python: test_*.py)", r.Output, lang)
		}
	}
	if r.Coverage == nil {
		r.Coverage = Coverage(DefaultCoverage)
	} else if *r.Coverage < 0 || *r.Coverage > 100 {
		return r, "", invalid("coverage %g is outside 0..100; give a percentage such as --coverage 80", *r.Coverage)
	}
	if err := c.chooseAgent(&r, lang); err != nil {
		return r, "", err
	}
	switch r.Priority {
	case "":
		r.Priority = PriorityNormal
	case PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return r, "", invalid("priority %q is not one of low, normal, high, critical", r.Priority)
	}
	switch r.Apply {
	case "":
		r.Apply = ApplyImproved
	case ApplyNever, ApplySuccess, ApplyImproved:
	default:
		return r, "", invalid("apply %q is not one of never, success, improved", r.Apply)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Timeout < 0 || r.Timeout > engine.MaxTaskTimeout {
		return r, "", invalid("timeout %s is outside (0, %s]", r.Timeout, engine.MaxTaskTimeout)
	}
	var bad []string
	r.MaxAttempts = orDefault(r.MaxAttempts, DefaultMaxAttempts, 1, 10, "max attempts", &bad)
	r.MaxRounds = orDefault(r.MaxRounds, DefaultMaxRounds, 1, 20, "max rounds", &bad)
	r.Runs = orDefault(r.Runs, DefaultRuns, 1, 50, "runs", &bad)
	if len(bad) > 0 {
		return r, "", invalid("%s", strings.Join(bad, "; "))
	}
	if r.BudgetUSD < 0 {
		return r, "", invalid("budget %g USD is negative; give a positive amount or 0 for the agent's default", r.BudgetUSD)
	}
	if r.TestTimeout == 0 {
		r.TestTimeout = DefaultTestTimeout
	}
	if r.TestTimeout < 0 {
		return r, "", invalid("test timeout %s is negative", r.TestTimeout)
	}
	return r, lang, nil
}

func orDefault(v, def, lo, hi int, name string, bad *[]string) int {
	if v == 0 {
		return def
	}
	if v < lo || v > hi {
		*bad = append(*bad, fmt.Sprintf("%s %d is outside %d..%d", name, v, lo, hi))
	}
	return v
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
		return invalid("no default agent serves %s modules; choose one with --agent (%s): exec runs the command in HANDOFF_EXEC_COMMAND, openhands talks to the server at OPENHANDS_URL",
			lang, strings.Join(serve, ", "))
	}
	a, ok := c.agents[r.Agent]
	if !ok {
		return invalid("unknown agent %q; known agents: %s", r.Agent, strings.Join(c.AgentNames(), ", "))
	}
	if !slices.Contains(a.Languages(), lang) {
		return invalid("agent %s does not serve %s modules (it serves %s)", r.Agent, lang, strings.Join(a.Languages(), ", "))
	}
	if ch, ok := a.(agent.Checker); ok {
		if err := ch.Check(); err != nil {
			return invalid("agent %s is not ready: %v", r.Agent, err)
		}
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

func requestHash(r Request) string {
	r.IdempotencyKey = ""
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

package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/runner"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Client submits, inspects and works tasks on one database. It is safe for
// concurrent use.
type Client struct {
	cfg       Config
	db        *database.DB
	eng       *engine.Engine
	store     *store.Store
	snaps     *snapstore.Store
	runner    *runner.Runner
	base      string // default workspace: relative module paths start here
	workspace string // its root: the git top, else base itself
	agents    map[string]agent.Agent

	mu      sync.Mutex // guards working
	working bool
}

// Open connects to the database (creating and migrating it when needed).
func Open(ctx context.Context, cfg Config) (*Client, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := workspace.EnsureStateDir(c.workspace)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDatabase, err)
		}
		url = filepath.Join(dir, databaseFile)
	}
	db, err := database.Open(ctx, url, database.Options{Workers: cfg.Workers})
	if err != nil {
		return nil, err
	}
	return c.attach(db)
}

// OpenExisting connects to the database as Open does, for a client that
// only reads (Status, List, Results, Cancel): it never creates a database
// or handoff's state directory. When there is no handoff database where
// cfg points, the error wraps ErrNoDatabase and says where it looked and
// how to point at the right one.
func OpenExisting(ctx context.Context, cfg Config) (*Client, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	url := cfg.DatabaseURL
	if url == "" {
		url = filepath.Join(c.workspace, workspace.StateDirName, databaseFile)
	}
	db, err := database.OpenExisting(ctx, url, database.Options{Workers: cfg.Workers})
	switch {
	case errors.Is(err, ErrNoDatabase) && cfg.DatabaseURL == "":
		return nil, fmt.Errorf("%w (the default for workspace %s): nothing was submitted from this workspace; "+
			"point at the database with Config.DatabaseURL or HANDOFF_DATABASE_URL, or at the workspace that has it with Config.Workspace", err, c.workspace)
	case errors.Is(err, ErrNoDatabase):
		return nil, fmt.Errorf("%w; check that Config.DatabaseURL or HANDOFF_DATABASE_URL points at the database tasks were submitted to", err)
	case err != nil:
		return nil, err
	}
	return c.attach(db)
}

// databaseFile is the default database's name in the state directory.
const databaseFile = "handoff.db"

// Check validates r as Submit would, without a database: it creates
// nothing and reads only the workspace. A caller that must not leave a
// database behind for a rejected request (the command line) checks first,
// then opens. The error wraps ErrInvalidRequest.
func Check(cfg Config, r Request) error {
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	_, _, err = c.normalize(r, localFiles{c})
	return err
}

// newClient is a client without its database: enough to validate requests.
func newClient(cfg Config) (*Client, error) {
	ws := cfg.Workspace
	if ws == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		ws = wd
	}
	root, err := workspace.Root(ws)
	if err != nil {
		return nil, fieldError("Config.Workspace", "%s: %v", ws, err)
	}
	base, err := filepath.Abs(ws)
	if err != nil {
		return nil, err
	}
	if cfg.Agents == nil {
		if cfg.Agents, err = DefaultAgents(); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg, base: base, workspace: root, agents: map[string]agent.Agent{}}
	for _, a := range cfg.Agents {
		c.agents[a.Name()] = a
	}
	return c, nil
}

// attach gives c its database and the engine that works it.
func (c *Client) attach(db *database.DB) (*Client, error) {
	c.db = db
	c.store = &store.Store{DB: db.SQL, Postgres: db.Postgres}
	c.snaps = &snapstore.Store{DB: db.SQL, Postgres: db.Postgres,
		Limits: snapstore.Limits{MaxFile: c.cfg.SnapshotMaxFile, MaxTotal: c.cfg.SnapshotMaxTotal}}
	r := &runner.Runner{Agents: c.agents, Logger: c.cfg.Logger, KeepDirs: os.Getenv("HANDOFF_KEEP_TASK_DIRS") == "1",
		GiveBackForeign: c.cfg.ForeignSecrets == ForeignSecretsGiveBack, Snapshots: c.snaps, WorkDir: c.cfg.WorkDir}
	c.runner = r
	var err error
	c.eng, err = engine.New(engine.Config{
		DB: db, Run: r.Run, Workers: c.cfg.Workers, Logger: c.cfg.Logger, AgentLimits: c.agentLimits(),
		HeartbeatInterval: c.cfg.HeartbeatInterval, HeartbeatTimeout: c.cfg.HeartbeatTimeout, RetryBase: c.cfg.RetryBase,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close stops working (if StartWorker was called) and closes the database.
// Tasks this process runs get until ctx's deadline, or DefaultShutdownGrace
// when it has none, to finish; those still running then go back to the
// queue, without using up an attempt, for any worker to take.
func (c *Client) Close(ctx context.Context) error {
	grace := DefaultShutdownGrace
	if d, ok := ctx.Deadline(); ok {
		grace = time.Until(d)
	}
	_ = c.StopWorker(ctx, grace)
	c.eng.Close()
	return c.db.Close()
}

// StartWorker makes this process work tasks in the background until
// StopWorker or Close. Calling it while the worker runs changes nothing.
func (c *Client) StartWorker(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.working {
		return nil
	}
	s, _ := c.serving(ctx)
	if err := c.eng.Start(ctx, s); err != nil {
		return err
	}
	c.working = true
	return nil
}

// StopWorker stops fetching tasks and waits up to grace for running ones;
// tasks still running then are interrupted and go back to the queue.
func (c *Client) StopWorker(ctx context.Context, grace time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.working {
		return nil
	}
	c.working = false
	return c.eng.Stop(ctx, grace)
}

// ActiveTasks returns how many tasks this process is working.
func (c *Client) ActiveTasks() int { return c.eng.Active() }

// LiveWorkers counts worker processes alive for this database: those whose
// heartbeat is more recent than a third of the heartbeat timeout.
func (c *Client) LiveWorkers(ctx context.Context) (int, error) {
	return c.store.LiveWorkers(ctx, time.Now().Add(-c.eng.Liveness().WorkerAliveWithin()))
}

// Database says where the client's tasks live, in words for people: the
// SQLite file's absolute path, or "PostgreSQL at host:port/name" (never a
// user name or password).
func (c *Client) Database() string {
	if !c.db.Postgres {
		if abs, err := filepath.Abs(c.db.URL); err == nil {
			return abs
		}
		return c.db.URL
	}
	u, err := url.Parse(c.db.URL)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Host + u.Path
}

// PendingTasks counts tasks queued or running.
func (c *Client) PendingTasks(ctx context.Context) (int, error) { return c.store.CountLive(ctx) }

// Status returns a task's current state without waiting on it. Like every
// call that takes a task ID, it accepts a unique start or end of one (see
// ShortID).
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := c.statusOf(rec)
	if st.State == StateQueued {
		if ws, err := c.Workers(ctx); err == nil {
			st.Waiting = waiting(rec, ws)
		}
	}
	return st, nil
}

func (c *Client) get(ctx context.Context, id string) (*store.Record, error) {
	full, err := c.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := c.eng.Get(ctx, full)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q (list tasks with `handoff list`)", ErrNotFound, id)
	}
	return rec, err
}

// minIDPart is the shortest piece of a task ID that may name a task.
const minIDPart = 4

// ShortID is the short form of a task ID that every call taking an ID
// accepts while it is unique: its last 8 characters (task IDs are UUIDv7,
// whose start is the submit time, shared by tasks submitted together).
func ShortID(id string) string { return handofftype.ShortID(id) }

// resolve turns a unique start or end of a task ID (at least minIDPart
// characters) into the full ID; a full ID is returned as it is.
func (c *Client) resolve(ctx context.Context, id string) (string, error) {
	if len(id) >= 36 {
		return id, nil
	}
	if len(id) < minIDPart {
		return "", fmt.Errorf("%w: task ID %q is too short; give at least %d characters of it", ErrNotFound, id, minIDPart)
	}
	ids, err := c.store.IDsMatching(ctx, id, 6)
	switch {
	case err != nil:
		return "", err
	case len(ids) == 0:
		return "", fmt.Errorf("%w: no task ID starts or ends with %q (list tasks with `handoff list`)", ErrNotFound, id)
	case len(ids) > 1:
		more := ""
		if len(ids) > 5 {
			ids, more = ids[:5], ", …"
		}
		return "", fmt.Errorf("%w: %q matches several task IDs (%s%s); give more of it", ErrNotFound, id, strings.Join(ids, ", "), more)
	}
	return ids[0], nil
}

// statusOf maps a record and its River job to the user's view.
func (c *Client) statusOf(rec *store.Record) *Status {
	st := &Status{
		ID: rec.ID, State: rec.State, Module: rec.Request.Module, Output: rec.Request.Output,
		Workspace: rec.Request.Workspace, Agent: rec.Request.Agent, Attempt: rec.Attempt,
		MaxAttempts: rec.MaxAttempts, LastError: rec.LastError, Progress: rec.Progress, Success: rec.Success,
		CreatedAt: rec.CreatedAt, Labels: rec.Request.Labels,
	}
	if !rec.StartedAt.IsZero() {
		t := rec.StartedAt
		st.StartedAt = &t
	}
	if !rec.CompletedAt.IsZero() {
		t := rec.CompletedAt
		st.CompletedAt = &t
	}
	if rec.State.Final() {
		return st
	}
	switch rec.JobState {
	case "discarded":
		st.State = handofftype.StateFailed
	case "cancelled":
		st.State = handofftype.StateCancelled
	case "running":
		st.State = handofftype.StateRunning
		if silence := time.Since(rec.HeartbeatAt); !rec.HeartbeatAt.IsZero() && silence > c.eng.Liveness().TaskSilentAfter() {
			st.Progress = fmt.Sprintf("worker silent for %s; the next live worker will requeue the task", silence.Round(time.Second))
		}
	case "available", "scheduled", "pending", "retryable":
		st.State = handofftype.StateQueued
	}
	return st
}

// ListFilter selects tasks for List.
type ListFilter struct {
	States []State // empty means all
	Label  string  // "key=value"; empty means any
	Agent  string  // empty means any
	Module string  // a part of the module path; empty means any
	// Before is the ID of the last task of a page: the next page starts
	// after it. Empty means from the newest.
	Before string
	Limit  int // zero means 100
}

// List returns tasks, newest first.
func (c *Client) List(ctx context.Context, f ListFilter) ([]*Status, error) {
	sf := store.Filter{States: f.States, Agent: f.Agent, Module: f.Module, Before: f.Before, Limit: f.Limit}
	if f.Label != "" {
		k, v, ok := strings.Cut(f.Label, "=")
		if !ok {
			return nil, fieldError("ListFilter.Label", "%q is not key=value", f.Label)
		}
		sf.Label = [2]string{k, v}
	}
	recs, err := c.eng.List(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]*Status, 0, len(recs))
	var workers []Worker
	read := false
	for _, r := range recs {
		st := c.statusOf(r)
		if st.State == StateQueued {
			if !read {
				workers, _ = c.Workers(ctx) // unread, no task says it waits
				read = true
			}
			st.Waiting = waiting(r, workers)
		}
		out = append(out, st)
	}
	return out, nil
}

// Cancel stops a task. A queued task never runs; a running task's agent is
// stopped (its processes killed, its remote conversation interrupted). It
// returns the status after the request; cancelling a finished task changes
// nothing.
func (c *Client) Cancel(ctx context.Context, id string) (*Status, error) {
	cur, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := c.eng.Cancel(ctx, cur.ID)
	if err != nil {
		return nil, err
	}
	return c.statusOf(rec), nil
}

// AgentNames lists the agents this client knows.
func (c *Client) AgentNames() []string {
	names := make([]string, 0, len(c.agents))
	for n := range c.agents {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

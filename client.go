package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/runner"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Client submits, inspects and works tasks on one database. It is safe for
// concurrent use.
type Client struct {
	cfg       Config
	db        *engine.DB
	eng       *engine.Engine
	store     *store.Store
	base      string // default workspace: relative module paths start here
	workspace string // its root: the git top, else base itself
	agents    map[string]agent.Agent
	working   bool
}

// Open connects to the database (creating and migrating it when needed).
func Open(ctx context.Context, cfg Config) (*Client, error) {
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
		return nil, fmt.Errorf("%w: workspace %s: %v", ErrInvalidRequest, ws, err)
	}
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := workspace.EnsureStateDir(root)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDatabase, err)
		}
		url = filepath.Join(dir, "handoff.db")
	}
	db, err := engine.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	base, err := filepath.Abs(ws)
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Client{cfg: cfg, db: db, store: &store.Store{DB: db.SQL}, base: base, workspace: root, agents: map[string]agent.Agent{}}
	for _, a := range cfg.Agents {
		c.agents[a.Name()] = a
	}
	r := &runner.Runner{Agents: c.agents, Logger: cfg.Logger, KeepDirs: os.Getenv("HANDOFF_KEEP_TASK_DIRS") == "1"}
	c.eng, err = engine.New(engine.Config{
		DB: db, Run: r.Run, Workers: cfg.Workers, Logger: cfg.Logger,
		HeartbeatInterval: cfg.HeartbeatInterval, HeartbeatTimeout: cfg.HeartbeatTimeout, RetryBase: cfg.RetryBase,
		OnFinal: releaseSnapshot,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close stops working (if Work or StartWorker was called) and closes the database.
func (c *Client) Close() error {
	if c.working {
		_ = c.eng.Stop(context.Background(), 30*time.Second)
		c.working = false
	}
	return c.db.Close()
}

// StartWorker makes this process work tasks in the background until
// StopWorker or Close.
func (c *Client) StartWorker(ctx context.Context) error {
	if err := c.eng.Start(ctx); err != nil {
		return err
	}
	c.working = true
	return nil
}

// StopWorker stops fetching tasks and waits up to grace for running ones;
// tasks still running then are interrupted and go back to the queue.
func (c *Client) StopWorker(ctx context.Context, grace time.Duration) error {
	if !c.working {
		return nil
	}
	c.working = false
	return c.eng.Stop(ctx, grace)
}

// ActiveTasks returns how many tasks this process is working.
func (c *Client) ActiveTasks() int { return c.eng.Active() }

// LiveWorkers counts worker processes alive for this database.
func (c *Client) LiveWorkers(ctx context.Context) (int, error) {
	return c.store.LiveWorkers(ctx, time.Now().Add(-workerAliveWithin))
}

// PendingTasks counts tasks queued or running.
func (c *Client) PendingTasks(ctx context.Context) (int, error) { return c.store.CountLive(ctx) }

// workerAliveWithin is how recent a worker's heartbeat must be to count it alive.
const workerAliveWithin = 10 * time.Second

// Status returns a task's current state without waiting on it.
func (c *Client) Status(ctx context.Context, id string) (*TaskStatus, error) {
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.statusOf(rec), nil
}

func (c *Client) get(ctx context.Context, id string) (*store.Record, error) {
	rec, err := c.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q (list tasks with `handoff list`)", ErrNotFound, id)
	}
	return rec, err
}

// statusOf maps a record and its River job to the user's view.
func (c *Client) statusOf(rec *store.Record) *TaskStatus {
	st := &TaskStatus{
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
		st.State = task.StateFailed
	case "cancelled":
		st.State = task.StateCancelled
	case "running":
		st.State = task.StateRunning
		if silence := time.Since(rec.HeartbeatAt); !rec.HeartbeatAt.IsZero() && silence > 3*workerAliveWithin {
			st.Progress = fmt.Sprintf("worker silent for %s; the next live worker will requeue the task", silence.Round(time.Second))
		}
	case "available", "scheduled", "pending", "retryable":
		st.State = task.StateQueued
	}
	return st
}

// ListFilter selects tasks for List.
type ListFilter struct {
	States []State // empty means all
	Label  string  // "key=value"; empty means any
	Limit  int     // zero means 100
}

// List returns tasks, newest first.
func (c *Client) List(ctx context.Context, f ListFilter) ([]*TaskStatus, error) {
	sf := store.Filter{States: f.States, Limit: f.Limit}
	if f.Label != "" {
		k, v, ok := strings.Cut(f.Label, "=")
		if !ok {
			return nil, fmt.Errorf("%w: label filter %q must be key=value", ErrInvalidRequest, f.Label)
		}
		sf.Label = [2]string{k, v}
	}
	recs, err := c.store.List(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]*TaskStatus, 0, len(recs))
	for _, r := range recs {
		out = append(out, c.statusOf(r))
	}
	return out, nil
}

// Cancel stops a task. A queued task never runs; a running task's agent is
// stopped (its processes killed, its remote conversation interrupted). It
// returns the status after the request; cancelling a finished task changes
// nothing.
func (c *Client) Cancel(ctx context.Context, id string) (*TaskStatus, error) {
	if _, err := c.get(ctx, id); err != nil {
		return nil, err
	}
	rec, err := c.eng.Cancel(ctx, id)
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

// releaseSnapshot drops a final task's workspace snapshot (a git ref, or a
// copy of a non-git workspace): no later attempt will need it.
func releaseSnapshot(ctx context.Context, rec *store.Record) {
	var snap workspace.Snapshot
	if json.Unmarshal(rec.Snapshot, &snap) == nil && snap.ID != "" {
		_ = snap.Release(ctx)
	}
}

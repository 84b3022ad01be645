package handoff_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
)

// StartWorker while the worker runs changes nothing: one StopWorker stops
// it, and Close after that returns.
func TestStartWorkerTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := handoff.Open(ctx, handoff.Config{Workspace: goWorkspace(t),
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	require.NoError(t, c.StartWorker(ctx))
	require.NoError(t, c.StartWorker(ctx))
	// StopWorker hung here: the second start had replaced the first one's
	// background loop, which nothing could stop any more. A generous bound,
	// for a loaded machine; a hang never ends.
	stopped := make(chan error, 1)
	go func() { stopped <- c.StopWorker(ctx, 5*time.Second) }()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("StopWorker after two StartWorker calls did not return")
	}
	n, err := c.LiveWorkers(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the worker is gone from the database")
	require.NoError(t, c.Close(context.Background()))
}

// OpenExisting never creates a database: with none where the configuration
// points, it says where it looked, and the workspace (or the PostgreSQL
// schema) is left as it was. Once Open made one, OpenExisting reads it.
func TestOpenExisting(t *testing.T) {
	t.Parallel()
	for name, mk := range databaseURLs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ws := goWorkspace(t)
			cfg := handoff.Config{Workspace: ws, Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}},
				DefaultAgent: "scripted"}
			if name == "postgres" {
				cfg.DatabaseURL = mk(t)
			}
			_, err := handoff.OpenExisting(ctx, cfg)
			require.ErrorIs(t, err, handoff.ErrNoDatabase)
			if name == "sqlite" {
				require.ErrorContains(t, err, filepath.Join(ws, ".handoff", "handoff.db"))
				require.NoDirExists(t, filepath.Join(ws, ".handoff"))
			} else {
				require.ErrorContains(t, err, "has no handoff tables")
			}

			require.NoError(t, handoff.Check(cfg, handoff.Request{Module: "calc.go"}))
			err = handoff.Check(cfg, handoff.Request{Module: "calc.go", Output: ".handoff/calc_test.go"})
			require.ErrorIs(t, err, handoff.ErrInvalidRequest)
			_, err = handoff.OpenExisting(ctx, cfg)
			require.ErrorIs(t, err, handoff.ErrNoDatabase, "Check created nothing")

			c, err := handoff.Open(ctx, cfg)
			require.NoError(t, err)
			id, err := c.Submit(ctx, handoff.Request{Module: "calc.go"})
			require.NoError(t, err)
			require.NoError(t, c.Close(context.Background()))
			r, err := handoff.OpenExisting(ctx, cfg)
			require.NoError(t, err)
			defer r.Close(context.Background())
			st, err := r.Status(ctx, id)
			require.NoError(t, err)
			require.Equal(t, handoff.StateQueued, st.State)
		})
	}
}

// Submit refuses values that cannot be stored or run: NaN and infinite
// numbers, timeouts below a second (a 1ns timeout was stored as none), and
// outputs where kept tests must not land.
func TestSubmitRefusesUnusableValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws := goWorkspace(t)
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	defer c.Close(context.Background())
	for _, tc := range []struct {
		r    handoff.Request
		want string
	}{
		{handoff.Request{Coverage: handoff.Coverage(math.NaN())}, "coverage NaN is outside 0..100"},
		{handoff.Request{Coverage: handoff.Coverage(math.Inf(1))}, "coverage +Inf is outside 0..100"},
		{handoff.Request{Coverage: handoff.Coverage(math.Inf(-1))}, "coverage -Inf is outside 0..100"},
		{handoff.Request{BudgetUSD: math.NaN()}, "budget NaN USD"},
		{handoff.Request{BudgetUSD: math.Inf(1)}, "budget +Inf USD"},
		{handoff.Request{Timeout: time.Nanosecond}, "timeout 1ns is outside 1s..24h0m0s"},
		{handoff.Request{Timeout: -time.Second}, "outside 1s.."},
		{handoff.Request{TestTimeout: time.Millisecond}, "test timeout 1ms is below the minimum of 1s"},
		{handoff.Request{Output: ".git/calc_test.go"}, "inside .git"},
		{handoff.Request{Output: ".handoff/calc_test.go"}, "inside .handoff"},
	} {
		tc.r.Module = "calc.go"
		_, err := c.Submit(ctx, tc.r)
		require.ErrorIs(t, err, handoff.ErrInvalidRequest, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
	list, err := c.List(ctx, handoff.ListFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

package engine_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestPartitionedWorkerWritesNothing cuts worker A off from PostgreSQL (a
// TCP proxy between them stops passing bytes) for twice the heartbeat
// timeout, in the middle of an attempt. A stops its attempt itself (its
// agent process is killed), worker B rescues the task and completes it, and
// when the network comes back A applies nothing and writes nothing.
func TestPartitionedWorkerWritesNothing(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresSchema(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := testenv.StartProxy(t, u.Host)
	const lease = 1500 * time.Millisecond
	workspace := filepath.Join(t.TempDir(), "calc_test.go")

	type attempt struct {
		agentPID   int
		agentEnded chan struct{}
		confirm    error
		returned   chan struct{}
	}
	var mu sync.Mutex
	attempts := map[string]*attempt{"A": {agentEnded: make(chan struct{}), returned: make(chan struct{})},
		"B": {agentEnded: make(chan struct{}), returned: make(chan struct{})}}
	started := make(chan string, 2)
	networkBack := make(chan struct{})
	// run is one attempt: an agent process (A's outlives the test unless it
	// is killed), then the apply step, which writes to the workspace only
	// when the attempt still owns its task.
	run := func(name string, agentArgs ...string) engine.RunFunc {
		return func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			at := attempts[name]
			defer close(at.returned)
			cmd := exec.CommandContext(ctx, agentArgs[0], agentArgs[1:]...)
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			mu.Lock()
			at.agentPID = cmd.Process.Pid
			mu.Unlock()
			started <- name
			_ = cmd.Wait()
			close(at.agentEnded)
			if name == "A" {
				<-networkBack // A comes back after the partition and tries to apply
			}
			err := env.Confirm(context.WithoutCancel(ctx))
			mu.Lock()
			at.confirm = err
			mu.Unlock()
			if err != nil {
				return nil, err
			}
			f, err := os.OpenFile(workspace, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			if _, err := f.WriteString(name + "\n"); err != nil {
				return nil, err
			}
			return &handofftype.Result{Success: true, Extra: map[string]any{"by": name}}, nil
		}
	}
	a := setupWith(t, proxy.URL(t, dbURL), engine.Config{Workers: 1, HeartbeatInterval: 100 * time.Millisecond,
		HeartbeatTimeout: lease, Run: run("A", "sleep", "300")})
	id := a.insert(t, 3, time.Minute)
	require.Equal(t, "A", <-started)
	before, err := a.store.Get(context.Background(), id)
	require.NoError(t, err)

	proxy.Stall()
	stalledAt := time.Now()
	b := setupWith(t, dbURL, engine.Config{Workers: 1, HeartbeatInterval: 100 * time.Millisecond,
		HeartbeatTimeout: lease, Run: run("B", "true")})
	final := b.waitFinal(t, id)
	require.Equal(t, handofftype.StateCompleted, final.State)
	select {
	case <-attempts["A"].agentEnded:
	case <-time.After(30 * time.Second): // the lease is 1.5s; 30s is for a loaded machine
		t.Fatal("A kept its agent running after losing its lease")
	}
	require.Error(t, syscall.Kill(attempts["A"].agentPID, 0), "A's agent process is gone")
	<-time.After(time.Until(stalledAt.Add(2 * lease))) // the partition lasts at least twice the lease
	proxy.Resume()
	close(networkBack)

	<-attempts["A"].returned
	waitFor(t, 30*time.Second, "A's attempt to end", func() bool { return a.eng.Active() == 0 })
	mu.Lock()
	require.ErrorIs(t, attempts["A"].confirm, engine.ErrLeaseLost, "A is refused the apply")
	mu.Unlock()
	rec, err := b.eng.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, handofftype.StateCompleted, rec.State)
	require.Equal(t, 2, rec.Result.Attempts, "the result is the rescuer's")
	require.Equal(t, "B", rec.Result.Extra["by"])
	require.Equal(t, final.CompletedAt, rec.CompletedAt, "A wrote nothing after the partition")
	require.Equal(t, "completed", rec.JobState, "River shows the rescuer's job completed")
	var lostJob string
	require.NoError(t, b.db.SQL.QueryRow(`SELECT CAST(state AS TEXT) FROM river_job WHERE id = $1`, before.JobID).Scan(&lostJob))
	require.Equal(t, "discarded", lostJob, "the lost attempt's job was retired, and A's return left it so")
	got, err := os.ReadFile(workspace)
	require.NoError(t, err)
	require.Equal(t, "B\n", string(got), "the workspace is written once, by the rescuer")
}

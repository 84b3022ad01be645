package handoff_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/server"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// remoteBundle is a handoff server (the HTTP API on a working client with
// its own SQLite database, its worker's task directories elsewhere) and a
// Remote on a workspace the server never reads.
type remoteBundle struct {
	srv    *handoff.Client
	remote *handoff.Remote
	client string // the Remote's workspace
	gate   chan struct{}
}

func setupRemote(t *testing.T, dbURL string, scopes ...string) *remoteBundle {
	t.Helper()
	ctx := context.Background()
	b := &remoteBundle{gate: make(chan struct{})}
	a := &scripted{langs: []string{"go"}, run: func(ctx context.Context, tk *agent.Task) (*agent.Report, error) {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return writeTests(goodGoTests)(ctx, tk)
	}}
	srv, err := handoff.Open(ctx, handoff.Config{DatabaseURL: dbURL, Workspace: t.TempDir(), Agents: []agent.Agent{a}, DefaultAgent: a.Name(),
		WorkDir: t.TempDir(), HeartbeatInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, srv.StartWorker(ctx))
	t.Cleanup(func() { srv.Close(context.Background()) })
	b.srv = srv
	ts := httptest.NewServer(server.New(server.Config{Client: srv}))
	t.Cleanup(ts.Close)
	if len(scopes) == 0 {
		scopes = []string{"submit", "read", "cancel"}
	}
	tok, _, err := srv.TaskStore().CreateToken(ctx, "test", scopes)
	require.NoError(t, err)
	b.client = goWorkspace(t)
	b.remote, err = handoff.OpenRemote(handoff.RemoteConfig{Server: ts.URL, Token: tok, Workspace: b.client,
		Agents: []agent.Agent{a}, DefaultAgent: a.Name()})
	require.NoError(t, err)
	return b
}

// TestRemote: a Go program drives a server through Remote as it drives a
// database through Client: a wait that times out leaves the task running,
// a wait that returns writes the kept tests into the Remote's workspace
// (and tells the server), cancel stops a running task, and the server's
// refusals match the Client's errors.
func TestRemote(t *testing.T) {
	t.Parallel()
	for name, db := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRemote(t, setupRemote(t, db(t)))
		})
	}
}

func testRemote(t *testing.T, b *remoteBundle) {
	ctx := context.Background()
	var tasks handoff.Tasks = b.remote

	id, err := tasks.Submit(ctx, handoff.Request{Module: "calc.go"})
	require.NoError(t, err)
	_, err = tasks.Wait(ctx, id, handoff.WaitOptions{Timeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, handoff.ErrWaitTimeout)
	st, err := tasks.Status(ctx, handoff.ShortID(id))
	require.NoError(t, err)
	require.False(t, st.State.Final(), "the task goes on after the wait timed out")
	require.Equal(t, b.client, st.Workspace)

	close(b.gate)
	res, err := tasks.Wait(ctx, id, handoff.WaitOptions{Timeout: time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "%+v", res)
	require.True(t, res.Apply.Applied, "%+v", res.Apply)
	require.Equal(t, "submitter", res.Apply.Where)
	got, err := os.ReadFile(filepath.Join(b.client, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, goodGoTests, string(got))
	again, err := b.srv.Wait(ctx, id, handoff.WaitOptions{Timeout: time.Second})
	require.NoError(t, err)
	require.Equal(t, "submitter", again.Apply.Where, "the server recorded the client's apply")
	require.False(t, again.Apply.Pending)

	list, err := tasks.List(ctx, handoff.ListFilter{States: []handoff.State{handoff.StateCompleted}})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)

	_, err = tasks.Status(ctx, "ffffffff")
	require.ErrorIs(t, err, handoff.ErrNotFound)
	_, err = tasks.Submit(ctx, handoff.Request{Module: "calc.go", Coverage: handoff.Coverage(120)})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
}

// TestRemoteCancelAndScopes: cancel through the server ends a running
// task CANCELLED; a token without the cancel scope is refused with
// ErrUnauthorized, as is a wrong token.
func TestRemoteCancelAndScopes(t *testing.T) {
	t.Parallel()
	b := setupRemote(t, "")
	ctx := context.Background()
	id, err := b.remote.Submit(ctx, handoff.Request{Module: "calc.go"})
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := b.remote.Status(ctx, id)
		require.NoError(t, err)
		if st.State == handoff.StateRunning {
			break
		}
		require.True(t, time.Now().Before(deadline), "never RUNNING: %+v", st)
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	_, err = b.remote.Cancel(ctx, id)
	require.NoError(t, err)
	res, err := b.remote.Wait(ctx, id, handoff.WaitOptions{Timeout: time.Minute})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCancelled, res.State)

	reader := setupRemote(t, "", "read")
	_, err = reader.remote.Cancel(ctx, id)
	require.ErrorIs(t, err, handoff.ErrUnauthorized)
	require.Contains(t, err.Error(), "lacks the scope cancel")
	_, err = reader.remote.Submit(ctx, handoff.Request{Module: "calc.go"})
	require.ErrorIs(t, err, handoff.ErrUnauthorized)
	require.Contains(t, err.Error(), "submit")

	wrong, err := handoff.OpenRemote(handoff.RemoteConfig{Server: "http://127.0.0.1:1", Token: "hnd_x", Workspace: b.client})
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = wrong.Status(sctx, id)
	require.ErrorIs(t, err, context.DeadlineExceeded, "an unreachable server is retried until the context ends")
}

func TestOpenRemoteRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := handoff.OpenRemote(handoff.RemoteConfig{Token: "x"})
	require.ErrorContains(t, err, "HANDOFF_SERVER")
	_, err = handoff.OpenRemote(handoff.RemoteConfig{Server: "ftp://x", Token: "x"})
	require.ErrorContains(t, err, "not an http:// or https:// URL")
	_, err = handoff.OpenRemote(handoff.RemoteConfig{Server: "http://x"})
	require.ErrorContains(t, err, "handoff token create")
}

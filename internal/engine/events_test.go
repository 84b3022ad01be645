package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// wakeWithin is how soon a notification must arrive. It is one tenth of the
// 10 s a poll would take in these tests, and far above the milliseconds it
// takes (docs/benchmarks.md), so that a loaded machine does not fail it.
const wakeWithin = time.Second

// A waiter in another process learns of a task's completion from its
// notification: the child waiter never reads on a timer, so only the
// notification can wake it.
func TestWaiterInAnotherProcessWokenByNotification(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	gate := make(chan struct{})
	started := make(chan string, 1)
	returned := make(chan time.Time, 1)
	b := setupWith(t, url, engine.Config{
		Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			started <- rec.ID
			<-gate
			returned <- time.Now() // then the verdict is recorded
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		},
	})
	waiter := startChild(t, childConfig{URL: url, Role: "waiter"})
	waiter.expect("ready")

	id := b.insert(t, 1, time.Minute)
	require.Equal(t, id, <-started)
	waiter.send(id)
	waiter.expect("waiting")
	close(gate)
	done := <-returned
	l := waiter.expect("final")
	require.Equal(t, []string{id, string(handofftype.StateCompleted)}, []string{l[1], l[3]})
	woke := unixNano(t, l[2]).Sub(done)
	require.Less(t, woke, wakeWithin, "the waiter woke %s after the attempt returned", woke)
	t.Logf("woken %s after the attempt returned", woke)
}

// A cancel request reaches the attempt another process runs at once, not at
// its heartbeat (an hour here): by handoff's own notification alone (the
// request written and published, River not told), and through Cancel as
// users call it.
func TestCancelReachesWorkerInAnotherProcess(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	b := setup(t, url, nil)
	worker := startChild(t, childConfig{URL: url, Role: "worker", Run: "block", Workers: 2, Heartbeat: time.Hour})
	worker.expect("started")
	ctx := context.Background()
	for name, cancel := range map[string]func(id string) error{
		"request only": func(id string) error {
			if err := b.store.RequestCancel(ctx, id, "the test"); err != nil {
				return err
			}
			return b.store.Publish(ctx, []string{store.Event(store.EventCancel, id)})
		},
		"Cancel": func(id string) error {
			_, err := b.eng.Cancel(ctx, id)
			return err
		},
	} {
		id := b.insert(t, 1, time.Hour)
		require.Equal(t, id, worker.expect("running")[1], name)
		asked := time.Now()
		require.NoError(t, cancel(id), name)
		l := worker.expect("stopped")
		require.Equal(t, id, l[1], name)
		took := unixNano(t, l[2]).Sub(asked)
		require.Less(t, took, wakeWithin, "%s: the attempt stopped %s after the request", name, took)
		if name == "request only" {
			require.Equal(t, fmt.Sprint(engine.ErrCancelRequested), strings.Join(l[3:], " "), "the notification stopped it")
		}
		rec := b.waitFinal(t, id)
		require.Equal(t, handofftype.StateCancelled, rec.State, name)
		t.Logf("%s: the attempt stopped %s after the request", name, took)
	}
}

// When its connection is lost, the listener wakes every waiter to read
// again (a notification may have been lost meanwhile), reconnects, and
// delivers notifications again.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	b := setup(t, url, nil)
	ctx := context.Background()
	warm, release := b.eng.Done("warm-up")
	<-warm // the listener is connected
	release()

	id := b.insert(t, 1, time.Minute)
	done, release := b.eng.Done(id)
	defer release()
	var channel string
	require.NoError(t, b.db.SQL.QueryRowContext(ctx, `SELECT `+store.EventChannelSQL).Scan(&channel))
	listenSQL := fmt.Sprintf(`LISTEN "%s"`, channel)
	var killed int
	require.NoError(t, b.db.SQL.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = $1 AND pid <> pg_backend_pid()`, listenSQL).Scan(&killed))
	require.Equal(t, 1, killed, "one listener connection per engine")
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not woken when the listener came back")
	}
	rec, err := b.store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, handofftype.StateQueued, rec.State, "a wake to read again, not a final state")

	// Another pool writes the final state: only a notification can tell
	// this engine.
	done, release = b.eng.Done(id)
	defer release()
	other, err := database.Open(ctx, url, database.Options{})
	require.NoError(t, err)
	defer other.Close()
	st := &store.Store{DB: other.SQL, Postgres: true}
	ok, err := st.Finish(ctx, id, handofftype.StateCancelled, nil, time.Now())
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, st.Publish(ctx, []string{store.Event(store.EventFinal, id)}))
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no notification after the listener reconnected")
	}
}

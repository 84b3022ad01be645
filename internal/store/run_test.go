package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestRuns: recorded pipeline runs list newest first, page by ID, read
// back whole, and a run recorded again replaces itself; a session's token
// stops being live when revoked. On SQLite and PostgreSQL.
func TestRuns(t *testing.T) {
	t.Parallel()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := database.Open(ctx, mk(t), database.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			st := &store.Store{DB: db.SQL, Postgres: db.Postgres}

			start := time.UnixMilli(time.Now().UnixMilli())
			for i, id := range []string{"r1", "r2", "r3"} {
				require.NoError(t, st.PutRun(ctx, store.Run{ID: id, Pipeline: "p", Started: start.Add(time.Duration(i) * time.Second),
					Wall: 1500 * time.Millisecond, OK: i != 1, Report: []byte(`{"run_id":"` + id + `"}`), Timeline: []byte("<svg/>"),
					Logs: map[string]string{"test": "ok\n"}}))
			}
			runs, err := st.Runs(ctx, 2, "")
			require.NoError(t, err)
			require.Len(t, runs, 2)
			require.Equal(t, []string{"r3", "r2"}, []string{runs[0].ID, runs[1].ID})
			require.False(t, runs[1].OK)
			require.Equal(t, 1500*time.Millisecond, runs[0].Wall)
			require.Nil(t, runs[0].Report, "the list leaves the report out")
			runs, err = st.Runs(ctx, 2, "r2")
			require.NoError(t, err)
			require.Len(t, runs, 1)
			require.Equal(t, "r1", runs[0].ID)

			require.NoError(t, st.PutRun(ctx, store.Run{ID: "r2", Pipeline: "p", Started: start.Add(time.Second), Wall: time.Second, OK: true,
				Report: []byte(`{}`), Timeline: []byte("<svg>2</svg>")}))
			r, err := st.Run(ctx, "r2")
			require.NoError(t, err)
			require.True(t, r.OK)
			require.Equal(t, "<svg>2</svg>", string(r.Timeline))
			require.Empty(t, r.Logs)
			require.True(t, r.Started.Equal(start.Add(time.Second)))
			r, err = st.Run(ctx, "r1")
			require.NoError(t, err)
			require.Equal(t, map[string]string{"test": "ok\n"}, r.Logs)
			_, err = st.Run(ctx, "nope")
			require.ErrorIs(t, err, store.ErrRunNotFound)

			_, tok, err := st.CreateToken(ctx, "dash", []string{store.ScopeRead})
			require.NoError(t, err)
			live, err := st.LiveToken(ctx, tok.ID)
			require.NoError(t, err)
			require.Equal(t, "dash", live.Name)
			require.NoError(t, st.RevokeToken(ctx, "dash"))
			_, err = st.LiveToken(ctx, tok.ID)
			require.ErrorIs(t, err, store.ErrBadToken)
		})
	}
}

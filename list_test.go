package handoff_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// databaseURLs are the two databases handoff runs on, each new per test.
func databaseURLs() map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "handoff.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresSchema(t) },
	}
}

// List filters by label before its limit: the one matching task is found
// however many newer tasks lack the label, and keys match exactly, whatever
// characters they hold.
func TestListLabelFilterBeforeLimit(t *testing.T) {
	t.Parallel()
	for name, mk := range databaseURLs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, err := handoff.Open(ctx, handoff.Config{Workspace: goWorkspace(t), DatabaseURL: mk(t),
				Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
			require.NoError(t, err)
			defer c.Close(context.Background())
			submit := func(key string, labels map[string]string) string {
				id, err := c.Submit(ctx, handoff.Request{Module: "calc.go", Labels: labels, IdempotencyKey: key})
				require.NoError(t, err)
				return id
			}
			team := submit("oldest", map[string]string{"team": "a", "a.b": "dotted", `q"k`: `v"1`})
			submit("other-team", map[string]string{"team": "b", "x": `"team":"a"`})
			submit("no-labels-1", nil)
			submit("no-labels-2", nil)

			ids := func(f handoff.ListFilter) []string {
				list, err := c.List(ctx, f)
				require.NoError(t, err)
				var out []string
				for _, st := range list {
					out = append(out, st.ID)
				}
				return out
			}
			require.Equal(t, []string{team}, ids(handoff.ListFilter{Label: "team=a", Limit: 2}),
				"the match is older than the limit's worth of tasks")
			require.Equal(t, []string{team}, ids(handoff.ListFilter{Label: "a.b=dotted", Limit: 1}), "a dot is part of the key")
			require.Equal(t, []string{team}, ids(handoff.ListFilter{Label: `q"k=v"1`}), "quotes too")
			require.Empty(t, ids(handoff.ListFilter{Label: "team=A"}), "values match exactly")
			require.Empty(t, ids(handoff.ListFilter{Label: "a=dotted"}))
			require.Equal(t, []string{team}, ids(handoff.ListFilter{Label: "team=a", States: []handoff.State{handoff.StateQueued}}))
			require.Empty(t, ids(handoff.ListFilter{Label: "team=a", States: []handoff.State{handoff.StateRunning}}))
			require.Len(t, ids(handoff.ListFilter{Limit: 2}), 2)

			// Pages: each starts after the last task of the one before.
			all := ids(handoff.ListFilter{})
			require.Len(t, all, 4)
			first := ids(handoff.ListFilter{Limit: 3})
			require.Equal(t, all[:3], first)
			require.Equal(t, all[3:], ids(handoff.ListFilter{Limit: 3, Before: first[2]}))
			require.Equal(t, all, ids(handoff.ListFilter{Agent: "scripted", Module: "alc."}))
			require.Empty(t, ids(handoff.ListFilter{Agent: "other"}))
			require.Empty(t, ids(handoff.ListFilter{Module: "nope"}))
		})
	}
}

package handoff_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
)

// TestShortIDs: a task can be named by a unique start or end of its ID;
// an ambiguous or unknown piece is refused with ErrNotFound, naming the
// candidates.
func TestShortIDs(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	writeFile(t, ws+"/other.go", "package calc\n\nfunc Other() int { return 1 }\n")
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	ids, err := c.SubmitMany(context.Background(), []handoff.Request{{Module: "calc.go"}, {Module: "other.go"}})
	require.NoError(t, err)

	for _, id := range ids {
		st, err := c.Status(context.Background(), handoff.ShortID(id))
		require.NoError(t, err)
		require.Equal(t, id, st.ID)
	}
	// Submitted together, the two UUIDv7 IDs share their first 8 characters.
	_, err = c.Status(context.Background(), ids[0][:8])
	require.ErrorIs(t, err, handoff.ErrNotFound)
	require.ErrorContains(t, err, "matches several task IDs")
	_, err = c.Status(context.Background(), "abc")
	require.ErrorContains(t, err, "too short")
	_, err = c.Status(context.Background(), "zzzzzzzz")
	require.ErrorContains(t, err, "no task ID starts or ends with")

	st, err := c.Cancel(context.Background(), handoff.ShortID(ids[1]))
	require.NoError(t, err)
	require.Equal(t, ids[1], st.ID)
	res, err := c.Wait(context.Background(), handoff.ShortID(ids[1]), handoff.WaitOptions{})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCancelled, res.State)
}

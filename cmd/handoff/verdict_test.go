package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
)

// TestListAndStatusShowBelow: a task that completed under its threshold is
// not shown like a success: list's VERDICT column and status's verdict line
// say BELOW.
func TestListAndStatusShowBelow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	onlyAdd := "cat > \"$HANDOFF_OUTPUT_PATH\" <<'GO'\npackage calc\n\nimport \"testing\"\n\n" +
		"func TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"Add\")\n\t}\n}\nGO\n"
	e.vars = append(e.vars, "HANDOFF_EXEC_COMMAND="+onlyAdd)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--coverage", "95", "--max-rounds", "1")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)
	e.worker()
	w := e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms")
	require.Equal(t, 1, w.code, "below the threshold is no success: %s", w.stderr)

	st := e.run(nil, "status", id)
	require.Equal(t, 0, st.code, st.stderr)
	require.Contains(t, st.stdout, "BELOW: completed under the coverage threshold")

	list := e.run(nil, "list")
	require.Equal(t, 0, list.code, list.stderr)
	var row string
	for _, line := range strings.Split(list.stdout, "\n") {
		if strings.HasPrefix(line, handoff.ShortID(id)) {
			row = line
		}
	}
	require.Regexp(t, `COMPLETED\s+BELOW\s+calc.go`, row, "list:\n%s", list.stdout)
}

// TestEndedWithoutVerdict: a task cancelled while queued never had a
// baseline or a coverage figure: wait, status and list say what happened
// (cancelled while queued, by whom) and show no coverage or threshold.
func TestEndedWithoutVerdict(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--coverage", "90")
		require.Equal(t, 0, sub.code, sub.stderr)
		id := strings.TrimSpace(sub.stdout)
		c := e.run(nil, "cancel", id)
		require.Equal(t, 0, c.code, c.stderr)

		w := e.run(nil, "wait", id)
		require.Equal(t, 1, w.code, "a cancelled task is no success")
		require.Regexp(t, `cancelled\s+by handoff \(pid \d+ on .*\) while queued, before any attempt`, w.stdout)
		require.Contains(t, w.stdout, "CANCELLED, no verdict")
		require.Contains(t, w.stdout, "never ran")
		st := e.run(nil, "status", id)
		require.Equal(t, 0, st.code, st.stderr)
		require.Regexp(t, `cancelled\s+by handoff \(pid \d+ on .*\) while queued, before any attempt`, st.stdout)
		list := e.run(nil, "list")
		require.Equal(t, 0, list.code, list.stderr)
		require.Regexp(t, handoff.ShortID(id)+`\s+CANCELLED\s+-\s+calc.go`, list.stdout)
		for name, out := range map[string]string{"wait": w.stdout, "status": st.stdout, "list": list.stdout} {
			for _, never := range []string{"threshold", "coverage", "%", "rounds", "queued 0s"} {
				require.NotContains(t, out, never, "%s shows a figure the task never had:\n%s", name, out)
			}
		}
	})
}

// TestNoTaskSaysWhichDatabase: a read-only command that finds no task names
// the database it looked in and how to point at another.
func TestNoTaskSaysWhichDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	db := filepath.Join(e.ws, ".handoff", "handoff.db")
	for _, args := range [][]string{
		{"status", "feedbeef"}, {"wait", "feedbeef"}, {"logs", "feedbeef"}, {"cancel", "feedbeef"},
		{"list", "--state", "RUNNING"}, {"list", "--label", "run=none"}, {"prune", "--older-than", "1000d"},
	} {
		r := e.run(nil, args...)
		require.Contains(t, r.stderr, db, "%v names the database", args)
		require.Contains(t, r.stderr, "--db or HANDOFF_DATABASE_URL", "%v says how to point at another", args)
		require.NotContains(t, r.stderr, "Config.", "%v speaks in flags", args)
		if args[0] != "list" && args[0] != "prune" {
			require.Equal(t, 2, r.code, "%v: an unknown task is a usage error", args)
		}
	}
	elsewhere := t.TempDir()
	r := e.run(nil, "list", "--workspace", elsewhere)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, filepath.Join(elsewhere, ".handoff", "handoff.db"))
	require.Contains(t, r.stderr, "--db or HANDOFF_DATABASE_URL")
	require.NotContains(t, r.stderr, "Config.")
}

package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// treeState lists every file and folder under dir with its content's hash:
// "nothing created" means this is the same before and after.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			state[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		state[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return state
}

// Every bad input is refused at submit with exit 2 and a message naming the
// problem, and nothing is created: no database, no .handoff, no snapshot
// ref, no folder named after a URL. Read-only commands create no database
// either, and say where they looked.
func TestBadInputCreatesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	write(t, filepath.Join(e.ws, "tool.py"), "def f():\n    return 1\n")
	foreignDir := t.TempDir()
	foreign := filepath.Join(foreignDir, "app.db")
	db, err := sql.Open("sqlite", foreign)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	before, foreignBefore := treeState(t, e.ws), treeState(t, foreignDir)
	submit := []string{"submit", "--module", "calc.go", "--agent", "exec"}
	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"timeout 1ns", nil, append(submit, "--timeout", "1ns"), []string{"timeout 1ns is outside 1s..24h0m0s"}},
		{"timeout 999ms", nil, append(submit, "--timeout", "999ms"), []string{"outside 1s.."}},
		{"timeout 0", nil, append(submit, "--timeout", "0"), []string{`--timeout "0" is below the minimum of 1.0s`, "default 30m"}},
		{"test timeout 1ns", nil, append(submit, "--test-timeout", "1ns"), []string{"test timeout 1ns is below the minimum of 1s"}},
		{"test timeout 0", nil, append(submit, "--test-timeout", "0s"), []string{`--test-timeout "0s" is below the minimum of 1.0s`}},
		{"coverage NaN", nil, append(submit, "--coverage", "NaN"), []string{"coverage NaN is outside 0..100"}},
		{"coverage Inf", nil, append(submit, "--coverage", "Inf"), []string{"coverage +Inf is outside 0..100"}},
		{"budget NaN", nil, append(submit, "--budget-usd", "NaN"), []string{"budget NaN USD"}},
		{"output in .git", nil, append(submit, "--output", ".git/x_test.go"), []string{"inside .git, which belongs to git"}},
		{"output in .handoff", nil, append(submit, "--output", ".handoff/calc_test.go"), []string{"inside .handoff, which belongs to handoff"}},
		{"output conftest.py", nil, []string{"submit", "--module", "tool.py", "--agent", "exec", "--output", "tests/conftest.py"},
			[]string{"pytest's configuration file"}},
		{"mysql URL", nil, append(submit, "--db", "mysql://root:s3cret@localhost/app"),
			[]string{"scheme mysql:// is not one handoff supports", "postgres://"}},
		{"mysql URL in the environment", []string{"HANDOFF_DATABASE_URL=mysql://root:s3cret@localhost/app"}, []string{"list"},
			[]string{"scheme mysql://"}},
		{"HANDOFF_WORKERS=four", []string{"HANDOFF_WORKERS=four"}, submit, []string{`HANDOFF_WORKERS="four" is not a whole number`}},
		{"foreign SQLite file", nil, append(submit, "--db", foreign), []string{"holds other tables (customers)"}},
		{"foreign SQLite file, list", nil, []string{"list", "--db", foreign}, []string{"holds other tables (customers)"}},
		{"status, no database", nil, []string{"status", "0193a1b2-0000-7000-8000-000000000000"},
			[]string{"no handoff database at " + filepath.Join(e.ws, ".handoff", "handoff.db"), "--db", "--workspace"}},
		{"wait, no database", nil, []string{"wait", "0193a1b2-0000-7000-8000-000000000000"}, []string{"no handoff database at"}},
		{"cancel, no database", nil, []string{"cancel", "0193a1b2-0000-7000-8000-000000000000"}, []string{"no handoff database at"}},
		{"status, missing --db file", nil, []string{"status", "x", "--db", filepath.Join(e.ws, "elsewhere", "h.db")},
			[]string{"no handoff database at " + filepath.Join(e.ws, "elsewhere", "h.db"), "check that --db or HANDOFF_DATABASE_URL"}},
	}
	for _, c := range cases {
		r := e.run(c.env, c.args...)
		require.Equal(t, 2, r.code, "%s: %s", c.name, r.stderr)
		for _, w := range c.want {
			require.Contains(t, r.stderr, w, c.name)
		}
		require.NotContains(t, r.stderr, "s3cret", c.name)
		require.Equal(t, before, treeState(t, e.ws), "%s: nothing is created in the workspace", c.name)
	}

	// list has nothing to list: it says so, and where it looked, and
	// succeeds.
	r := e.run(nil, "list", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	require.JSONEq(t, "[]", r.stdout)
	require.Contains(t, r.stderr, "no handoff database at "+filepath.Join(e.ws, ".handoff", "handoff.db"))
	r = e.run(nil, "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "TASK  STATE  VERDICT  MODULE  AGENT  CREATED", strings.TrimSpace(r.stdout))

	require.Equal(t, before, treeState(t, e.ws), "nothing is created in the workspace")
	require.Equal(t, foreignBefore, treeState(t, foreignDir), "the foreign database is byte-identical, with nothing beside it")

	// A good request still creates the database, and read-only commands
	// then find it.
	ok := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--timeout", "1s", "--test-timeout", "1s")
	require.Equal(t, 0, ok.code, ok.stderr)
	require.Equal(t, "QUEUED", e.status(strings.TrimSpace(ok.stdout))["status"])
	for _, verb := range []string{"status", "wait", "cancel"} {
		r := e.run(nil, verb, "no-such-task")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, `task not found: no task ID starts or ends with "no-such-task"`)
	}
}

// The example pipeline's workspace in a git repository: its .gitignore
// ignores .handoff/, as most repositories will, and a submit must still
// snapshot it (git 2.39 refused every such snapshot).
func TestSubmitInExampleGitClone(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	out, err := exec.Command("cp", "-R", "../../examples/inventory", scratch).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := filepath.Join(scratch, "inventory")
	require.FileExists(t, filepath.Join(dir, ".gitignore"))
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"},
		{"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	e := &env{t: t, ws: dir, vars: []string{"HANDOFF_NO_AUTOSTART=1"}}
	sub := e.run(nil, "submit", "--module", "sku/sku.go", "--no-worker")
	require.Equal(t, 0, sub.code, sub.stderr)
	require.Equal(t, "QUEUED", e.status(strings.TrimSpace(sub.stdout))["status"])
	st := exec.Command("git", "status", "--porcelain")
	st.Dir = dir
	out, err = st.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "the workspace stays clean for git")
}

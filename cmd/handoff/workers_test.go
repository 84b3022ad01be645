package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
)

// pathWithout returns $PATH without the directories holding a program
// named name.
func pathWithout(name string) string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, name)); err != nil {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// TestWorkerServesOnlyWhatItCan: a worker on a machine without Go never
// takes a Go task; the task's status says why it waits and what the live
// workers serve; a worker with Go then runs it.
func TestWorkerServesOnlyWhatItCan(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		noGo := "PATH=" + pathWithout("go")
		_, err := exec.LookPath("go")
		require.NoError(t, err)

		r := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
		require.Equal(t, 0, r.code, r.stderr)
		id := strings.TrimSpace(r.stdout)

		e.worker(noGo)
		st := e.pollStatus(id, 30*time.Second, func(st map[string]any) bool { return st["waiting"] != nil })
		require.Equal(t, "QUEUED", st["status"])
		require.Contains(t, st["waiting"], "no live worker can run it: it needs agent exec for go")
		require.EqualValues(t, 0, st["attempt"], "the worker without Go never took it")

		r = e.run(nil, "workers", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		var ws []handoff.Worker
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &ws))
		require.Len(t, ws, 1)
		require.NotContains(t, ws[0].Capabilities.Languages, "go")
		require.Contains(t, ws[0].Capabilities.Languages, "python")
		require.Equal(t, []string{"python"}, ws[0].Capabilities.Agents["exec"], "exec serves Python alone here")

		r = e.run(nil, "status", id)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "waiting")

		e.worker()
		st = e.pollStatus(id, 60*time.Second, func(st map[string]any) bool { return st["status"] == "COMPLETED" })
		require.Equal(t, true, st["success"])
		require.Nil(t, st["waiting"])
	})
}

// TestWorkerAgentLimitFlag: --agent-limit is checked and shown by workers.
func TestWorkerAgentLimitFlag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	r := e.run(nil, "worker", "--agent-limit", "openhands")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `"openhands" is not name=N`)

	e.workerVia([]string{binary, "worker", "--agent-limit", "exec=1"}, e.ws)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = e.run(nil, "workers") // fails until the worker created the database
		if r.code == 0 && strings.Contains(r.stdout, "agent exec") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	require.Contains(t, r.stdout, "agent exec: go, python, at most 1 at once")
}

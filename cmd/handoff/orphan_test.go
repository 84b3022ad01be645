//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// orphanAgent is an exec agent that logs its start and stop, holds a lock
// on its task for as long as any of its processes lives, and leaves behind
// a child in a session of its own and a double-forked one, which a process
// group kill misses. Its first attempt at a task sleeps 60 s, far longer
// than the test waits; later attempts sleep 1 s and write tests. Every
// process it starts carries "$RUN-<task>-<first|again>" in its argv.
const orphanAgent = `attempt=again
if [ ! -e "$MARKS/$HANDOFF_TASK_ID.first" ]; then attempt=first; touch "$MARKS/$HANDOFF_TASK_ID.first"; fi
mark="$RUN-$HANDOFF_TASK_ID-$attempt"
exec 9>"$MARKS/$HANDOFF_TASK_ID.lock"
flock -n 9 || echo "overlap $HANDOFF_TASK_ID $attempt $(date +%s.%N)" >> "$MARKS/agents.log"
echo "start $HANDOFF_TASK_ID $attempt $(date +%s.%N)" >> "$MARKS/agents.log"
setsid sh -c 'sleep 300; :' "$mark-setsid" </dev/null >/dev/null 2>&1 &
(setsid sh -c 'sleep 300; :' "$mark-double" </dev/null >/dev/null 2>&1 &)
if [ $attempt = first ]; then sh -c 'sleep 60; :' "$mark-main"; else sleep 1; fi
` + goodTests + `
echo "stop $HANDOFF_TASK_ID $attempt $(date +%s.%N)" >> "$MARKS/agents.log"
`

// TestKilledWorkerLeavesNoAgent: a worker killed with SIGKILL while its
// agents run takes every process of every agent with it, setsid and
// double-forked children included, before a second worker rescues the
// tasks; no two agents of one task ever run at once (the lock the agents
// hold says so from their side) and every task completes once.
func TestKilledWorkerLeavesNoAgent(t *testing.T) {
	t.Parallel()
	testenv.PIDNamespaces(t)
	testenv.LookPath(t, "flock", "apt-get install util-linux")
	each(t, func(t *testing.T, dbURL string) {
		const tasks = 10
		e := newEnv(t, dbURL)
		files := map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n"}
		for i := range tasks {
			files[fmt.Sprintf("p%d/calc.go", i)] = agenttest.GoModule
		}
		e.ws = testenv.GitRepo(t, files)
		marks := t.TempDir()
		run := fmt.Sprintf("handoff-orphan-%d-%s", os.Getpid(), filepath.Base(t.Name()))
		e.vars = append(e.vars, "MARKS="+marks, "RUN="+run, "HANDOFF_EXEC_ENV=MARKS,RUN",
			"HANDOFF_EXEC_COMMAND="+orphanAgent, fmt.Sprintf("HANDOFF_WORKERS=%d", tasks))
		ids := make([]string, tasks)
		for i := range tasks {
			sub := e.run(nil, "submit", "--module", fmt.Sprintf("p%d/calc.go", i), "--agent", "exec")
			require.Equal(t, 0, sub.code, sub.stderr)
			ids[i] = strings.TrimSpace(sub.stdout)
		}
		agentLog := filepath.Join(marks, "agents.log")
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(agentLog)
				t.Logf("agents' log:\n%s", b)
				for _, id := range ids {
					t.Logf("%s: %v", id, e.status(id))
				}
			}
		})
		starts := func() int {
			b, _ := os.ReadFile(agentLog)
			return strings.Count(string(b), "start ")
		}

		first := e.worker()
		waitUntil(t, 2*time.Minute, "all first attempts running with their children", func() bool {
			// Each first attempt: the main sleeper and two escapees.
			return starts() == tasks && len(testenv.Processes(run)) >= 3*tasks
		})
		require.NoError(t, first.Process.Signal(syscall.SIGKILL))
		_ = first.Wait()
		killed := time.Now()
		// The kernel ends the namespaces when their init's parent dies;
		// the deadline is for a loaded machine, not a grace period.
		testenv.NoProcesses(t, run, 5*time.Second)
		t.Logf("no agent process left %s after the kill", time.Since(killed).Round(time.Millisecond))

		// The rescuer's lease is long: ten tasks verifying at once on a
		// 2-core machine can hold its beats back for seconds, and a 2 s
		// lease would then (rightly) stop and rescue an attempt again.
		e.worker("HANDOFF_HEARTBEAT_INTERVAL=500ms", "HANDOFF_HEARTBEAT_TIMEOUT=15s")
		for _, id := range ids {
			// Verifying ten tasks at once takes a 2-core machine shared with
			// other tests minutes: the agents are done within seconds.
			w := e.run(nil, "wait", id, "--wait-timeout", "6m", "--poll-interval", "100ms", "--json")
			require.Equal(t, 0, w.code, w.stdout+w.stderr)
			var res map[string]any
			require.NoError(t, json.Unmarshal([]byte(w.stdout), &res))
			require.Equal(t, "COMPLETED", res["status"], id)
			require.Equal(t, true, res["success"], id)
			require.Equal(t, 2.0, res["attempts"], "%s: the rescued task ran again as attempt 2", id)
		}
		b, err := os.ReadFile(agentLog)
		require.NoError(t, err)
		require.NotContains(t, string(b), "overlap", "two agents of one task ran at once")
		var rescued float64
		for _, l := range strings.Split(string(b), "\n") {
			var id string
			var at float64
			if n, _ := fmt.Sscanf(l, "start %s again %f", &id, &at); n == 2 && (rescued == 0 || at < rescued) {
				rescued = at
			}
		}
		t.Logf("first rescued attempt started %.1fs after the kill", rescued-float64(killed.UnixNano())/1e9)
		for _, id := range ids {
			require.Equal(t, 1, strings.Count(string(b), "start "+id+" first "), id)
			require.Equal(t, 1, strings.Count(string(b), "start "+id+" again "), id)
			require.Equal(t, 0, strings.Count(string(b), "stop "+id+" first "), "%s: the killed attempt never finished", id)
			require.Equal(t, 1, strings.Count(string(b), "stop "+id+" again "), id)
		}
		for i := range tasks {
			got, err := os.ReadFile(filepath.Join(e.ws, fmt.Sprintf("p%d/calc_test.go", i)))
			require.NoError(t, err)
			require.Equal(t, 1, strings.Count(string(got), "func TestAdd("), "p%d: applied once", i)
		}
		// The second worker's agents ended with their runs, children too.
		testenv.NoProcesses(t, run, 5*time.Second)
	})
}

// waitUntil polls cond until it holds, failing t after within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %s", what, within)
		time.Sleep(50 * time.Millisecond) // polling interval with a deadline, not a wait for an event
	}
}

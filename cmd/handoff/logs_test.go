package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestLogsFollow: `handoff logs -f` prints what the agent writes while it
// runs and exits by itself when the task is final; `logs` prints the whole
// log afterwards. The task is named by its short ID.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	// printf, so that the lines looked for are not in the logged command line.
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS",
		`HANDOFF_EXEC_COMMAND=printf 'agent-line-%s\n' one; while [ ! -e "$MARKS/go" ]; do sleep 0.05; done; printf 'agent-line-%s\n' two; `+goodTests)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := handoff.ShortID(strings.TrimSpace(sub.stdout))
	e.worker()

	follow := exec.Command(binary, "logs", "-f", id, "--poll-interval", "50ms")
	follow.Dir = e.ws
	follow.Env = append(follow.Environ(), e.vars...)
	var out, errb testenv.Buffer
	follow.Stdout, follow.Stderr = &out, &errb
	require.NoError(t, follow.Start())
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()

	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "agent-line-one") {
		require.True(t, time.Now().Before(deadline), "logs -f showed nothing of the running agent: %q %q", out.String(), errb.String())
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	require.NotContains(t, out.String(), "agent-line-two")
	write(t, filepath.Join(marks, "go"), "")
	select {
	case err := <-exited:
		require.NoError(t, err, errb.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("logs -f did not exit when the task ended")
	}
	require.Contains(t, out.String(), "agent-line-two")

	all := e.run(nil, "logs", id)
	require.Equal(t, 0, all.code, all.stderr)
	require.Contains(t, all.stdout, "agent-line-one")
	require.Contains(t, all.stdout, "agent-line-two")
}

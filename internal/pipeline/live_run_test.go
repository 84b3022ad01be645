package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/pipeline/report"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// openPTY returns a pseudo-terminal pair: what is written to tty is read
// from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testenv.Missing(t, "a pseudo-terminal (/dev/ptmx)", "run the tests where /dev/pts is mounted")
	}
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}))
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestLiveViewOnTerminal: on a terminal the active stage and task lines are
// drawn and redrawn in place, below the event lines.
func TestLiveViewOnTerminal(t *testing.T) {
	t.Parallel()
	if os.Getenv("TERM") == "dumb" {
		t.Skip("TERM=dumb turns the live view off")
	}
	master, tty := openPTY(t)
	var screen testenv.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&screen, master) // ends with EIO once the terminal closes
	}()

	tasks := newMemTasks(t, 0, block)
	b := setup(t, `
stages:
  gen:
    generate:
      modules: ["a.go"]
  slow:
    run: |
      i=0
      while [ ! -e go.on ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 1; sleep 0.01; done
`, tasks, "a.go")
	b.opts.Display = report.NewLive(tty)
	b.opts.Detach = true
	done := make(chan *pipeline.Summary, 1)
	go func() {
		s, err := pipeline.Run(context.Background(), b.opts)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- s
	}()
	waitFor(t, "the live lines", func() bool {
		out := screen.String()
		return strings.Contains(out, "● slow") && strings.Contains(out, "◦ a.go") && strings.Contains(out, "RUNNING")
	})
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "go.on"), nil, 0o644))
	var s *pipeline.Summary
	select {
	case s = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("run did not finish")
	}
	require.NotNil(t, s)
	require.Equal(t, pipeline.ExitOK, s.ExitCode())
	tty.Close()
	<-copied
	out := screen.String()
	require.Contains(t, out, "\x1b[", "the block is redrawn in place")
	require.Contains(t, out, "slow succeeded")
	st, err := tasks.state("a.go")
	require.NoError(t, err)
	require.Equal(t, handofftype.StateRunning, st, "without a collect, tasks outlive the run")
}

package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// Other processes: the test binary, run again with childEnv set to a
// childConfig, is a worker or a waiter of its own, with its own connection
// pool, as `handoff worker` and `handoff wait` are. It speaks in lines on
// stdout and stops when its stdin closes.

const childEnv = "HANDOFF_TEST_ENGINE_CHILD"

// childConfig says what a child process does.
type childConfig struct {
	URL  string `json:"url"`
	Role string `json:"role"` // "worker" or "waiter"
	// A worker's attempts: "instant" returns at once; "block" says
	// "running ID" and blocks until cancelled, then says "stopped ID
	// UNIXNANO CAUSE".
	Run       string        `json:"run,omitempty"`
	Workers   int           `json:"workers,omitempty"`
	Heartbeat time.Duration `json:"heartbeat,omitempty"` // interval; the timeout is ten times it
	// Hold makes a worker wait for a "go" line before it starts working.
	Hold bool `json:"hold,omitempty"`
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		var c childConfig
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := runChild(c); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childOut serialises the child's lines.
var childOut sync.Mutex

func say(format string, args ...any) {
	childOut.Lock()
	defer childOut.Unlock()
	fmt.Printf(format+"\n", args...)
}

func runChild(c childConfig) error {
	ctx := context.Background()
	db, err := database.Open(ctx, c.URL, database.Options{Workers: c.Workers})
	if err != nil {
		return err
	}
	defer db.Close()
	cfg := engine.Config{DB: db, Workers: c.Workers, FetchInterval: 50 * time.Millisecond}
	if c.Heartbeat > 0 {
		cfg.HeartbeatInterval, cfg.HeartbeatTimeout = c.Heartbeat, 10*c.Heartbeat
	}
	switch c.Run {
	case "instant":
		cfg.Run = func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		}
	case "block":
		cfg.Run = func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			say("running %s", rec.ID)
			<-ctx.Done()
			say("stopped %s %d %v", rec.ID, time.Now().UnixNano(), context.Cause(ctx))
			return nil, context.Cause(ctx)
		}
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return err
	}
	defer eng.Close()
	in := bufio.NewScanner(os.Stdin)
	switch c.Role {
	case "worker":
		if c.Hold {
			say("ready")
			if !in.Scan() {
				return nil
			}
		}
		if err := eng.Start(ctx, engine.Serving{}); err != nil {
			return err
		}
		say("started")
		for in.Scan() { // until stdin closes
		}
		return eng.Stop(ctx, 5*time.Second)
	case "waiter":
		// The first wake of any waiter is the listener connecting: from
		// then on nothing is lost.
		warm, release := eng.Done("warm-up")
		<-warm
		release()
		say("ready")
		for in.Scan() {
			if err := awaitFinal(ctx, eng, in.Text()); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown role %q", c.Role)
}

// awaitFinal waits for a task's final state on the engine's signal alone,
// never reading on a timer: only a notification (or the listener
// reconnecting) wakes it. It says "waiting ID" once registered and the
// task read not final, then "final ID UNIXNANO STATE" when it sees it final.
func awaitFinal(ctx context.Context, eng *engine.Engine, id string) error {
	said := false
	deadline := time.After(5 * time.Minute)
	for {
		done, release := eng.Done(id)
		rec, err := eng.Store().Get(ctx, id)
		if err != nil {
			release()
			return err
		}
		if rec.State.Final() {
			release()
			say("final %s %d %s", id, time.Now().UnixNano(), rec.State)
			return nil
		}
		if !said {
			say("waiting %s", id)
			said = true
		}
		select {
		case <-done:
		case <-deadline:
			release()
			return fmt.Errorf("task %s not final after 5 minutes", id)
		}
		release()
	}
}

// child is a running child process.
type child struct {
	tb    testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []string // its stdout, line by line, split on spaces

	stopOnce sync.Once
	stopErr  error
}

// startChild starts a child process; it is stopped when the test ends.
func startChild(tb testing.TB, c childConfig) *child {
	tb.Helper()
	cfg, err := json.Marshal(c)
	require.NoError(tb, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(tb, cmd.Start())
	ch := &child{tb: tb, cmd: cmd, stdin: stdin, lines: make(chan []string, 1024)}
	go func() {
		defer close(ch.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch.lines <- strings.Fields(sc.Text())
		}
	}()
	tb.Cleanup(func() {
		if err := ch.stop(); err != nil {
			tb.Errorf("child %s: %v\n%s", c.Role, err, stderr.String())
		}
	})
	return ch
}

// stop closes the child's stdin and waits for it to end (killing it after
// 30 s), and says how it ended.
func (c *child) stop() error {
	c.stopOnce.Do(func() {
		c.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case c.stopErr = <-done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			c.stopErr = errors.New("it did not stop within 30 s of its stdin closing")
		}
	})
	return c.stopErr
}

// cpu is the CPU time the child used, once stopped.
func (c *child) cpu() time.Duration {
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}

// expect returns the child's next line, which must start with word.
func (c *child) expect(word string) []string {
	c.tb.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.tb.Fatalf("the child ended while the test expected %q", word)
		}
		require.NotEmpty(c.tb, l)
		require.Equal(c.tb, word, l[0], "child said %v", l)
		return l
	case <-time.After(2 * time.Minute): // a loaded machine starts a process slowly; nothing waits this long when all is well
		c.tb.Fatalf("the child never said %q", word)
		return nil
	}
}

func (c *child) send(line string) {
	c.tb.Helper()
	_, err := io.WriteString(c.stdin, line+"\n")
	require.NoError(c.tb, err)
}

// unixNano reads a time the child said.
func unixNano(tb testing.TB, s string) time.Time {
	tb.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(tb, err)
	return time.Unix(0, n)
}

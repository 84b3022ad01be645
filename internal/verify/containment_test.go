package verify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// Under bubblewrap a generated test has no network and cannot write
// outside the task directory.
func TestContainmentNoNetworkReadOnly(t *testing.T) {
	t.Parallel()
	needGo(t)
	if !sandbox.BwrapAvailable() {
		testenv.Missing(t, "bubblewrap (bwrap)", "apt-get install bubblewrap")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	// Outside the task directory and outside /tmp (which the sandbox
	// replaces by a private one): the package directory, writable here.
	wd, err := os.Getwd()
	require.NoError(t, err)
	outside := filepath.Join(wd, "escaped-"+filepath.Base(t.TempDir())+".txt")
	t.Cleanup(func() { _ = os.Remove(outside) })

	ctx := context.Background()
	ft := newFixtureTask(t, "testdata/go/module")
	o := Options{Dir: ft.dir, Module: "calc/calc.go", TestTimeout: 20 * time.Second, Log: testLog(t)}
	b, err := Measure(ctx, o)
	require.NoError(t, err)
	tmpl, err := os.ReadFile("testdata/containment/go/calc_handoff_test.go.tmpl")
	require.NoError(t, err)
	src := strings.NewReplacer("{{ADDR}}", ln.Addr().String(), "{{OUTSIDE}}", outside).Replace(string(tmpl))
	ft.write(t, "calc/calc_handoff_test.go", src)

	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	require.Equal(t, sandbox.ContainmentBwrap, r.Containment)
	require.Equal(t, sandbox.ContainmentBwrap, b.Containment)
	require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
	require.Equal(t, map[string]string{"TestDialsOut": ReasonFailed, "TestWritesOutside": ReasonFailed}, reasons(r))
	for _, d := range r.Dropped {
		if d.Name == "TestWritesOutside" {
			// Read-only outside the task directory; or, when the checkout
			// itself lies under /tmp, hidden by the sandbox's private /tmp.
			require.Regexp(t, "read-only file system|no such file or directory", d.Excerpt)
		}
	}
	require.NoFileExists(t, outside)
	// Nothing reached the listener.
	require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(10*time.Millisecond)))
	_, err = ln.Accept()
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "no connection was made: %v", err)
}

// A test that sleeps forever is killed at the per-run timeout, with the
// child process it started.
func TestContainmentTimeoutKillsChildren(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	ctx := context.Background()
	ft := newFixtureTask(t, "testdata/python/module")
	// The bound must tell a test that sleeps an hour from a good one slowed
	// by a loaded machine: calibrated from how long the baseline run took.
	o := Options{Dir: ft.dir, Module: "shapes/geometry.py", TestTimeout: 5 * time.Minute, Runs: 1, Python: py, Log: testLog(t)}
	measureStart := time.Now()
	b, err := Measure(ctx, o)
	require.NoError(t, err)
	timeout := max(6*time.Second, 5*time.Since(measureStart))
	o.TestTimeout = timeout
	src, err := os.ReadFile("testdata/containment/python/test_geometry_handoff.py")
	require.NoError(t, err)
	ft.write(t, "tests/shapes/test_geometry_handoff.py", string(src))

	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"tests/shapes/test_geometry_handoff.py::test_sleeps_forever": ReasonTimeout}, reasons(r))
	require.Equal(t, []string{"tests/shapes/test_geometry_handoff.py::test_classify_zero"}, r.Kept)
	killed := 0
	for _, c := range r.Commands {
		if c.TimedOut {
			killed++
			require.GreaterOrEqual(t, c.Duration, timeout)
			// The children sleep an hour: a minute of slack for a loaded
			// machine still tells the kill at the timeout from their end.
			require.Less(t, c.Duration, timeout+time.Minute, "killed at the timeout, not when the children ended")
		}
	}
	require.Equal(t, 1, killed)
	requireNoProcess(t, "sleep 3606")
}

// Cancelling verification stops the test run at once, children included,
// and is an error, not a verdict.
func TestContainmentCancel(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	ft := newFixtureTask(t, "testdata/python/module")
	o := Options{Dir: ft.dir, Module: "shapes/geometry.py", TestTimeout: time.Hour, Python: py, Log: testLog(t)}
	b, err := Measure(context.Background(), o)
	require.NoError(t, err)
	src, err := os.ReadFile("testdata/containment/python/test_geometry_handoff.py")
	require.NoError(t, err)
	ft.write(t, "tests/shapes/test_geometry_handoff.py", strings.ReplaceAll(string(src), "3606", "3607"))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 10*time.Second)
	requireNoProcess(t, "sleep 3607")
}

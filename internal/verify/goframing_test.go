package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The events convertGoTestOutput makes of a test binary's output are
// exactly those go tool test2json makes of the same bytes and exit code:
// the fixture's tests print subtests, parallel output, lines that look
// like framing, long lines cut inside UTF-8 sequences, output without a
// newline, stderr, and end in a panic, an os.Exit or a timeout.
func TestConvertGoTestOutputMatchesTest2json(t *testing.T) {
	t.Parallel()
	needGo(t)
	ctx := context.Background()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "fr.test")
	out, err := execCommand(ctx, "testdata/framing", "go", "test", "-c", "-o", bin, "./fr")
	require.NoError(t, err, out)
	pkgDir, err := filepath.Abs("testdata/framing/fr")
	require.NoError(t, err)

	cases := []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, res *suiteResult)
	}{
		{"mixed", []string{"-test.run=^Test(Plain|Fail|Skip|Subtests|ParallelA|ParallelB|LooksLikeFraming|NoNewline|LongLines|Stderr)$"}, nil,
			func(t *testing.T, res *suiteResult) {
				require.Equal(t, map[string]status{
					"TestPlain": statusPass, "TestFail": statusFail, "TestSkip": statusSkip, "TestSubtests": statusFail,
					"TestParallelA": statusPass, "TestParallelB": statusFail, "TestLooksLikeFraming": statusPass,
					"TestNoNewline": statusPass, "TestLongLines": statusPass, "TestStderr": statusPass,
				}, outcomesOf(res))
				require.Contains(t, res.Tests["TestSubtests"].Output, "deep failure", "a subtest's output is its parent's")
				require.Contains(t, res.Tests["TestFail"].Output, "got 4, want 5")
				require.False(t, res.Aborted)
			}},
		{"shuffled", []string{"-test.run=^Test(Plain|Fail|Subtests)$", "-test.shuffle=7", "-test.skip=^TestFail$"}, nil, nil},
		{"prelude", []string{"-test.run=^TestPlain$"}, []string{"FRAMING_PRELUDE=1"},
			func(t *testing.T, res *suiteResult) {
				require.Equal(t, map[string]status{"TestBefore": statusFail, "TestAlone": statusPass, "TestPlain": statusPass}, outcomesOf(res))
			}},
		{"panic", []string{"-test.run=^Test(Plain|Panic)$"}, nil,
			func(t *testing.T, res *suiteResult) {
				require.Equal(t, statusFail, res.Tests["TestPanic"].Status)
				require.Contains(t, res.Output, "panic: boom")
			}},
		{"exit0", []string{"-test.run=^TestExit0$"}, nil,
			func(t *testing.T, res *suiteResult) {
				require.Equal(t, statusFail, res.Tests["TestExit0"].Status)
			}},
		{"timeout", []string{"-test.run=^Test(Plain|Hang)$", "-test.timeout=1s"}, nil,
			func(t *testing.T, res *suiteResult) {
				require.Equal(t, statusTimeout, res.Tests["TestHang"].Status)
				require.Equal(t, statusPass, res.Tests["TestPlain"].Status)
				require.True(t, res.Aborted)
			}},
		{"nothing", []string{"-test.run=^TestNothing$"}, nil,
			func(t *testing.T, res *suiteResult) {
				require.Empty(t, res.Tests)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, exit := runTestBinary(t, pkgDir, tc.env, bin, append([]string{"-test.v=test2json", "-test.paniconexit0"}, tc.args...)...)
			var got []goEvent
			convertGoTestOutput(raw, exit, false, func(e goEvent) { got = append(got, e) })
			want := test2jsonEvents(t, tmp, raw, exit)
			require.Equal(t, want, got, "output:\n%s", raw)

			if tc.check != nil {
				r := newGoEventReader()
				for _, e := range got {
					r.event(e)
				}
				res, _ := r.result(pkgDir, pkgDir, false)
				tc.check(t, res)
			}
		})
	}
}

// A run killed at its timeout ends without the final event and without the
// line the binary had not finished, as when test2json was killed with it;
// the test that was running then timed out.
func TestConvertGoTestOutputKilled(t *testing.T) {
	t.Parallel()
	raw := []byte("\x16=== RUN   TestA\n\x16--- PASS: TestA (0.00s)\n\x16=== RUN   TestB\nhalf a li")
	var got []goEvent
	convertGoTestOutput(raw, -1, true, func(e goEvent) { got = append(got, e) })
	require.Equal(t, goEvent{Action: "output", Test: "TestB", Output: "=== RUN   TestB\n"}, got[len(got)-1])
	r := newGoEventReader()
	for _, e := range got {
		r.event(e)
	}
	res, _ := r.result("/", "/", true)
	require.Equal(t, map[string]status{"TestA": statusPass, "TestB": statusTimeout}, outcomesOf(res))
	require.True(t, res.Aborted)
}

// runTestBinary runs a test binary in dir as go test would, stdout and
// stderr on one pipe, and returns its output and exit code.
func runTestBinary(t *testing.T, dir string, env []string, bin string, args ...string) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &exitErr)
	}
	return out.Bytes(), cmd.ProcessState.ExitCode()
}

// test2jsonEvents has go tool test2json convert raw, as if a test binary
// printed it and exited with exit.
func test2jsonEvents(t *testing.T, tmp string, raw []byte, exit int) []goEvent {
	t.Helper()
	f, err := os.CreateTemp(tmp, "raw-*.out")
	require.NoError(t, err)
	_, err = f.Write(raw)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "test2json", "sh", "-c", `cat "$1"; exit "$2"`, "sh", f.Name(), strconv.Itoa(exit))
	js, _ := cmd.Output() // exits 1 when the "binary" did
	var events []goEvent
	sc := bufio.NewScanner(bytes.NewReader(js))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e goEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		events = append(events, e)
	}
	require.NotEmpty(t, events)
	return events
}

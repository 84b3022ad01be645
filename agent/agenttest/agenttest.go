// Package agenttest is the conformance suite every agent backend passes, the
// way River's drivers pass riverdrivertest. A backend's test calls Run with a
// Harness that builds the agent; the suite gives it real task directories
// with a small Go (and Python) module and checks the promises of the
// agent.Agent contract: tests are written inside the task directory only, at
// test paths, the module's source is left alone, unsupported languages are
// refused with agent.ErrUnsupportedLanguage, cancellation stops the run, and
// the settings of an agent.Configurable survive the trip to another worker.
package agenttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/verify"
)

// Harness tells the suite how to build the agent under test.
type Harness struct {
	// New returns a ready agent. It is called once per check.
	New func(t *testing.T) agent.Agent
	// Slow, when set, returns an agent whose Run keeps working until its
	// context is cancelled, after calling task.Progress at least once. The
	// suite cancels it mid-run and expects a prompt return.
	Slow func(t *testing.T) agent.Agent
	// CancelWithin bounds how long Run may take to return after cancellation.
	// Zero means 10 seconds.
	CancelWithin time.Duration
}

// Run runs the conformance checks as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	within := h.CancelWithin
	if within == 0 {
		within = 10 * time.Second
	}

	t.Run("Identity", func(t *testing.T) {
		a := h.New(t)
		require.NotEmpty(t, a.Name(), "Name must be the name users select the agent by")
		require.NotContains(t, a.Name(), " ")
		require.NotEmpty(t, a.Languages())
		for _, l := range a.Languages() {
			require.Contains(t, []string{"go", "python"}, l, "unknown language %q", l)
		}
	})

	t.Run("WritesTestsInsideTaskDir", func(t *testing.T) {
		a := h.New(t)
		for _, lang := range a.Languages() {
			fx := NewFixture(t, lang)
			rep, err := a.Run(context.Background(), fx.Task)
			require.NoError(t, err, "%s run on the %s fixture", a.Name(), lang)
			require.NotNil(t, rep, "Run must return a Report when it succeeds")

			changed := fx.Changed(t)
			require.NotEmpty(t, changed, "%s wrote no file in the task directory", a.Name())
			for _, p := range changed {
				require.True(t, IsTestPath(lang, p), "%s changed %s, which is not a test file", a.Name(), p)
			}
			fx.RequireOutsideUntouched(t)
		}
	})

	t.Run("RefusesUnsupportedLanguage", func(t *testing.T) {
		a := h.New(t)
		for _, lang := range []string{"go", "python"} {
			if slices.Contains(a.Languages(), lang) {
				continue
			}
			fx := NewFixture(t, lang)
			_, err := a.Run(context.Background(), fx.Task)
			require.ErrorIs(t, err, agent.ErrUnsupportedLanguage)
			require.Empty(t, fx.Changed(t), "a refused task must leave the task directory alone")
		}
	})

	t.Run("CancelledBeforeStart", func(t *testing.T) {
		a := h.New(t)
		fx := NewFixture(t, a.Languages()[0])
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { _, err := a.Run(ctx, fx.Task); done <- err }()
		select {
		case err := <-done:
			require.Error(t, err, "Run with a cancelled context must fail")
		case <-time.After(within):
			t.Fatalf("Run ignored a cancelled context for %s", within)
		}
		fx.RequireOutsideUntouched(t)
	})

	t.Run("SettingsTravel", func(t *testing.T) {
		c, ok := h.New(t).(agent.Configurable)
		if !ok {
			t.Skip("the agent has no settings to carry with a task")
		}
		raw, err := c.Settings()
		require.NoError(t, err)
		require.True(t, json.Valid(raw), "Settings must be JSON: %s", raw)
		for name, v := range c.Secrets() {
			if v != "" {
				require.NotContains(t, string(raw), v, "the value of secret %s is in the settings", name)
			}
		}
		b, err := c.WithSettings(raw)
		require.NoError(t, err, "WithSettings must accept what Settings returned")
		require.Equal(t, c.Name(), b.Name())
		require.ElementsMatch(t, c.Languages(), b.Languages())
		again, err := b.(agent.Configurable).Settings()
		require.NoError(t, err)
		require.JSONEq(t, string(raw), string(again), "settings must survive a round trip")

		var fields map[string]any
		require.NoError(t, json.Unmarshal(raw, &fields))
		fields["setting_from_the_future"] = true
		future, _ := json.Marshal(fields)
		_, err = c.WithSettings(future)
		require.ErrorContains(t, err, "setting_from_the_future", "an unknown setting must be refused, by name")
	})

	if h.Slow != nil {
		t.Run("CancelWhileRunning", func(t *testing.T) {
			a := h.Slow(t)
			fx := NewFixture(t, a.Languages()[0])
			started := make(chan struct{})
			var once sync.Once
			fx.Task.Progress = func(string) { once.Do(func() { close(started) }) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := a.Run(ctx, fx.Task); done <- err }()
			select {
			case <-started:
			case err := <-done:
				t.Fatalf("slow agent returned before it was cancelled: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("slow agent never reported progress")
			}
			cancel()
			select {
			case err := <-done:
				require.Error(t, err)
			case <-time.After(within):
				t.Fatalf("Run did not return within %s of cancellation", within)
			}
		})
	}
}

// Fixture is a task directory holding a small module, with a sibling
// directory the agent must never touch.
type Fixture struct {
	Task    *agent.Task
	Outside string // a directory beside the task directory
	before  map[string][]byte
}

// GoModule and PythonModule are the fixture sources, for agents (stand-ins,
// scripted backends) that need to know what they are testing.
const (
	GoModule = `package calc

import "errors"

// Add returns a+b.
func Add(a, b int) int { return a + b }

// Abs returns the absolute value of n.
func Abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Div divides a by b.
func Div(a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}
`
	// GoModuleTests covers every statement of GoModule: what a good agent
	// writes, for scripted agents and stand-ins.
	GoModuleTests = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestAbs(t *testing.T) {
	if Abs(-4) != 4 || Abs(4) != 4 {
		t.Fatal("Abs")
	}
}

func TestDiv(t *testing.T) {
	if q, err := Div(6, 3); err != nil || q != 2 {
		t.Fatal("Div(6, 3)")
	}
	if _, err := Div(1, 0); err == nil {
		t.Fatal("Div by zero must fail")
	}
}
`
	PythonModule = `def add(a, b):
    return a + b


def absolute(n):
    if n < 0:
        return -n
    return n
`
)

// NewFixture lays out a task directory for lang ("go" or "python").
func NewFixture(t *testing.T, lang string) *Fixture {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "task")
	outside := filepath.Join(root, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("untouched\n"), 0o644))

	files := map[string]string{}
	task := &agent.Task{ID: "conformance", Attempt: 1, Round: 1, Dir: dir, Language: lang, Threshold: 80,
		Deadline: time.Now().Add(5 * time.Minute), Log: &bytes.Buffer{}, Progress: func(string) {},
		State: NewMemoryState()}
	switch lang {
	case "go":
		files["go.mod"] = "module example.com/calc\n\ngo 1.22\n"
		files["calc.go"] = GoModule
		task.Module, task.Output = "calc.go", "calc_test.go"
	case "python":
		files["calc.py"] = PythonModule
		task.Module, task.Output = "calc.py", "tests/test_calc.py"
	default:
		t.Fatalf("agenttest: no fixture for language %q", lang)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	task.Prompt = "Write unit tests for " + task.Module + " in " + task.Output +
		" so that its coverage reaches at least 80 %. Change no other file."
	return &Fixture{Task: task, Outside: outside, before: readTree(t, dir)}
}

// Changed lists the slash-separated paths added, modified or deleted in the
// task directory since the fixture was laid out.
func (f *Fixture) Changed(t *testing.T) []string {
	t.Helper()
	now := readTree(t, f.Task.Dir)
	var out []string
	for p, b := range now {
		if old, ok := f.before[p]; !ok || !bytes.Equal(old, b) {
			out = append(out, p)
		}
	}
	for p := range f.before {
		if _, ok := now[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// RequireOutsideUntouched fails t if anything beside the task directory changed.
func (f *Fixture) RequireOutsideUntouched(t *testing.T) {
	t.Helper()
	got := readTree(t, f.Outside)
	require.Equal(t, map[string][]byte{"keep.txt": []byte("untouched\n")}, got,
		"the agent wrote outside its task directory")
	entries, err := os.ReadDir(filepath.Dir(f.Task.Dir))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"task", "outside"}, names, "the agent created files beside its task directory")
}

// IsTestPath reports whether a slash-separated path is a test file by the
// language's convention (verify's rule, the one handoff keeps tests by), or
// a Python package marker (__init__.py) a test directory may need.
func IsTestPath(lang, p string) bool {
	return verify.IsTestFile(lang, p) || (lang == verify.LanguagePython && path.Base(p) == "__init__.py")
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" || d.Name() == ".pytest_cache" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = []byte("symlink:" + target)
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return out
	}
	require.NoError(t, err)
	return out
}

// MemoryState is an in-memory agent.StateStore for tests.
type MemoryState struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState { return &MemoryState{m: map[string]string{}} }

// Get implements agent.StateStore.
func (s *MemoryState) Get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

// Put implements agent.StateStore.
func (s *MemoryState) Put(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

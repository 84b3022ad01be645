package handoff_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	execagent "github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// Fake secrets, recognisable wherever they might turn up.
const (
	fakeSSHKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAAHANDOFFFAKEKEYLINEONEAAAAAAAAAAAAAAAAAAAAAAAAAA
QyNTUxOQAAACHANDOFFFAKEKEYLINETWOAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
-----END OPENSSH PRIVATE KEY-----
`
	fakeLLMKey     = "sk-handoff-fake-llm-key-0123456789"
	fakeAgentToken = "handoff-fake-agent-token-9876543210"
)

// leaks lists the fake secrets' recognisable parts.
var leaks = []string{"HANDOFFFAKEKEYLINEONE", "HANDOFFFAKEKEYLINETWO", "BEGIN OPENSSH PRIVATE KEY", fakeLLMKey, fakeAgentToken}

// TestHostileTestsAreContained is the fixture: an exec agent writes
// two good tests and one of each hostile kind (read the user's ssh key,
// /etc/shadow and handoff's LLM key; write 2 GiB; start 10,000 processes;
// allocate 20 GiB; leave a marker file), and prints its own key and the
// ssh key to its log. The good tests are kept, every hostile one is
// dropped with its reason, no secret reaches the result, the feedback
// file, the prompt or the log, and the workspace changes by the kept test
// file alone, whose tests pass twice in a row.
//
// Not parallel: it plants a fake $HOME and fake secrets in the process
// environment, where the worker reads them, as a user's would be. Its
// subtests run one after the other for the same reason.
func TestHostileTestsAreContained(t *testing.T) {
	testenv.LookPath(t, "go", "install Go")
	testenv.LookPath(t, "prlimit", "apt-get install util-linux")
	if !sandbox.BwrapAvailable() {
		testenv.Missing(t, "a working bubblewrap", "apt-get install bubblewrap (user namespaces must be allowed)")
	}
	probe, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"true"}, Dir: t.TempDir(), Isolate: true,
		Limits: sandbox.Limits{Processes: 64}})
	require.NoError(t, err)
	if len(probe.Gaps) > 0 {
		// Without a process limit the fork test would start 10,000 processes.
		testenv.Missing(t, "a writable pids cgroup", strings.Join(probe.Gaps, "; "))
	}
	// The Go caches stay where they are; only $HOME moves.
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		out, err := exec.Command("go", "env", k).Output()
		require.NoError(t, err)
		t.Setenv(k, strings.TrimSpace(string(out)))
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".ssh", "id_rsa"), fakeSSHKey)
	t.Setenv("HOME", home)
	t.Setenv("LLM_API_KEY", fakeLLMKey)
	t.Setenv("AGENT_TOKEN", fakeAgentToken)
	t.Setenv("HANDOFF_EXEC_ENV", "LLM_API_KEY,AGENT_TOKEN")
	// Small limits, so that each trips within seconds.
	t.Setenv("HANDOFF_LIMIT_WRITE", "64M")
	t.Setenv("HANDOFF_LIMIT_PROCESSES", "256")
	t.Setenv("HANDOFF_LIMIT_MEMORY", "2G")

	t.Run("go", func(t *testing.T) {
		ws := goWorkspace(t)
		res, capture := runHostile(t, ws, "go", "calc.go", "testdata/containment/calc_test.go.txt")
		require.ElementsMatch(t, []string{"TestAbs", "TestDiv"}, res.Tests.Kept)
		require.Equal(t, map[string]string{
			"TestReadsHomeKey":     "failed",
			"TestReadsShadow":      "failed",
			"TestReadsAgentKey":    "failed",
			"TestWritesTwoGiB":     "resource_limit",
			"TestForksTenThousand": "resource_limit",
			"TestAllocates20GiB":   "resource_limit",
			"TestLeavesMarker":     "leaves_files",
		}, droppedReasons(res))
		requireLimits(t, res, map[string]string{"TestWritesTwoGiB": "write", "TestForksTenThousand": "processes", "TestAllocates20GiB": "memory"})
		requireNoLeak(t, res, capture)
		requireOnly(t, ws, "calc_test.go")
		out, err := runIn(ws, "go", "test", "-count=2", "./...")
		require.NoError(t, err, out)
		requireNoLeftProcess(t, "3611")
	})

	t.Run("python", func(t *testing.T) {
		if exec.Command("/usr/bin/python3", "-c", "import pytest, coverage").Run() != nil {
			testenv.Missing(t, "pytest and coverage.py", "apt-get install python3-pytest python3-coverage")
		}
		t.Setenv("HANDOFF_PYTHON", "/usr/bin/python3")
		ws := testenv.GitRepo(t, map[string]string{"pkg/__init__.py": "", "pkg/calc.py": agenttest.PythonModule})
		res, capture := runHostile(t, ws, "python", "pkg/calc.py", "testdata/containment/test_calc.py.txt")
		const f = "tests/pkg/test_calc.py::"
		require.ElementsMatch(t, []string{f + "test_add", f + "test_absolute_negative"}, res.Tests.Kept)
		require.Equal(t, map[string]string{
			f + "test_reads_home_key":     "failed",
			f + "test_reads_shadow":       "failed",
			f + "test_reads_agent_key":    "failed",
			f + "test_writes_two_gib":     "resource_limit",
			f + "test_forks_ten_thousand": "resource_limit",
			f + "test_allocates_20_gib":   "resource_limit",
			f + "test_leaves_marker":      "leaves_files",
		}, droppedReasons(res))
		requireLimits(t, res, map[string]string{f + "test_writes_two_gib": "write", f + "test_forks_ten_thousand": "processes", f + "test_allocates_20_gib": "memory"})
		requireNoLeak(t, res, capture)
		requireOnly(t, ws, "tests/pkg/test_calc.py")
		for run := 1; run <= 2; run++ {
			out, err := runIn(ws, "/usr/bin/python3", "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
			require.NoError(t, err, "run %d: %s", run, out)
		}
		requireNoLeftProcess(t, "3612")
	})
}

// runHostile runs a task with the hostile exec agent writing testsFile, two
// rounds at most, and returns the result and the directory where the agent
// kept its later rounds' feedback and prompts.
func runHostile(t *testing.T, ws, lang, module, testsFile string) (*handoff.Result, string) {
	t.Helper()
	capture := t.TempDir()
	tests, err := filepath.Abs(testsFile)
	require.NoError(t, err)
	script, err := filepath.Abs("testdata/containment/agent.sh")
	require.NoError(t, err)
	t.Setenv("CAPTURE_DIR", capture)
	t.Setenv("FIXTURE_TESTS", tests)
	a := execagent.New(execagent.Config{Command: "sh " + script, Languages: []string{lang},
		PassEnv: []string{"LLM_API_KEY", "AGENT_TOKEN", "CAPTURE_DIR", "FIXTURE_TESTS"}})
	before := treeOf(t, ws)
	c := open(t, ws, a)
	start := time.Now()
	res, err := c.Generate(context.Background(), handoff.Request{Module: module, Coverage: handoff.Coverage(100), MaxRounds: 2},
		handoff.WaitOptions{Timeout: 10 * time.Minute})
	require.NoError(t, err)
	t.Logf("%s: task took %s, verification %s over %d rounds", lang, time.Since(start).Round(time.Millisecond),
		res.Timings.Verify.Round(time.Millisecond), res.Rounds)
	require.Equal(t, handoff.StateCompleted, res.State, res.Error)
	require.Equal(t, 2, res.Rounds, "the threshold of 100 %% is out of reach, so the agent gets its feedback")
	require.Equal(t, sandbox.ContainmentBwrap, res.Containment)
	require.Empty(t, res.ContainmentGaps)
	after := treeOf(t, ws)
	for p, data := range before {
		require.Equal(t, data, after[p], "%s changed", p)
	}
	return res, capture
}

func droppedReasons(res *handoff.Result) map[string]string {
	m := map[string]string{}
	for _, d := range res.Tests.Dropped {
		m[d.Name] = d.Reason
	}
	return m
}

// requireLimits checks that each resource_limit drop names its limit first.
func requireLimits(t *testing.T, res *handoff.Result, want map[string]string) {
	t.Helper()
	for _, d := range res.Tests.Dropped {
		if limit, ok := want[d.Name]; ok {
			require.True(t, strings.HasPrefix(d.Excerpt, "resource limit: "+limit+" "), "%s: %s", d.Name, d.Excerpt)
		}
	}
}

// requireNoLeak checks that no fake secret reached the result, the
// feedback files, the prompts or the task log.
func requireNoLeak(t *testing.T, res *handoff.Result, capture string) {
	t.Helper()
	js, err := json.Marshal(res)
	require.NoError(t, err)
	texts := map[string]string{"result": string(js)}
	log, err := os.ReadFile(res.LogPath)
	require.NoError(t, err)
	texts["log"] = string(log)
	require.Contains(t, texts["log"], "agent: using key [redacted] and token [redacted]", "the agent's own output is in the log, redacted")
	entries, err := os.ReadDir(capture)
	require.NoError(t, err)
	var fb agent.Feedback
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(capture, e.Name()))
		require.NoError(t, err)
		texts[e.Name()] = string(data)
		if strings.HasPrefix(e.Name(), "feedback-") {
			require.NoError(t, json.Unmarshal(data, &fb))
		}
	}
	require.Contains(t, texts, "feedback-2.json")
	require.Contains(t, texts, "prompt-2.md")
	require.Contains(t, texts["prompt-2.md"], "t.TempDir()", "the agent is told where tests may write")
	require.NotEmpty(t, fb.Dropped)
	secrets := leaks
	if b, err := os.ReadFile("/etc/shadow"); err == nil && len(b) > 0 {
		secrets = append(secrets, strings.SplitN(string(b), "\n", 2)[0]) // readable here: root
	}
	for name, text := range texts {
		for _, secret := range secrets {
			require.NotContains(t, text, secret, "%s holds a secret", name)
		}
	}
}

// requireOnly checks that the workspace holds nothing new but the one
// file (handoff's own .handoff folder and git's data aside).
func requireOnly(t *testing.T, ws, file string) {
	t.Helper()
	var added []string
	for p := range treeOf(t, ws) {
		if _, ok := gitTracked(t, ws)[p]; !ok {
			added = append(added, p)
		}
	}
	require.Equal(t, []string{file}, added)
}

// treeOf reads every file of a workspace but .git and .handoff.
func treeOf(t *testing.T, ws string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".handoff") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(ws, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	require.NoError(t, err)
	return out
}

func gitTracked(t *testing.T, ws string) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, p := range strings.Fields(gitOut(t, ws, "ls-files")) {
		m[p] = true
	}
	return m
}

func runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// requireNoLeftProcess waits, with a deadline, until no process runs
// "sleep <arg>".
func requireNoLeftProcess(t *testing.T, arg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && string(b) == "sleep\x00"+arg+"\x00" {
				left++
			}
		}
		if left == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d processes of the fork test outlived verification", left)
		time.Sleep(20 * time.Millisecond) // polling the process table, with a deadline
	}
}

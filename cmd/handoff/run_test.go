package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/human"
)

// TestRunExamplePipeline is the README's first command: the example
// pipeline with the builtin agent, in a scratch copy, on the default SQLite
// database. Tests are generated, verified and applied for all five modules.
func TestRunExamplePipeline(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	out, err := exec.Command("cp", "-R", "../../examples/inventory", scratch).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := filepath.Join(scratch, "inventory")
	report := filepath.Join(scratch, "report.json")

	cmd := exec.Command(binary, "run", filepath.Join(dir, "pipeline.yml"), "--report", report)
	cmd.Dir = scratch
	cmd.Env = append(os.Environ(), "HANDOFF_NO_AUTOSTART=1")
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.Contains(t, string(got), "All stages succeeded")

	var r struct {
		Tasks []struct {
			Module string `json:"module"`
			Result *struct {
				Status  string   `json:"status"`
				Success bool     `json:"success"`
				Files   []string `json:"files"`
			} `json:"result"`
		} `json:"tasks"`
	}
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &r))
	require.Len(t, r.Tasks, 5)
	for _, task := range r.Tasks {
		require.NotNil(t, task.Result, task.Module)
		require.Equal(t, "COMPLETED", task.Result.Status, task.Module)
		require.True(t, task.Result.Success, task.Module)
		require.Len(t, task.Result.Files, 1, task.Module)
		require.FileExists(t, filepath.Join(dir, task.Result.Files[0]), "kept tests are applied to the scratch copy")
	}
	// The command the run prints finds every task it ran, from anywhere.
	m := regexp.MustCompile(`Inspect this run's tasks: handoff (.*)\n`).FindStringSubmatch(string(got))
	require.NotNil(t, m, "the run says how to inspect its tasks:\n%s", got)
	list := exec.Command(binary, append(strings.Fields(m[1]), "--json")...)
	list.Dir = t.TempDir() // not the workspace: the printed command must say where the database is
	listed, err := list.Output()
	require.NoError(t, err)
	var tasks []map[string]any
	require.NoError(t, json.Unmarshal(listed, &tasks))
	require.Len(t, tasks, 5)

	gotest := exec.Command("go", "test", "-count=1", "./...")
	gotest.Dir = dir
	out, err = gotest.CombinedOutput()
	require.NoError(t, err, "the applied tests pass as a user runs them:\n%s", out)
}

// TestRunJSONIsOnlyJSON: `handoff run --json` prints one JSON document on
// stdout and nothing else, so `handoff run --json | jq .` works; the text
// summary goes to stderr.
func TestRunJSONIsOnlyJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	write(t, filepath.Join(e.ws, "pipeline.yml"), "name: tiny\nstages:\n  a: {run: \"true\"}\n  b: {run: \"true\", needs: [a]}\n")
	r := e.run(nil, "run", "--json", "pipeline.yml")
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)

	dec := json.NewDecoder(bytes.NewReader([]byte(r.stdout)))
	var rep map[string]any
	require.NoError(t, dec.Decode(&rep), "stdout is not JSON:\n%s", r.stdout)
	require.False(t, dec.More(), "stdout holds more than one JSON document:\n%s", r.stdout)
	require.Equal(t, "tiny", rep["pipeline"])
	require.Contains(t, r.stderr, "wall time", "the text summary goes to stderr")
}

// TestRunCompare: `handoff run --compare` runs the pipeline blocking and
// parallel, each in a scratch copy, leaves the user's files as they were,
// records the blocking run in the workspace and reports a saving equal to
// the difference of the two measured wall times.
func TestRunCompare(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	// A pipeline in a folder of the repository, its files not yet committed:
	// the copies hold them as a task's snapshot would.
	svc := filepath.Join(e.ws, "svc")
	write(t, filepath.Join(svc, "go.mod"), "module example.com/calc\n\ngo 1.22\n")
	write(t, filepath.Join(svc, "calc.go"), agenttest.GoModule)
	write(t, filepath.Join(svc, "pipeline.yml"), `name: tiny
stages:
  build: {run: "echo built > build.out"}
  gen:
    generate: {modules: [calc.go], agent: exec}
  collect: {collect: gen, needs: [build]}
`)
	before := tree(t, e.ws)
	r := e.run(nil, "run", "--compare", "--json", "svc/pipeline.yml")
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, before, tree(t, e.ws), "the user's files are untouched by either run")

	var runs map[string]struct {
		RunID   string `json:"run_id"`
		Mode    string `json:"mode"`
		WallMS  int64  `json:"wall_ms"`
		SavedMS int64  `json:"saved_ms"`
		OK      bool   `json:"ok"`
		Tasks   []struct {
			Result struct {
				Success bool `json:"success"`
			} `json:"result"`
		} `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs), "stdout is JSON:\n%s", r.stdout)
	blocking, parallel := runs["blocking"], runs["parallel"]
	require.Equal(t, "blocking", blocking.Mode)
	require.Equal(t, "parallel", parallel.Mode)
	for _, run := range []string{"blocking", "parallel"} {
		require.True(t, runs[run].OK, run)
		require.Len(t, runs[run].Tasks, 1, run)
		require.True(t, runs[run].Tasks[0].Result.Success, "%s: the task ran in its copy", run)
	}
	want := blocking.WallMS - parallel.WallMS
	require.Equal(t, want, parallel.SavedMS, "the saving is the measured difference")
	amount := human.Duration(time.Duration(want) * time.Millisecond)
	if want < 0 {
		amount = "-" + human.Duration(time.Duration(-want)*time.Millisecond)
	}
	require.Contains(t, r.stderr, "saved               "+amount+" (", "the summary's saving line")

	var rec struct {
		RunID  string `json:"run_id"`
		WallMS int64  `json:"wall_ms"`
	}
	b, err := os.ReadFile(filepath.Join(svc, ".handoff", "runs", "blocking-tiny.json"))
	require.NoError(t, err, "the blocking run is recorded as --blocking records it")
	require.NoError(t, json.Unmarshal(b, &rec))
	require.Equal(t, blocking.RunID, rec.RunID)
	require.Equal(t, blocking.WallMS, rec.WallMS)

	// Later parallel runs compare with it too.
	later := e.run(nil, "run", "svc/pipeline.yml")
	require.Equal(t, 0, later.code, "stderr:\n%s", later.stderr)
	require.Contains(t, later.stdout, "vs. the blocking run of")

	bad := e.run(nil, "run", "--compare", "--blocking", "svc/pipeline.yml")
	require.Equal(t, 2, bad.code)
	require.Contains(t, bad.stderr, "leave out --blocking and --detach")
}

// tree maps every file under dir, .git and .handoff aside, to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".handoff") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[strings.TrimPrefix(p, dir)] = string(b)
		}
		return nil
	}))
	return files
}

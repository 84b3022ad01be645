package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
	gotest := exec.Command("go", "test", "-count=1", "./...")
	gotest.Dir = dir
	out, err = gotest.CombinedOutput()
	require.NoError(t, err, "the applied tests pass as a user runs them:\n%s", out)
}

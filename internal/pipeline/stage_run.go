package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/handoff-dev/handoff/internal/human"
)

// runStage runs a run: stage's command with its output in a log file.
func (r *runner) runStage(ctx context.Context, s *Stage, rec *StageRecord) (StageStatus, string) {
	spec := s.Run
	dir := r.workspace
	if spec.WorkingDirectory != "" {
		dir = filepath.Join(r.workspace, filepath.FromSlash(spec.WorkingDirectory))
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return StageFailed, fmt.Sprintf("working-directory %q does not exist in %s (%s:%d)", spec.WorkingDirectory, r.workspace, r.p.File, s.Line)
	}
	if err := os.MkdirAll(r.sum.LogDir, 0o755); err != nil {
		return StageFailed, fmt.Sprintf("creating the log directory: %v", err)
	}
	logPath := filepath.Join(r.sum.LogDir, s.Name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return StageFailed, fmt.Sprintf("creating the stage log: %v", err)
	}
	defer f.Close()
	r.mu.Lock()
	rec.LogPath = logPath
	r.mu.Unlock()

	res, err := runCommand(ctx, spec.Command, dir, r.stageEnv(s), spec.Timeout, r.o.killGrace(), f)
	code := res.ExitCode
	r.mu.Lock()
	rec.ExitCode, rec.TimedOut = &code, res.TimedOut
	r.mu.Unlock()
	switch {
	case err != nil:
		return StageFailed, err.Error()
	case res.Cancelled:
		return StageCancelled, "stopped: the run was interrupted"
	case res.TimedOut:
		r.failed(rec, spec.ContinueOnError, logPath)
		return StageFailed, fmt.Sprintf("timed out after %s and was stopped; raise timeout: or make the command faster", human.Duration(spec.Timeout))
	case code != 0:
		r.failed(rec, spec.ContinueOnError, logPath)
		return StageFailed, fmt.Sprintf("exit code %d; log: %s", code, logPath)
	}
	return StageSucceeded, ""
}

// failed marks an allowed failure and shows the end of the log.
func (r *runner) failed(rec *StageRecord, allowed bool, logPath string) {
	r.mu.Lock()
	rec.AllowedFailure = allowed
	r.mu.Unlock()
	if tail := logTail(logPath, 15); tail != "" {
		r.event("%s: last lines of %s:\n%s", rec.Name, logPath, tail)
	}
}

// stageEnv is the user's environment, then the pipeline's env, then the
// stage's, then the run's identity; later entries win.
func (r *runner) stageEnv(s *Stage) []string {
	env := r.o.Environ
	if env == nil {
		env = os.Environ()
	}
	env = append([]string(nil), env...)
	env = appendSorted(env, r.p.Env)
	env = appendSorted(env, s.Run.Env)
	return append(env,
		"HANDOFF_PIPELINE="+r.p.Name,
		"HANDOFF_RUN_ID="+r.sum.RunID,
		"HANDOFF_STAGE="+s.Name,
		"HANDOFF_WORKSPACE="+r.workspace,
	)
}

func appendSorted(env []string, m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+m[k])
	}
	return env
}

// logTail returns the last n lines of a file, indented.
func logTail(file string, n int) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	for i := range lines {
		lines[i] = "    " + lines[i]
	}
	return strings.Join(lines, "\n")
}

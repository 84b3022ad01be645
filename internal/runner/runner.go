// Package runner carries out one attempt of a task, the flow the engine runs
// for every job: materialise the snapshot in an isolated task directory,
// measure the baseline, let the agent write tests, verify them (with repair
// rounds), and apply the kept tests to the user's workspace, re-checked when
// the code moved meanwhile.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
	"github.com/handoff-dev/handoff/internal/verify"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Runner runs attempts with a set of agents.
type Runner struct {
	Agents map[string]agent.Agent
	Logger *slog.Logger
	// KeepDirs keeps task directories after the attempt, for debugging
	// (HANDOFF_KEEP_TASK_DIRS=1). Logs are always kept.
	KeepDirs bool
}

// Run is an engine.RunFunc.
func (r *Runner) Run(ctx context.Context, rec *store.Record, env *engine.Env) (*task.Result, error) {
	req := rec.Request
	res := &task.Result{
		TaskID: rec.ID, ModulePath: req.Module, OutputPath: req.Output, Language: rec.Language,
		Coverage: task.Coverage{Threshold: *req.Coverage}, Attempts: env.Attempt,
		Agent: task.AgentInfo{Name: req.Agent, Model: req.Model}, Apply: task.ApplyInfo{Mode: req.Apply},
		Tests: task.Tests{Kept: []string{}, Dropped: []agent.Dropped{}}, Files: []string{},
	}
	start := time.Now()
	res.Timings.QueuedMS = max(0, start.Sub(rec.CreatedAt).Milliseconds())
	defer func() { res.Timings.RunMS = time.Since(start).Milliseconds() }()

	a := r.Agents[req.Agent]
	if a == nil {
		return res, fmt.Errorf("agent %q is not available in this worker (it has %s); start the worker with the agent configured",
			req.Agent, strings.Join(names(r.Agents), ", "))
	}
	var snap workspace.Snapshot
	if err := json.Unmarshal(rec.Snapshot, &snap); err != nil {
		return res, fmt.Errorf("reading the task's snapshot: %w", err)
	}

	base := filepath.Join(req.Workspace, ".handoff", "tasks", rec.ID)
	attemptDir := filepath.Join(base, fmt.Sprintf("attempt-%d", env.Attempt))
	dir := filepath.Join(attemptDir, "src")
	if err := os.RemoveAll(attemptDir); err != nil {
		return res, err
	}
	if err := os.MkdirAll(attemptDir, 0o755); err != nil {
		return res, err
	}
	if !r.KeepDirs {
		defer os.RemoveAll(attemptDir)
	}
	res.LogPath = filepath.Join(base, "agent.log")
	log, err := openLog(res.LogPath)
	if err != nil {
		return res, err
	}
	defer log.Close()
	log.Printf("task %s attempt %d: agent %s, module %s, output %s", rec.ID, env.Attempt, req.Agent, req.Module, req.Output)

	env.Progress("materialising the workspace snapshot")
	if err := snap.Materialize(ctx, dir); err != nil {
		return res, fmt.Errorf("materialising the snapshot: %w", err)
	}
	opts := verify.Options{Dir: dir, Module: req.Module, Output: req.Output, Language: rec.Language,
		Threshold: *req.Coverage, Runs: req.Runs, TestTimeout: req.TestTimeout, Log: log}

	// The baseline runs the existing tests on a second copy of the snapshot
	// while the agent works on the first: the same figures as running it
	// first, without adding its time to the task's.
	bl := r.startBaseline(ctx, snap, attemptDir, opts)
	defer bl.stop()
	var (
		baseline *verify.Baseline
		report   *verify.Report
		feedback *agent.Feedback
		dropped  = map[string]agent.Dropped{}
	)
	for round := 1; round <= req.MaxRounds; round++ {
		res.Rounds = round
		env.Progress(fmt.Sprintf("round %d/%d: %s is writing tests", round, req.MaxRounds, a.Name()))
		at := &agent.Task{
			ID: rec.ID, Attempt: env.Attempt, Round: round, Dir: dir, Module: req.Module, Output: req.Output,
			Language: rec.Language, Threshold: *req.Coverage, Model: req.Model, Feedback: feedback, BudgetUSD: req.BudgetUSD,
			Prompt: prompt(req, rec.Language, feedback), Log: log, Progress: env.Progress, State: env.State,
		}
		if dl, ok := ctx.Deadline(); ok {
			at.Deadline = dl
		}
		actx, stopAgent := context.WithCancelCause(ctx)
		if round == 1 {
			go bl.stopWhenMet(actx, stopAgent, *req.Coverage)
		}
		t1 := time.Now()
		rep, err := a.Run(actx, at)
		res.Timings.AgentMS += time.Since(t1).Milliseconds()
		met := errors.Is(context.Cause(actx), errThresholdMet)
		stopAgent(nil)
		if met {
			log.Printf("agent stopped: the existing tests already reach the threshold")
			return alreadyMet(res, bl, log), nil
		}
		if err != nil {
			log.Printf("agent failed: %v", err)
			return res, fmt.Errorf("agent %s: %w", a.Name(), err)
		}
		mergeReport(res, rep)
		if round == 1 {
			b, err := bl.record(res, log)
			if err != nil {
				return res, err
			}
			baseline = b
		}

		changes, err := workspace.Diff(dir)
		if err != nil {
			return res, fmt.Errorf("reading the agent's changes: %w", err)
		}
		env.Progress(fmt.Sprintf("round %d/%d: verifying %d changed files", round, req.MaxRounds, len(changes)))
		t2 := time.Now()
		report, err = verify.Verify(ctx, verify.Input{Options: opts, Baseline: baseline, Changes: changes,
			Restore: func(rel string) error { return snap.Restore(ctx, dir, rel) }})
		res.Timings.VerifyMS += time.Since(t2).Milliseconds()
		if err != nil {
			return res, fmt.Errorf("verifying: %w", err)
		}
		for _, d := range report.Dropped {
			dropped[d.Name] = d
		}
		log.Printf("round %d: kept %d, dropped %d, coverage %.1f%% -> %.1f%%", round, len(report.Kept),
			len(report.Dropped), report.Coverage.Before, report.Coverage.After)
		if report.Success || ctx.Err() != nil {
			break
		}
		feedback = report.Feedback
	}
	fillFromReport(res, report, dropped)

	if shouldApply(req.Apply, report) {
		env.Progress("applying kept tests to the workspace")
		if err := r.apply(ctx, rec, snap, opts, attemptDir, report, res); err != nil {
			return res, fmt.Errorf("applying kept tests: %w", err)
		}
	} else if res.Apply.Reason == "" {
		res.Apply.Reason = applyReason(req.Apply, report)
	}
	return res, nil
}

func mergeReport(res *task.Result, rep *agent.Report) {
	if rep == nil {
		return
	}
	if rep.Model != "" {
		res.Agent.Model = rep.Model
	}
	if rep.Summary != "" {
		res.Agent.Summary = rep.Summary
	}
	if len(rep.Details) > 0 {
		if res.Agent.Details == nil {
			res.Agent.Details = map[string]any{}
		}
		for k, v := range rep.Details {
			res.Agent.Details[k] = v
		}
	}
	if rep.Unsupported != nil {
		res.Uncovered = rep.Unsupported
	}
}

func fillFromReport(res *task.Result, rep *verify.Report, dropped map[string]agent.Dropped) {
	if rep == nil {
		return
	}
	before := res.Coverage
	res.Coverage = rep.Coverage
	res.Coverage.Before, res.Coverage.BranchBefore, res.Coverage.Threshold = before.Before, before.BranchBefore, before.Threshold
	res.Functions = rep.Functions
	res.Tests.Kept = append([]string{}, rep.Kept...)
	for name, d := range dropped {
		if !slices.Contains(rep.Kept, name) {
			res.Tests.Dropped = append(res.Tests.Dropped, d)
		}
	}
	slices.SortFunc(res.Tests.Dropped, func(a, b agent.Dropped) int { return strings.Compare(a.Name, b.Name) })
	res.Funnel = rep.Funnel
	res.Commands = rep.Commands
	res.Rejected = rep.Rejected
	res.Sandbox = rep.Containment
	res.Success = rep.Success
}

func shouldApply(mode task.ApplyMode, rep *verify.Report) bool {
	if rep == nil || len(rep.Kept) == 0 || len(rep.Files) == 0 {
		return false
	}
	switch mode {
	case task.ApplyNever:
		return false
	case task.ApplySuccess:
		return rep.Success
	}
	return rep.Success || rep.Coverage.After > rep.Coverage.Before
}

func applyReason(mode task.ApplyMode, rep *verify.Report) string {
	switch {
	case rep != nil && len(rep.Kept) == 0 && rep.Success:
		return alreadyMetReason(rep.Coverage)
	case rep == nil || len(rep.Kept) == 0:
		return "no test was kept"
	case mode == task.ApplyNever:
		return "apply mode is never"
	case mode == task.ApplySuccess && !rep.Success:
		return "apply mode is success and the threshold was not met"
	}
	return "the kept tests do not raise coverage"
}

// errThresholdMet stops a first agent round whose module the existing
// tests already cover to the threshold.
var errThresholdMet = errors.New("the existing tests already reach the coverage threshold")

// baselineRun is the measurement of the existing tests, made in a copy of
// the snapshot of its own while the agent works.
type baselineRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the outcome below is set
	b      *verify.Baseline
	ms     int64
	err    error
}

// startBaseline starts measuring the existing tests in the background.
func (r *Runner) startBaseline(ctx context.Context, snap workspace.Snapshot, attemptDir string, opts verify.Options) *baselineRun {
	bctx, cancel := context.WithCancel(ctx)
	br := &baselineRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(br.done)
		t0 := time.Now()
		o := opts
		o.Dir = filepath.Join(attemptDir, "base")
		if err := snap.Materialize(bctx, o.Dir); err != nil {
			br.err = fmt.Errorf("materialising the baseline copy: %w", err)
			return
		}
		br.b, br.err = verify.Measure(bctx, o)
		br.ms = time.Since(t0).Milliseconds()
	}()
	return br
}

// wait returns the baseline, waiting for it.
func (br *baselineRun) wait() (*verify.Baseline, int64, error) {
	<-br.done
	return br.b, br.ms, br.err
}

// stopWhenMet stops the agent's round (stopAgent) as soon as the baseline
// shows the threshold already met, or returns when the round ends first.
func (br *baselineRun) stopWhenMet(actx context.Context, stopAgent context.CancelCauseFunc, threshold float64) {
	select {
	case <-br.done:
		if br.err == nil && verify.AlreadyMet(br.b, threshold) {
			stopAgent(errThresholdMet)
		}
	case <-actx.Done():
	}
}

// stop cancels a measurement still running and returns once it has ended,
// so the attempt's directories can be removed.
func (br *baselineRun) stop() {
	br.cancel()
	<-br.done
}

// record waits for the baseline and records it in res.
func (br *baselineRun) record(res *task.Result, log *cappedLog) (*verify.Baseline, error) {
	b, ms, err := br.wait()
	res.Timings.BaselineMS = ms
	if err != nil {
		return nil, fmt.Errorf("measuring the baseline: %w", err)
	}
	res.Coverage.Before = b.Coverage
	res.Coverage.BranchBefore = b.Branch
	res.Baseline = task.Baseline{Passed: b.Passed, Error: b.Error}
	log.Printf("baseline: coverage %.1f%%, existing tests passed: %v", b.Coverage, b.Passed)
	return b, nil
}

// alreadyMet is the result of a task whose module the existing tests
// already cover to the threshold: a success with nothing generated, kept or
// written, the agent stopped as soon as the baseline said so.
func alreadyMet(res *task.Result, bl *baselineRun, log *cappedLog) *task.Result {
	b, _ := bl.record(res, log) // met: the baseline is in, without error
	res.Success = true
	res.Coverage.After = b.Coverage
	res.Coverage.BranchAfter = b.Branch
	for _, f := range b.Functions {
		res.Functions = append(res.Functions, task.FunctionDelta{Name: f.Name, Before: f.Percent, After: f.Percent})
	}
	res.Agent.Summary = "stopped: the existing tests already reach the threshold"
	res.Apply.Reason = alreadyMetReason(res.Coverage)
	return res
}

func alreadyMetReason(c task.Coverage) string {
	return fmt.Sprintf("nothing to add: the existing tests already reach %.1f%% (threshold %g%%; raise it to ask for more tests)",
		c.Before, c.Threshold)
}

// apply writes the kept tests into the user's workspace. When the module or
// the output changed since the snapshot, the kept tests are first re-run
// against the workspace as it is now, and only those that still pass go in.
func (r *Runner) apply(ctx context.Context, rec *store.Record, snap workspace.Snapshot, opts verify.Options,
	attemptDir string, rep *verify.Report, res *task.Result) error {
	files := rep.Files
	stale, err := moved(ctx, snap, rec.Request)
	if err != nil {
		return err
	}
	if stale {
		res.Apply.Stale = true
		now, err := workspace.Take(ctx, rec.Request.Workspace, rec.ID+"-recheck")
		if err != nil {
			return err
		}
		defer now.Release(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
		rdir := filepath.Join(attemptDir, "recheck")
		if err := now.Materialize(ctx, rdir); err != nil {
			return err
		}
		o := opts
		o.Dir = rdir
		kept, redropped, err := verify.Recheck(ctx, o, files)
		if err != nil {
			return err
		}
		files = kept
		res.Apply.Redropped = redropped
		if len(files) == 0 {
			res.Apply.Reason = "the module changed since the snapshot and no kept test passes against it now"
			return nil
		}
	}
	ar, err := snap.Apply(ctx, files)
	if err != nil {
		return err
	}
	res.Files = append(res.Files, ar.Written...)
	res.Apply.Applied = len(ar.Written) > 0
	var skipped []string
	for _, s := range ar.Skipped {
		skipped = append(skipped, s.Path+": "+s.Reason)
	}
	if len(skipped) > 0 {
		res.Apply.Reason = "not written: " + strings.Join(skipped, "; ")
	}
	return nil
}

// moved reports whether the module's source or the output file changed in
// the workspace since the snapshot.
func moved(ctx context.Context, snap workspace.Snapshot, req task.Request) (bool, error) {
	paths := []string{req.Output}
	abs := filepath.Join(req.Workspace, filepath.FromSlash(req.Module))
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		// The package's source files now and at the snapshot: one deleted
		// since then moved the module too.
		seen := map[string]bool{}
		add := func(rel string) {
			base := path.Base(rel)
			if !seen[rel] && strings.HasSuffix(base, ".go") && !strings.HasSuffix(base, "_test.go") {
				seen[rel] = true
				paths = append(paths, rel)
			}
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if !e.IsDir() {
				add(path.Join(req.Module, e.Name()))
			}
		}
		then, err := snap.FilesIn(ctx, req.Module)
		if err != nil {
			return false, err
		}
		for _, rel := range then {
			add(rel)
		}
	} else {
		paths = append(paths, req.Module)
	}
	changed, err := snap.ChangedAmong(ctx, paths) // two git calls, whatever the number of files
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // the workspace itself is gone: nothing to apply to
	}
	return len(changed) > 0, err
}

func names(m map[string]agent.Agent) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

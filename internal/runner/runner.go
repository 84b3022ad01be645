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
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/redact"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
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
	// GiveBackForeign gives a task back to the queue when this worker's
	// secrets are not the submitter's, instead of running it with its own:
	// an auto-started worker must never run a task with other secrets.
	GiveBackForeign bool
	// Snapshots is the database's snapshot store: a task whose workspace
	// this machine does not see is materialised from it.
	Snapshots *snapstore.Store
	// WorkDir holds the task directories and logs of tasks whose workspace
	// this machine does not see. Empty means <user cache dir>/handoff.
	WorkDir string
}

// workDir is where tasks whose workspace is elsewhere work.
func (r *Runner) workDir() (string, error) {
	if r.WorkDir != "" {
		return r.WorkDir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for tasks whose workspace is on another machine: %w; set HANDOFF_WORK_DIR", err)
	}
	return filepath.Join(dir, "handoff"), nil
}

// Run is an engine.RunFunc. Its errors carry their failure class: the
// agent's, verification's, or else the setup's.
func (r *Runner) Run(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
	res, err := r.run(ctx, rec, env)
	if err != nil && handofftype.ClassOf(err) == "" {
		err = handofftype.Classify(handofftype.FailureSetup, err)
	}
	return res, err
}

func (r *Runner) run(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
	req := rec.Request
	res := engine.Result(rec, nil, engine.Outcome{})
	start := time.Now()
	res.Timings.Queued = max(0, start.Sub(rec.CreatedAt))
	defer func() { res.Timings.Run = time.Since(start) }()

	a, err := r.agentFor(req, res)
	if err != nil {
		return res, err
	}
	snap := rec.Snapshot
	if snap.ID == "" {
		return res, errors.New("the task's record holds no workspace snapshot (it is damaged); submit the task again")
	}

	// A worker that sees the workspace works in it, as the submitter
	// would; any other works in its own directory, from the database.
	here := snap.Here(ctx)
	stateRoot := req.Workspace
	if !here {
		if r.Snapshots == nil {
			return res, errors.New("this worker does not see the task's workspace and has no database snapshots")
		}
		if stateRoot, err = r.workDir(); err != nil {
			return res, err
		}
	}
	base, err := workspace.TaskDir(stateRoot, rec.ID)
	if err != nil {
		return res, err
	}
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
	if res.LogPath, err = workspace.TaskLog(stateRoot, rec.ID); err != nil {
		return res, err
	}
	log, err := openLog(res.LogPath)
	if err != nil {
		return res, err
	}
	defer log.Close()
	log.Printf("task %s attempt %d: agent %s, module %s, output %s", rec.ID, env.Attempt, req.Agent, req.Module, req.Output)

	if !here {
		env.Progress("fetching the workspace snapshot from the database")
		if snap, err = snap.Localize(ctx, r.Snapshots, attemptDir); err != nil {
			return res, err
		}
		log.Printf("the workspace %s is not on this machine: working from the database's snapshot", req.Workspace)
	}
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
		previous *verify.Report // the round before's
	)
	for round := 1; round <= req.MaxRounds; round++ {
		res.Rounds = round
		env.Progress(fmt.Sprintf("round %d/%d: %s is writing tests", round, req.MaxRounds, a.Name()))
		at := &agent.Task{
			ID: rec.ID, Attempt: env.Attempt, Round: round, Dir: dir, Module: req.Module, Output: req.Output,
			Language: rec.Language, Threshold: *req.Coverage, Model: req.Model, Feedback: feedback, BudgetUSD: req.BudgetUSD,
			Prompt: redact.String(prompt(req, rec.Language, feedback)), Log: log, Progress: env.Progress, State: env.State,
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
		res.Timings.Agent += time.Since(t1)
		met := errors.Is(context.Cause(actx), errThresholdMet)
		stopAgent(nil)
		if met {
			log.Printf("agent stopped: the existing tests already reach the threshold")
			return alreadyMet(res, bl, log), nil
		}
		if err != nil {
			log.Printf("agent failed: %v", err)
			return res, handofftype.Classify(handofftype.FailureAgent, fmt.Errorf("agent %s: %w", a.Name(), err))
		}
		mergeReport(res, rep)
		if round == 1 {
			b, err := bl.record(res, log)
			if err != nil {
				return res, handofftype.Classify(handofftype.FailureVerify, err)
			}
			baseline = b
		}

		changes, err := workspace.Diff(dir)
		if err != nil {
			return res, handofftype.Classify(handofftype.FailureVerify, fmt.Errorf("reading the agent's changes: %w", err))
		}
		env.Progress(fmt.Sprintf("round %d/%d: verifying %d changed files", round, req.MaxRounds, len(changes)))
		t2 := time.Now()
		report, err = verify.Verify(ctx, verify.Input{Options: opts, Baseline: baseline, Changes: changes,
			Restore: func(rel string) error { return snap.Restore(ctx, dir, rel) }})
		res.Timings.Verify += time.Since(t2)
		if err != nil {
			return res, handofftype.Classify(handofftype.FailureVerify, fmt.Errorf("verifying: %w", err))
		}
		for _, d := range report.Dropped {
			dropped[d.Name] = d
		}
		log.Printf("round %d: kept %d, dropped %d, coverage %.1f%% -> %.1f%%", round, len(report.Kept),
			len(report.Dropped), report.Coverage.Before, report.Coverage.After)
		if report.Success || ctx.Err() != nil {
			break
		}
		if why := addedNothing(rep, previous, report); why != "" && round < req.MaxRounds {
			// Another round would start from the same place: stop here.
			log.Printf("round %d added nothing (%s); no more repair rounds", round, why)
			res.Agent.Summary = strings.TrimSpace(fmt.Sprintf("%s Repair rounds stopped after round %d of %d: %s.",
				res.Agent.Summary, round, req.MaxRounds, why))
			break
		}
		previous, feedback = report, report.Feedback
	}
	fillFromReport(res, report, dropped)

	switch {
	case shouldApply(req.Apply, report) && !here:
		res.Apply.Pending = true
		res.KeptFiles = report.Files
		res.Apply.Reason = fmt.Sprintf("the worker on %s does not see the workspace: wait, generate or `handoff apply %s` writes the kept tests where it is",
			engine.Hostname(), handofftype.ShortID(rec.ID))
	case shouldApply(req.Apply, report):
		env.Progress("applying kept tests to the workspace")
		if err := r.apply(ctx, rec, snap, opts, attemptDir, report.Files, res, env.Confirm); err != nil {
			return res, fmt.Errorf("applying kept tests: %w", err)
		}
		res.Apply.Where = "worker"
	case res.Apply.Reason == "":
		res.Apply.Reason = applyReason(req.Apply, report)
	}
	return res, nil
}

// addedNothing says why a round that did not succeed added nothing, or ""
// when it added something: the agent reported adding no test
// (Details["added_tests"] is 0), or, after round 1, verification kept no
// test the round before had not and coverage did not move.
func addedNothing(rep *agent.Report, previous, report *verify.Report) string {
	if rep != nil {
		if n, ok := count(rep.Details["added_tests"]); ok && n == 0 {
			return "the agent added no test"
		}
	}
	if previous == nil || report.Coverage.After != previous.Coverage.After {
		return ""
	}
	for _, k := range report.Kept {
		if !slices.Contains(previous.Kept, k) {
			return ""
		}
	}
	return fmt.Sprintf("verification kept no new test and coverage stayed at %.1f%%", report.Coverage.After)
}

// count reads a whole number an agent reported, in process (int) or read
// back from JSON (float64).
func count(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), n == float64(int64(n))
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func mergeReport(res *handofftype.Result, rep *agent.Report) {
	if rep == nil {
		return
	}
	if rep.Model != "" {
		res.Agent.Model = rep.Model
	}
	if rep.Summary != "" {
		res.Agent.Summary = redact.String(rep.Summary)
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

func fillFromReport(res *handofftype.Result, rep *verify.Report, dropped map[string]agent.Dropped) {
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
	res.Containment = rep.Containment
	res.ContainmentGaps = rep.Gaps
	res.Success = rep.Success
}

func shouldApply(mode handofftype.ApplyMode, rep *verify.Report) bool {
	if rep == nil || len(rep.Kept) == 0 || len(rep.Files) == 0 {
		return false
	}
	switch mode {
	case handofftype.ApplyNever:
		return false
	case handofftype.ApplySuccess:
		return rep.Success
	}
	return rep.Success || rep.Coverage.After > rep.Coverage.Before
}

func applyReason(mode handofftype.ApplyMode, rep *verify.Report) string {
	switch {
	case rep != nil && len(rep.Kept) == 0 && rep.Success:
		return alreadyMetReason(rep.Coverage)
	case rep == nil || len(rep.Kept) == 0:
		return "no test was kept"
	case mode == handofftype.ApplyNever:
		return "apply mode is never"
	case mode == handofftype.ApplySuccess && !rep.Success:
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
	took   time.Duration
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
		br.took = time.Since(t0)
	}()
	return br
}

// wait returns the baseline, waiting for it.
func (br *baselineRun) wait() (*verify.Baseline, time.Duration, error) {
	<-br.done
	return br.b, br.took, br.err
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
func (br *baselineRun) record(res *handofftype.Result, log *cappedLog) (*verify.Baseline, error) {
	b, took, err := br.wait()
	res.Timings.Baseline = took
	if err != nil {
		return nil, fmt.Errorf("measuring the baseline: %w", err)
	}
	res.Coverage.Before = b.Coverage
	res.Coverage.BranchBefore = b.Branch
	res.Baseline = handofftype.Baseline{Passed: b.Passed, Error: b.Error}
	log.Printf("baseline: coverage %.1f%%, existing tests passed: %v", b.Coverage, b.Passed)
	return b, nil
}

// alreadyMet is the result of a task whose module the existing tests
// already cover to the threshold: a success with nothing generated, kept or
// written, the agent stopped as soon as the baseline said so.
func alreadyMet(res *handofftype.Result, bl *baselineRun, log *cappedLog) *handofftype.Result {
	b, _ := bl.record(res, log) // met: the baseline is in, without error
	res.Success = true
	res.Coverage.After = b.Coverage
	res.Coverage.BranchAfter = b.Branch
	for _, f := range b.Functions {
		res.Functions = append(res.Functions, handofftype.FunctionDelta{Name: f.Name, Before: f.Percent, After: f.Percent})
	}
	res.Agent.Summary = "stopped: the existing tests already reach the threshold"
	res.Apply.Reason = alreadyMetReason(res.Coverage)
	return res
}

func alreadyMetReason(c handofftype.Coverage) string {
	return fmt.Sprintf("nothing to add: the existing tests already reach %.1f%% (threshold %g%%; raise it to ask for more tests)",
		c.Before, c.Threshold)
}

// apply writes the kept tests into the user's workspace. When the module or
// the output changed since the snapshot, the kept tests are first re-run
// against the workspace as it is now, and only those that still pass go in.
// confirm is asked right before writing: an attempt that lost its task, or
// whose task is being cancelled, writes nothing.
func (r *Runner) apply(ctx context.Context, rec *store.Record, snap workspace.Snapshot, opts verify.Options,
	attemptDir string, files map[string][]byte, res *handofftype.Result, confirm func(context.Context) error) error {
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
	if err := confirm(ctx); err != nil {
		return err
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
func moved(ctx context.Context, snap workspace.Snapshot, req handofftype.Request) (bool, error) {
	paths := []string{req.Output}
	abs := filepath.Join(req.Workspace, filepath.FromSlash(req.Module))
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		// The package's source files now and at the snapshot: one deleted
		// since then moved the module too.
		seen := map[string]bool{}
		add := func(rel string) {
			if !seen[rel] && verify.IsGoSource(rel) {
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

// ApplyWaiting writes a final task's waiting kept tests (files) where its
// workspace is, in this process, by the rules a worker applies them by:
// never over a file the user changed, and verified again against the
// module as it is now when it moved since the snapshot. It updates res
// (Apply, Files) and clears its pending state; the caller stores it.
func (r *Runner) ApplyWaiting(ctx context.Context, rec *store.Record, res *handofftype.Result, files map[string][]byte) error {
	req := rec.Request
	dir, err := workspace.TaskDir(req.Workspace, rec.ID)
	if err != nil {
		return err
	}
	attemptDir := filepath.Join(dir, "apply")
	if err := os.RemoveAll(attemptDir); err != nil {
		return err
	}
	if err := os.MkdirAll(attemptDir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(attemptDir)
	logPath, err := workspace.TaskLog(req.Workspace, rec.ID)
	if err != nil {
		return err
	}
	log, err := openLog(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	log.Printf("task %s: applying %d kept test file(s) where the workspace is", rec.ID, len(files))
	opts := verify.Options{Module: req.Module, Output: req.Output, Language: rec.Language,
		Threshold: *req.Coverage, Runs: req.Runs, TestTimeout: req.TestTimeout, Log: log}
	res.Apply.Pending, res.Apply.Reason = false, ""
	noConfirm := func(context.Context) error { return nil }
	if err := r.apply(ctx, rec, rec.Snapshot, opts, attemptDir, files, res, noConfirm); err != nil {
		return err
	}
	res.Apply.Where = "submitter"
	return nil
}

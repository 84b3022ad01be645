package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Run runs a pipeline: each stage starts as soon as the stages it needs have
// succeeded (one at a time with Options.Blocking), a stage whose need failed
// is skipped, and when ctx is cancelled (Ctrl-C) running commands are
// stopped, pending stages are not started and submitted tasks are cancelled
// (or left running with Options.Detach).
//
// The error is for a run that could not start (an invalid file matches
// ErrInvalid); stage failures and interruption are in the Summary, whose
// ExitCode says how the run ended and which package report renders.
func Run(ctx context.Context, o Options) (*Summary, error) {
	p, err := o.load()
	if err != nil {
		return nil, err
	}
	workspace, err := o.workspace(p)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(o, p, workspace, workspace)
	if err != nil {
		return nil, err
	}
	return r.finish(ctx)
}

// finish runs r to its end; a blocking run that succeeded is recorded.
func (r *runner) finish(ctx context.Context) (*Summary, error) {
	r.run(ctx)
	return r.sum, nil
}

// load returns the pipeline to run: o.Pipeline, or o.File loaded.
func (o Options) load() (*Pipeline, error) {
	if o.Pipeline != nil {
		return o.Pipeline, nil
	}
	return Load(o.File)
}

// workspace returns the run's workspace, absolute: o.Workspace, or the
// directory holding the pipeline file.
func (o Options) workspace(p *Pipeline) (string, error) {
	workspace := o.Workspace
	if workspace == "" {
		workspace = filepath.Dir(p.File)
	}
	workspace, err := filepath.Abs(workspace)
	if err != nil {
		return "", fmt.Errorf("workspace: %w", err)
	}
	if fi, err := os.Stat(workspace); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("workspace %s is not a directory; pass an existing one", workspace)
	}
	return workspace, nil
}

// Comparison is a pipeline run both ways on the same work (Compare): the
// old way, one stage at a time, then in parallel.
type Comparison struct {
	// Workspace is the user's workspace, which both runs copied.
	Workspace string
	// Blocking is the blocking run.
	Blocking *Summary
	// Parallel is the parallel run, whose Saved is measured against
	// Blocking when that run succeeded; nil when Blocking was interrupted.
	Parallel *Summary
}

// ExitCode is ExitInterrupted when either run was interrupted, ExitFailed
// when either failed, else ExitOK.
func (c *Comparison) ExitCode() int {
	codes := []int{c.Blocking.ExitCode()}
	if c.Parallel != nil {
		codes = append(codes, c.Parallel.ExitCode())
	}
	worst := ExitOK
	for _, code := range codes {
		switch {
		case code == ExitInterrupted:
			return ExitInterrupted
		case code != ExitOK:
			worst = code
		}
	}
	return worst
}

// WriteJSON writes both runs' reports as one object: {"blocking": Report,
// "parallel": Report}; the parallel report's saved_ms is the measured
// saving.
func (c *Comparison) WriteJSON(w io.Writer) error {
	out := map[string]*Report{}
	for name, s := range map[string]*Summary{"blocking": c.Blocking, "parallel": c.Parallel} {
		if s != nil {
			rep := s.Report()
			out[name] = &rep
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Compare runs the pipeline the old way (one stage at a time, as with
// Options.Blocking) and then in parallel, each in its own scratch copy of
// the workspace taken from one snapshot of it (as a task's snapshot:
// in git, tracked and untracked files that are not ignored), so that both
// runs start from the same files and neither changes the user's: stage
// commands and applied tests land in the copies, which are removed at the
// end. Stage logs go to the workspace's .handoff/runs as usual, and a
// blocking run in which every stage succeeded is recorded there as Run
// records one, so the parallel run's Saved is exactly the difference of
// the two measured wall times (and later parallel runs compare with it
// too). When the blocking run did not succeed, no saving is measured.
//
// o.Blocking and o.Detach are ignored (tasks still live when the run is
// interrupted are cancelled: their copy is about to go). report.WriteComparison
// shows both runs.
func Compare(ctx context.Context, o Options) (*Comparison, error) {
	p, err := o.load()
	if err != nil {
		return nil, err
	}
	home, err := o.workspace(p)
	if err != nil {
		return nil, err
	}
	root, err := workspace.Root(home)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, home)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "handoff-compare-")
	if err != nil {
		return nil, fmt.Errorf("making the scratch copies: %w", err)
	}
	defer os.RemoveAll(scratch)
	snap, err := workspace.Take(ctx, root, "compare-"+newRunID())
	if err != nil {
		return nil, fmt.Errorf("copying the workspace: %w", err)
	}
	defer snap.Release(context.WithoutCancel(ctx)) //nolint:errcheck // best effort: a ref or copy left behind is harmless
	c := &Comparison{Workspace: home}
	for _, mode := range []Mode{ModeBlocking, ModeParallel} {
		copyRoot := filepath.Join(scratch, string(mode), "workspace")
		if err := snap.Materialize(ctx, copyRoot); err != nil {
			return c, fmt.Errorf("copying the workspace for the %s run: %w", mode, err)
		}
		ro := o
		ro.Blocking, ro.Detach = mode == ModeBlocking, false
		if o.LogDir != "" {
			ro.LogDir = filepath.Join(o.LogDir, string(mode))
		}
		r, err := newRunner(ro, p, filepath.Join(copyRoot, rel), home)
		if err != nil {
			return c, err
		}
		if mode == ModeParallel {
			// Against this comparison's blocking run only: one that failed
			// recorded nothing, and an older record is another run's.
			if b := r.sum.Blocking; b == nil || !c.Blocking.OK() || b.RunID != c.Blocking.RunID {
				r.sum.Blocking = nil
			}
		}
		r.event("%s run, in a scratch copy of %s", mode, home)
		s, err := r.finish(ctx)
		if mode == ModeBlocking {
			c.Blocking = s
		} else {
			c.Parallel = s
		}
		if err != nil || s.Interrupted {
			return c, err
		}
	}
	return c, nil
}

// runner holds one run's state. mu guards the records in sum.
type runner struct {
	o         Options
	p         *Pipeline
	workspace string
	home      string // the user's workspace: blocking records and stage logs (the workspace itself but in Compare)
	log       *slog.Logger
	sum       *Summary
	start     time.Time
	display   Display

	mu      sync.Mutex
	records map[string]*StageRecord
}

// newRunner prepares a run of p in workspace, an existing absolute
// directory; home is the workspace whose .handoff/runs holds the run's logs
// and blocking records.
func newRunner(o Options, p *Pipeline, workspace, home string) (*runner, error) {
	for _, s := range p.Stages {
		if s.Kind == KindGenerate && o.Tasks == nil {
			return nil, fmt.Errorf("%s: stage %q submits tasks, but the run has no task engine (Options.Tasks)", p.File, s.Name)
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := ModeParallel
	if o.Blocking {
		mode = ModeBlocking
	}
	id := newRunID()
	logDir := o.LogDir
	if logDir == "" {
		logDir = filepath.Join(home, ".handoff", "runs", id)
	}
	r := &runner{
		o: o, p: p, workspace: workspace, home: home, log: log, records: map[string]*StageRecord{},
		sum: &Summary{
			Pipeline: p.Name, File: p.File, RunID: id, Mode: mode, Concurrency: p.Concurrency,
			MaxParallel: o.MaxParallel, LogDir: logDir,
		},
	}
	if mode == ModeParallel {
		r.sum.Blocking = loadBlockingRun(home, p.Name)
	}
	for _, s := range p.Stages {
		rec := &StageRecord{Name: s.Name, Kind: s.Kind, Needs: s.Needs, Status: StagePending}
		r.records[s.Name] = rec
		r.sum.Stages = append(r.sum.Stages, rec)
	}
	r.display = o.Display
	if r.display == nil {
		r.display = noDisplay{}
	}
	return r, nil
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

// event tells the display what happened.
func (r *runner) event(format string, args ...any) {
	r.display.Event(fmt.Sprintf(format, args...))
}

// active returns a copy of the run's record as it stands, for the display:
// its identity, start, stages and tasks (the figures of the end are not in
// yet).
func (r *runner) active() *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Pipeline: r.sum.Pipeline, File: r.sum.File, RunID: r.sum.RunID, Mode: r.sum.Mode, Started: r.sum.Started,
		LogDir: r.sum.LogDir}
	s.Stages = make([]*StageRecord, len(r.sum.Stages))
	for i, rec := range r.sum.Stages {
		c := *rec
		s.Stages[i] = &c
	}
	s.Tasks = make([]*TaskRecord, len(r.sum.Tasks))
	for i, t := range r.sum.Tasks {
		c := *t
		s.Tasks[i] = &c
	}
	return &s
}

func (r *runner) run(ctx context.Context) {
	r.start = time.Now()
	r.sum.Started = r.start
	r.display.Start(r.active)
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		r.pollTasks(pollCtx)
	}()

	r.schedule(ctx)
	r.sum.Wall = r.since()
	stopPolling()
	<-polled
	r.settleTasks(ctx)
	if err := recordBlockingRun(r.home, r.sum); err != nil {
		r.event("%v", err)
	}
	r.display.Stop()
}

// schedule starts stages as their needs finish until none is left to start.
func (r *runner) schedule(ctx context.Context) {
	limit := r.o.MaxParallel
	if r.o.Blocking {
		limit = 1
	}
	done := make(chan string)
	running := 0
	ctxDone := ctx.Done()
	stages := order(r.p) // needs before the stages needing them, so skips cascade in one pass
	for {
		for _, s := range stages {
			rec := r.records[s.Name]
			if r.status(rec) != StagePending {
				continue
			}
			ready, blocker := r.needsState(s)
			switch {
			case blocker != "" && ctx.Err() == nil:
				how := "failed"
				if st := r.status(r.records[blocker]); st != StageFailed {
					how = "was " + string(st)
				}
				r.finishStage(rec, StageSkipped, fmt.Sprintf("not run: it needs %q, which %s", blocker, how))
			case ready && ctx.Err() == nil && (limit <= 0 || running < limit):
				running++
				r.startStage(ctx, s, rec, done)
			}
		}
		if running == 0 {
			break
		}
		select {
		case <-done:
			running--
		case <-ctxDone:
			ctxDone = nil
			r.event("interrupted: stopping running stages")
		}
	}
	for _, rec := range r.sum.Stages {
		if r.status(rec) == StagePending {
			r.finishStage(rec, StageCancelled, "not run: the run was interrupted")
		}
	}
}

func (r *runner) status(rec *StageRecord) StageStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rec.Status
}

// needsState says whether all of s's needs are done and ok, or names the
// first need that ended without success (then s can never run).
func (r *runner) needsState(s *Stage) (ready bool, blocker string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready = true
	for _, n := range s.Needs {
		rec := r.records[n]
		switch {
		case rec.OK():
		case rec.Status == StagePending || rec.Status == StageRunning:
			ready = false
		default:
			return false, n
		}
	}
	return ready, ""
}

func (r *runner) startStage(ctx context.Context, s *Stage, rec *StageRecord, done chan<- string) {
	r.mu.Lock()
	rec.Status, rec.Started, rec.Start = StageRunning, true, r.since()
	r.mu.Unlock()
	r.event("%s started (%s)", s.Name, s.Kind)
	go func() {
		var status StageStatus
		var msg string
		switch s.Kind {
		case KindRun:
			status, msg = r.runStage(ctx, s, rec)
		case KindGenerate:
			status, msg = r.generateStage(ctx, s, rec)
		case KindCollect:
			status, msg = r.collectStage(ctx, s, rec)
		}
		r.finishStage(rec, status, msg)
		done <- s.Name
	}()
}

func (r *runner) finishStage(rec *StageRecord, status StageStatus, msg string) {
	r.mu.Lock()
	rec.Status = status
	if status != StageSucceeded {
		rec.Error = msg
	}
	if rec.Started {
		rec.End = r.since()
	}
	done := *rec
	r.mu.Unlock()
	r.display.StageFinished(done, msg)
	r.log.Debug("stage finished", "stage", done.Name, "status", status, "duration", done.Duration())
}

// settleTasks cancels or leaves running the tasks still live after an
// interruption, then reads every task's final status for the summary.
func (r *runner) settleTasks(ctx context.Context) {
	r.sum.Interrupted = ctx.Err() != nil
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r.refreshStatuses(bg)
	if !r.sum.Interrupted {
		return
	}
	var live []*TaskRecord
	r.mu.Lock()
	for _, t := range r.sum.Tasks {
		if !t.State().Final() {
			live = append(live, t)
		}
	}
	r.mu.Unlock()
	if len(live) == 0 {
		return
	}
	if r.o.Detach {
		r.sum.Detached = true
		ids := make([]string, len(live))
		for i, t := range live {
			ids[i] = handofftype.ShortID(t.ID)
		}
		r.event("detached: %d task(s) keep running: %s; collect them with `handoff wait ID`", len(live), strings.Join(ids, " "))
		return
	}
	for _, t := range live {
		if err := r.o.Tasks.Cancel(bg, t.ID); err != nil {
			r.event("cancelling task %s (%s): %v", handofftype.ShortID(t.ID), t.Module, err)
			continue
		}
		r.event("cancelled task %s (%s)", handofftype.ShortID(t.ID), t.Module)
	}
	r.refreshStatuses(bg)
}

// refreshStatuses reads the status of every task without a result.
func (r *runner) refreshStatuses(ctx context.Context) {
	r.mu.Lock()
	tasks := append([]*TaskRecord(nil), r.sum.Tasks...)
	r.mu.Unlock()
	for _, t := range tasks {
		st, err := r.o.Tasks.Status(ctx, t.ID)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				r.log.Debug("task status", "task", t.ID, "err", err)
			}
			continue
		}
		r.mu.Lock()
		t.Status = st
		r.mu.Unlock()
	}
}

// pollTasks reads the status of live tasks every PollInterval for the live
// view, and reports state changes as events.
func (r *runner) pollTasks(ctx context.Context) {
	tick := time.NewTicker(r.o.pollInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.mu.Lock()
		var live []*TaskRecord
		for _, t := range r.sum.Tasks {
			if t.Result == nil && !t.State().Final() {
				live = append(live, t)
			}
		}
		r.mu.Unlock()
		for _, t := range live {
			st, err := r.o.Tasks.Status(ctx, t.ID)
			if err != nil {
				continue
			}
			r.mu.Lock()
			old := t.State()
			t.Status = st
			r.mu.Unlock()
			if st.State != old {
				r.event("task %s (%s) %s", handofftype.ShortID(t.ID), t.Module, st.State)
			}
		}
	}
}

func (r *runner) addTask(t *TaskRecord) {
	r.mu.Lock()
	r.sum.Tasks = append(r.sum.Tasks, t)
	r.mu.Unlock()
}

// tasksOf returns the tasks the named generate stages submitted.
func (r *runner) tasksOf(stages []string) []*TaskRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*TaskRecord
	for _, t := range r.sum.Tasks {
		if contains(stages, t.Stage) {
			out = append(out, t)
		}
	}
	return out
}

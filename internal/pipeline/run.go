package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Run runs a pipeline: each stage starts as soon as the stages it needs have
// succeeded (one at a time with Options.Blocking), a stage whose need failed
// is skipped, and when ctx is cancelled (Ctrl-C) running commands are
// stopped, pending stages are not started and submitted tasks are cancelled
// (or left running with Options.Detach).
//
// The error is for a run that could not start (an invalid file matches
// ErrInvalid) or outputs that could not be written; stage failures and
// interruption are in the Summary, whose ExitCode says how the run ended.
func Run(ctx context.Context, o Options) (*Summary, error) {
	p := o.Pipeline
	if p == nil {
		var err error
		if p, err = Load(o.File); err != nil {
			return nil, err
		}
	}
	r, err := newRunner(o, p)
	if err != nil {
		return nil, err
	}
	r.run(ctx)
	return r.sum, r.writeOutputs()
}

// runner holds one run's state. mu guards the records in sum.
type runner struct {
	o         Options
	p         *Pipeline
	workspace string
	log       *slog.Logger
	sum       *Summary
	start     time.Time
	view      *liveView

	mu      sync.Mutex
	records map[string]*StageRecord
}

func newRunner(o Options, p *Pipeline) (*runner, error) {
	workspace := o.Workspace
	if workspace == "" {
		workspace = filepath.Dir(p.File)
	}
	workspace, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	if fi, err := os.Stat(workspace); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("workspace %s is not a directory; pass an existing one", workspace)
	}
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
		logDir = filepath.Join(workspace, ".handoff", "runs", id)
	}
	r := &runner{
		o: o, p: p, workspace: workspace, log: log, records: map[string]*StageRecord{},
		sum: &Summary{
			Pipeline: p.Name, File: p.File, RunID: id, Mode: mode, Concurrency: p.Concurrency,
			MaxParallel: o.MaxParallel, LogDir: logDir,
		},
	}
	for _, s := range p.Stages {
		rec := &StageRecord{Name: s.Name, Kind: s.Kind, Needs: s.Needs, Status: StagePending}
		r.records[s.Name] = rec
		r.sum.Stages = append(r.sum.Stages, rec)
	}
	r.view = newLiveView(orDiscard(o.Stderr), r.liveLines)
	return r, nil
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

func (r *runner) run(ctx context.Context) {
	r.start = time.Now()
	r.sum.Started = r.start
	r.view.start()
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
	r.view.stop()
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
			r.view.event("interrupted: stopping running stages")
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
		case rec.ok():
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
	r.view.event("%s started (%s)", s.Name, s.Kind)
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
	d := rec.Duration()
	allowed := rec.AllowedFailure
	r.mu.Unlock()
	line := fmt.Sprintf("%s %s", rec.Name, status)
	if rec.Started {
		line += " in " + formatDuration(d)
	}
	if allowed {
		line += " (continue-on-error)"
	}
	if msg != "" {
		line += ": " + msg
	}
	r.view.event("%s", line)
	r.log.Debug("stage finished", "stage", rec.Name, "status", status, "duration", d)
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
			ids[i] = t.ID
		}
		r.view.event("detached: %d task(s) keep running: %s; collect them with `handoff wait ID`", len(live), strings.Join(ids, " "))
		return
	}
	for _, t := range live {
		if err := r.o.Tasks.Cancel(bg, t.ID); err != nil {
			r.view.event("cancelling task %s (%s): %v", t.ID, t.Module, err)
			continue
		}
		r.view.event("cancelled task %s (%s)", t.ID, t.Module)
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
				r.view.event("task %s (%s) %s", t.ID, t.Module, st.State)
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

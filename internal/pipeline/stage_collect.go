package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/human"
	"strings"
	"sync"
	"time"
)

// collectStage waits for the tasks of the named generate stages, all at
// once, until each is done or the stage's timeout passes, then applies the
// require: policy. Tasks outlive a timeout: the message says how to wait for
// them later.
func (r *runner) collectStage(ctx context.Context, s *Stage, rec *StageRecord) (StageStatus, string) {
	spec := s.Collect
	tasks := r.tasksOf(spec.From)
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	r.mu.Lock()
	rec.Tasks = ids
	r.mu.Unlock()

	var deadline time.Time
	if spec.Timeout > 0 {
		deadline = time.Now().Add(spec.Timeout)
	}
	var wg sync.WaitGroup
	for _, t := range tasks {
		r.mu.Lock()
		have := t.Result != nil
		r.mu.Unlock()
		if have {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var timeout time.Duration
			if !deadline.IsZero() {
				timeout = max(time.Until(deadline), time.Millisecond)
			}
			res, err := r.o.Tasks.Wait(ctx, t.ID, timeout)
			r.mu.Lock()
			switch {
			case err == nil:
				t.Result, t.WaitError = res, ""
			case errors.Is(err, ErrWaitTimeout):
				t.WaitError = fmt.Sprintf("still running when collect timed out after %s", human.Duration(spec.Timeout))
			case ctx.Err() != nil:
				t.WaitError = "the run was interrupted"
			default:
				t.WaitError = err.Error()
			}
			r.mu.Unlock()
			if ctx.Err() == nil {
				r.event("task %s (%s) %s", handofftype.ShortID(t.ID), t.Module, describeResult(t))
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return StageCancelled, "stopped: the run was interrupted"
	}
	return r.judge(spec, tasks)
}

// judge applies a collect's require: policy to its tasks.
func (r *runner) judge(spec *CollectSpec, tasks []*TaskRecord) (StageStatus, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ok int
	var bad, pending []string
	for _, t := range tasks {
		switch {
		case t.Succeeded():
			ok++
		case t.Result == nil:
			pending = append(pending, fmt.Sprintf("%s (%s)", t.Module, handofftype.ShortID(t.ID)))
		default:
			bad = append(bad, fmt.Sprintf("%s: %s", t.Module, describeResult(t)))
		}
	}
	summary := fmt.Sprintf("%d of %d task(s) succeeded", ok, len(tasks))
	var notes []string
	if len(bad) > 0 {
		notes = append(notes, "did not succeed: "+strings.Join(bad, "; "))
	}
	if len(pending) > 0 {
		notes = append(notes, fmt.Sprintf("no result for %s; they keep running: `handoff wait ID` collects them later, or raise timeout:", strings.Join(pending, ", ")))
	}
	if len(notes) > 0 {
		summary += "; " + strings.Join(notes, "; ")
	}
	pass := false
	switch spec.Require {
	case RequireAll:
		pass = ok == len(tasks)
	case RequireAny:
		pass = ok > 0 || len(tasks) == 0
	case RequireNone:
		pass = true
	}
	if !pass {
		return StageFailed, fmt.Sprintf("require: %s not met: %s", spec.Require, summary)
	}
	return StageSucceeded, summary
}

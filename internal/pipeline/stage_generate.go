package pipeline

import (
	"context"
	"fmt"

	"github.com/handoff-dev/handoff/handofftype"
)

// generateStage submits one task per module and returns once all are
// queued, in one batch. In blocking mode it waits for each task before
// submitting the next, as a pipeline without handoff would.
func (r *runner) generateStage(ctx context.Context, s *Stage, rec *StageRecord) (StageStatus, string) {
	spec := s.Generate
	modules, err := resolveModules(r.workspace, spec.Modules)
	if err != nil {
		return StageFailed, fmt.Sprintf("%v (%s:%d)", err, r.p.File, spec.ModulesLine)
	}
	agentName := spec.Agent
	if agentName == "" {
		agentName = r.p.Agent
	}
	reqs := make([]handofftype.Request, len(modules))
	for i, m := range modules {
		reqs[i] = handofftype.Request{
			Workspace:      r.workspace,
			Module:         m,
			Output:         expandOutput(spec.Output, m),
			Coverage:       spec.Coverage,
			Agent:          agentName,
			Model:          spec.Model,
			IdempotencyKey: "pipeline/" + r.sum.RunID + "/" + s.Name + "/" + m,
			Labels:         map[string]string{"pipeline": r.p.Name, "run": r.sum.RunID, "stage": s.Name},
		}
	}
	if !r.o.Blocking {
		// All at once: one snapshot for every module, and the last task
		// starts as early as the first.
		ids, err := r.o.Tasks.SubmitMany(ctx, reqs)
		if ctx.Err() != nil {
			return StageCancelled, "stopped: the run was interrupted"
		}
		if err != nil {
			return StageFailed, fmt.Sprintf("submitting %d module(s): %v", len(modules), err)
		}
		for i, id := range ids {
			r.record(rec, &TaskRecord{ID: id, Stage: s.Name, Module: modules[i], Submitted: r.since()})
		}
		return StageSucceeded, fmt.Sprintf("%d task(s) submitted", len(modules))
	}
	// Blocking, as a pipeline without handoff would: submit one, wait for
	// it, then the next.
	for i, m := range modules {
		id, err := r.o.Tasks.Submit(ctx, reqs[i])
		if ctx.Err() != nil {
			return StageCancelled, "stopped: the run was interrupted"
		}
		if err != nil {
			return StageFailed, fmt.Sprintf("submitting %s: %v", m, err)
		}
		t := &TaskRecord{ID: id, Stage: s.Name, Module: m, Submitted: r.since()}
		r.record(rec, t)
		res, err := r.o.Tasks.Wait(ctx, id, 0)
		if ctx.Err() != nil {
			return StageCancelled, "stopped: the run was interrupted"
		}
		r.mu.Lock()
		if err != nil {
			t.WaitError = err.Error()
		} else {
			t.Result = res
		}
		r.mu.Unlock()
		r.event("task %s (%s) %s", id, m, describeResult(t))
	}
	return StageSucceeded, fmt.Sprintf("%d task(s) submitted", len(modules))
}

// record adds a submitted task to the run and its stage.
func (r *runner) record(rec *StageRecord, t *TaskRecord) {
	r.addTask(t)
	r.mu.Lock()
	rec.Tasks = append(rec.Tasks, t.ID)
	r.mu.Unlock()
	r.event("task %s submitted for %s", handofftype.ShortID(t.ID), t.Module)
}

// describeResult is a short account of a task's outcome.
func describeResult(t *TaskRecord) string {
	if t.Result == nil {
		if t.WaitError != "" {
			return "no result: " + t.WaitError
		}
		return string(t.State())
	}
	r := t.Result
	if r.State != handofftype.StateCompleted {
		if r.Error != "" {
			return string(r.State) + ": " + r.Error
		}
		return string(r.State)
	}
	verdict := "succeeded"
	if !r.Success {
		verdict = "below threshold"
	}
	s := fmt.Sprintf("%s: coverage %.1f%% → %.1f%% (threshold %.0f%%), %d test(s) kept",
		verdict, r.Coverage.Before, r.Coverage.After, r.Coverage.Threshold, len(r.Tests.Kept))
	if r.Error != "" {
		s += ": " + r.Error
	}
	return s
}

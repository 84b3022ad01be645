package engine

import (
	"cmp"
	"strings"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/store"
)

// Outcome is what happened to a task, as its result tells it.
type Outcome struct {
	// State is the task's state: a final one, or empty while an attempt
	// runs.
	State handofftype.State
	// Error says why the task has no verdict, or what went wrong on the way
	// to one. Empty keeps the run's; a final result without a run takes the
	// record's last error, else the state's name.
	Error string
	// CancelledBy names who cancelled a CANCELLED task.
	CancelledBy string
	// Class is why a FAILED task failed; empty means FailureInternal.
	Class handofftype.FailureClass
}

// Result builds a task's result, the one place handoff makes one: the
// attempt's at its start, the final one a worker records, the one for a
// task that ended without a worker (cancelled in the queue, lost on its
// last attempt), and the one Wait returns. The task's identity, its
// request's choices (module, output, language, threshold, agent, apply
// mode) and its attempt count come from the record; run is what the
// attempt reported, nil when nothing ran or it reported nothing, and is not
// changed; o is what happened.
func Result(rec *store.Record, run *handofftype.Result, o Outcome) *handofftype.Result {
	var res handofftype.Result
	if run != nil {
		res = *run
	} else {
		req := rec.Request
		res = handofftype.Result{
			TaskID: rec.ID, Module: req.Module, Output: req.Output, Language: rec.Language,
			Agent: handofftype.AgentInfo{Name: req.Agent, Model: req.Model}, Apply: handofftype.ApplyInfo{Mode: req.Apply},
			Tests: handofftype.Tests{Kept: []string{}, Dropped: []agent.Dropped{}}, Files: []string{},
		}
		if req.Coverage != nil {
			res.Coverage.Threshold = *req.Coverage
		}
		if o.State.Final() && o.Error == "" {
			o.Error = rec.LastError
			if o.Error == "" {
				o.Error = strings.ToLower(string(o.State))
			}
		}
	}
	res.Attempts = rec.Attempt
	if o.State != "" {
		res.State = o.State
	}
	if o.Error != "" {
		res.Error = o.Error
	}
	if o.CancelledBy != "" {
		res.CancelledBy = o.CancelledBy
	}
	if res.State == handofftype.StateFailed {
		res.FailureClass = cmp.Or(o.Class, res.FailureClass, handofftype.FailureInternal)
	}
	return &res
}

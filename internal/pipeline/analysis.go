package pipeline

import "time"

// CriticalPath is the chain of stages, each needing the one before, with the
// largest sum of measured durations: the shortest the run could have been
// with unlimited parallelism and the same stage durations.
func (s *Summary) CriticalPath() ([]string, time.Duration) {
	byName := map[string]*StageRecord{}
	for _, r := range s.Stages {
		byName[r.Name] = r
	}
	best := map[string]time.Duration{}
	prev := map[string]string{}
	var visit func(r *StageRecord) time.Duration
	visit = func(r *StageRecord) time.Duration {
		if d, ok := best[r.Name]; ok {
			return d
		}
		var longest time.Duration
		for _, n := range r.Needs {
			if dep := byName[n]; dep != nil {
				if d := visit(dep); d > longest || prev[r.Name] == "" {
					longest, prev[r.Name] = d, n
				}
			}
		}
		best[r.Name] = longest + r.Duration()
		return best[r.Name]
	}
	var end string
	var total time.Duration
	for _, r := range s.Stages {
		if d := visit(r); d > total || end == "" {
			end, total = r.Name, d
		}
	}
	var path []string
	for n := end; n != ""; n = prev[n] {
		path = append([]string{n}, path...)
	}
	return path, total
}

// StageTime is the sum of the stages' measured durations.
func (s *Summary) StageTime() time.Duration {
	var sum time.Duration
	for _, r := range s.Stages {
		sum += r.Duration()
	}
	return sum
}

// OneAtATime estimates the wall time of the same work done one step after
// another: run and generate stages as measured plus each task's own run time
// (agent and verification), back to back. Collect stages only wait, so they
// add nothing. It is an estimate only: in a parallel run the task times were
// measured while tasks shared the machine, so they overstate a blocking run.
// Savings are never computed from it (see Saved).
func (s *Summary) OneAtATime() time.Duration {
	var sum time.Duration
	for _, r := range s.Stages {
		if r.Kind != KindCollect {
			sum += r.Duration()
		}
	}
	if s.Mode == ModeBlocking {
		return sum // generate stages already include their tasks
	}
	for _, t := range s.Tasks {
		sum += t.RunTime()
	}
	return sum
}

// Saved is the measured saving of a parallel run: the recorded blocking
// run's wall time minus this run's (negative when this run was slower). ok
// is false when no blocking run of the pipeline was recorded: then there is
// no measured figure to give.
func (s *Summary) Saved() (saved time.Duration, ok bool) {
	if s.Mode != ModeParallel || s.Blocking == nil {
		return 0, false
	}
	// Both walls at the recorded precision, so the figure is exactly the
	// difference of the two reported wall_ms.
	return s.Blocking.Wall - s.Wall.Truncate(time.Millisecond), true
}

// RunTime is how long the task ran once a worker took it.
func (t *TaskRecord) RunTime() time.Duration {
	if t.Result != nil && t.Result.Timings.Run > 0 {
		return t.Result.Timings.Run
	}
	if t.Status != nil && t.Status.StartedAt != nil && t.Status.CompletedAt != nil {
		return t.Status.CompletedAt.Sub(*t.Status.StartedAt)
	}
	return 0
}

// TaskSpan returns the task's queued, started and ended offsets from the
// run's start. started is -1 when unknown; ended is the run's wall time when
// the task had not finished.
func (s *Summary) TaskSpan(t *TaskRecord) (queued, started, ended time.Duration) {
	queued, started, ended = t.Submitted, -1, s.Wall
	if t.Status == nil {
		return
	}
	if t.Status.StartedAt != nil {
		started = clamp(t.Status.StartedAt.Sub(s.Started), queued, s.Wall)
	}
	if t.Status.CompletedAt != nil {
		ended = clamp(t.Status.CompletedAt.Sub(s.Started), queued, s.Wall)
		if started > ended {
			started = ended
		}
	}
	return
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}

// ModuleRow is one module's outcome, for summaries.
type ModuleRow struct {
	Module         string
	TaskID         string
	State          string
	Success        bool
	Kept           int
	Dropped        int
	CoverageBefore float64
	CoverageAfter  float64
	Threshold      float64
	HasResult      bool
	Note           string // error, why no result, or why nothing was kept
}

// Modules returns a row per task, in submission order.
func (s *Summary) Modules() []ModuleRow {
	rows := make([]ModuleRow, 0, len(s.Tasks))
	for _, t := range s.Tasks {
		row := ModuleRow{Module: t.Module, TaskID: t.ID, State: string(t.State()), Success: t.Succeeded(), Note: t.WaitError}
		if r := t.Result; r != nil {
			row.HasResult = true
			row.Kept, row.Dropped = len(r.Tests.Kept), len(r.Tests.Dropped)
			row.CoverageBefore, row.CoverageAfter, row.Threshold = r.Coverage.Before, r.Coverage.After, r.Coverage.Threshold
			switch {
			case r.Error != "":
				row.Note = r.Error
			case len(r.Tests.Kept) == 0:
				row.Note = r.Apply.Reason // why nothing was written
			}
		} else if t.Status != nil && t.Status.LastError != "" && row.Note == "" {
			row.Note = t.Status.LastError
		}
		rows = append(rows, row)
	}
	return rows
}

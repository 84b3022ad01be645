package pipeline

import (
	"encoding/json"
	"io"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
)

// Report is the JSON form of a Summary (--report FILE.json). Offsets and
// durations are milliseconds from the run's start.
type Report struct {
	Pipeline       string    `json:"pipeline"`
	File           string    `json:"file"`
	RunID          string    `json:"run_id"`
	Mode           Mode      `json:"mode"`
	Concurrency    int       `json:"concurrency,omitempty"`
	MaxParallel    int       `json:"max_parallel,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	WallMS         int64     `json:"wall_ms"`
	CriticalPath   []string  `json:"critical_path"`
	CriticalPathMS int64     `json:"critical_path_ms"`
	StageTimeMS    int64     `json:"stage_time_ms"`
	// OneAtATimeMS is an estimate (Summary.OneAtATime), never a measurement.
	OneAtATimeMS int64 `json:"one_at_a_time_ms"`
	// SavedMS is measured against BlockingRun; 0 when none was recorded.
	SavedMS     int64          `json:"saved_ms"`
	BlockingRun *BlockingRun   `json:"blocking_run,omitempty"`
	OK          bool           `json:"ok"`
	ExitCode    int            `json:"exit_code"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Detached    bool           `json:"detached,omitempty"`
	LogDir      string         `json:"log_dir"`
	Stages      []StageReport  `json:"stages"`
	Tasks       []TaskReport   `json:"tasks"`
	Modules     []ModuleReport `json:"modules"`
}

// StageReport is one stage in a Report.
type StageReport struct {
	Name            string      `json:"name"`
	Kind            Kind        `json:"kind"`
	Needs           []string    `json:"needs,omitempty"`
	Status          StageStatus `json:"status"`
	StartMS         *int64      `json:"start_ms"` // null when the stage never started
	EndMS           *int64      `json:"end_ms"`
	DurationMS      int64       `json:"duration_ms"`
	ExitCode        *int        `json:"exit_code,omitempty"`
	TimedOut        bool        `json:"timed_out,omitempty"`
	ContinueOnError bool        `json:"continue_on_error,omitempty"`
	LogPath         string      `json:"log_path,omitempty"`
	Error           string      `json:"error,omitempty"`
	Tasks           []string    `json:"tasks,omitempty"`
}

// TaskReport is one task in a Report, with its result once collected.
type TaskReport struct {
	ID          string              `json:"task_id"`
	Stage       string              `json:"stage"`
	Module      string              `json:"module"`
	State       handofftype.State   `json:"status"`
	SubmittedMS int64               `json:"submitted_ms"`
	StartMS     *int64              `json:"start_ms"`
	EndMS       *int64              `json:"end_ms"`
	RunMS       int64               `json:"run_ms"`
	WaitError   string              `json:"wait_error,omitempty"`
	Status      *handofftype.Status `json:"last_status,omitempty"`
	Result      *handofftype.Result `json:"result,omitempty"`
}

// ModuleReport is one module's outcome in a Report.
type ModuleReport struct {
	Module         string  `json:"module"`
	TaskID         string  `json:"task_id"`
	Status         string  `json:"status"`
	Success        bool    `json:"success"`
	Kept           int     `json:"kept"`
	Dropped        int     `json:"dropped"`
	CoverageBefore float64 `json:"coverage_before"`
	CoverageAfter  float64 `json:"coverage_after"`
	Threshold      float64 `json:"threshold"`
	Note           string  `json:"note,omitempty"`
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func msPtr(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}

// Report returns the summary in its JSON form.
func (s *Summary) Report() Report {
	path, cp := s.CriticalPath()
	rep := Report{
		Pipeline: s.Pipeline, File: s.File, RunID: s.RunID, Mode: s.Mode, Concurrency: s.Concurrency,
		MaxParallel: s.MaxParallel, StartedAt: s.Started, WallMS: ms(s.Wall),
		CriticalPath: path, CriticalPathMS: ms(cp), StageTimeMS: ms(s.StageTime()),
		OneAtATimeMS: ms(s.OneAtATime()), OK: s.OK(), ExitCode: s.ExitCode(),
		Interrupted: s.Interrupted, Detached: s.Detached, LogDir: s.LogDir,
		Stages: []StageReport{}, Tasks: []TaskReport{}, Modules: []ModuleReport{},
	}
	if saved, ok := s.Saved(); ok {
		rep.SavedMS, rep.BlockingRun = ms(saved), s.Blocking
	}
	for _, r := range s.Stages {
		sr := StageReport{
			Name: r.Name, Kind: r.Kind, Needs: r.Needs, Status: r.Status, DurationMS: ms(r.Duration()),
			ExitCode: r.ExitCode, TimedOut: r.TimedOut, ContinueOnError: r.AllowedFailure,
			LogPath: r.LogPath, Error: r.Error, Tasks: r.Tasks,
		}
		if r.Started {
			sr.StartMS, sr.EndMS = msPtr(r.Start), msPtr(r.End)
			// From the rounded offsets, so that end − start = duration in
			// the file; rounding each figure on its own can differ by 1 ms.
			sr.DurationMS = *sr.EndMS - *sr.StartMS
		}
		rep.Stages = append(rep.Stages, sr)
	}
	for _, t := range s.Tasks {
		_, started, ended := s.TaskSpan(t)
		tr := TaskReport{
			ID: t.ID, Stage: t.Stage, Module: t.Module, State: t.State(), SubmittedMS: ms(t.Submitted),
			RunMS: ms(t.RunTime()), WaitError: t.WaitError, Status: t.Status, Result: t.Result,
		}
		if started >= 0 {
			tr.StartMS = msPtr(started)
		}
		if t.State().Final() {
			tr.EndMS = msPtr(ended)
		}
		rep.Tasks = append(rep.Tasks, tr)
	}
	for _, m := range s.Modules() {
		rep.Modules = append(rep.Modules, ModuleReport{
			Module: m.Module, TaskID: m.TaskID, Status: m.State, Success: m.Success, Kept: m.Kept,
			Dropped: m.Dropped, CoverageBefore: m.CoverageBefore, CoverageAfter: m.CoverageAfter,
			Threshold: m.Threshold, Note: m.Note,
		})
	}
	return rep
}

// WriteJSON writes the Report as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.Report())
}

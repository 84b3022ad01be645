package pipeline

import (
	"time"

	"github.com/handoff-dev/handoff/handofftype"
)

// StageStatus is where a stage is in a run.
type StageStatus string

// The stage statuses. Pending and running are live; the others are final.
const (
	StagePending   StageStatus = "pending"
	StageRunning   StageStatus = "running"
	StageSucceeded StageStatus = "succeeded"
	StageFailed    StageStatus = "failed"
	StageSkipped   StageStatus = "skipped"   // a stage it needs did not succeed
	StageCancelled StageStatus = "cancelled" // the run was interrupted
)

// StageRecord is what happened to one stage. Offsets are from the run's start.
type StageRecord struct {
	Name   string
	Kind   Kind
	Needs  []string
	Status StageStatus
	Start  time.Duration // offset; meaningful once the stage started
	End    time.Duration // offset; meaningful once the stage is final
	// Started says the stage ran at all (skipped and cancelled-while-pending
	// stages did not).
	Started bool
	// ExitCode of a run stage's command; -1 when it was killed.
	ExitCode *int
	TimedOut bool
	// AllowedFailure is set when a run stage failed with continue-on-error.
	AllowedFailure bool
	LogPath        string
	Error          string
	// Tasks are the IDs a generate stage submitted or a collect stage waited for.
	Tasks []string
}

// Duration is how long the stage ran; zero if it never started.
func (s *StageRecord) Duration() time.Duration {
	if !s.Started || s.End < s.Start {
		return 0
	}
	return s.End - s.Start
}

// OK says whether stages that need this one may run: it succeeded, or
// failed with continue-on-error.
func (s *StageRecord) OK() bool {
	return s.Status == StageSucceeded || (s.Status == StageFailed && s.AllowedFailure)
}

// TaskRecord is one test-generation task a generate stage submitted.
type TaskRecord struct {
	ID     string
	Stage  string
	Module string
	// Submitted is the offset at which Submit returned.
	Submitted time.Duration
	// Status is the last status read; Result is set once collected.
	Status *handofftype.Status
	Result *handofftype.Result
	// WaitError says why a collect did not get the result (timeout, error).
	WaitError string
}

// State is the task's last known state.
func (t *TaskRecord) State() handofftype.State {
	switch {
	case t.Result != nil:
		return t.Result.State
	case t.Status != nil:
		return t.Status.State
	default:
		return handofftype.StateQueued
	}
}

// Succeeded says whether the task completed with success.
func (t *TaskRecord) Succeeded() bool {
	if t.Result != nil {
		return t.Result.State == handofftype.StateCompleted && t.Result.Success
	}
	return t.Status != nil && t.Status.State == handofftype.StateCompleted && t.Status.Success != nil && *t.Status.Success
}

// Mode says how a run schedules stages.
type Mode string

// The run modes.
const (
	ModeParallel Mode = "parallel" // each stage as soon as its needs are done
	ModeBlocking Mode = "blocking" // one stage at a time, generate waiting for each task
)

// Summary is the outcome of a run.
type Summary struct {
	Pipeline string
	File     string
	RunID    string
	Mode     Mode
	// Concurrency is the pipeline's concurrency: setting (0 when unset).
	Concurrency int
	// MaxParallel is the cap on stages running at once (0: none).
	MaxParallel int
	Started     time.Time
	Wall        time.Duration
	Stages      []*StageRecord
	Tasks       []*TaskRecord
	LogDir      string
	// Interrupted says the run's context was cancelled (Ctrl-C).
	Interrupted bool
	// Detached says tasks were left running when the run was interrupted.
	Detached bool
	// Blocking is the latest recorded blocking run of the same pipeline in
	// the same workspace (parallel runs only; nil when none was recorded):
	// the saving is measured against it.
	Blocking *BlockingRun
}

// Stage returns the record of the named stage, or nil.
func (s *Summary) Stage(name string) *StageRecord {
	for _, r := range s.Stages {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// OK says whether every stage succeeded (failures allowed by
// continue-on-error aside) and the run was not interrupted.
func (s *Summary) OK() bool {
	if s.Interrupted {
		return false
	}
	for _, r := range s.Stages {
		if !r.OK() {
			return false
		}
	}
	return true
}

// Exit codes of a run, for the command line.
const (
	ExitOK          = 0   // every stage succeeded
	ExitFailed      = 1   // a stage failed or was skipped because one it needs failed
	ExitInterrupted = 130 // interrupted (Ctrl-C), as shells report SIGINT
)

// ExitCode is ExitOK, ExitFailed or ExitInterrupted.
func (s *Summary) ExitCode() int {
	switch {
	case s.Interrupted:
		return ExitInterrupted
	case s.OK():
		return ExitOK
	default:
		return ExitFailed
	}
}

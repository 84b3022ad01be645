package pipeline

import (
	"log/slog"
	"time"
)

// Options configure a Run. The zero value of every field but File (or
// Pipeline) and, for pipelines with generate stages, Tasks works.
type Options struct {
	// File is the pipeline file to load.
	File string
	// Pipeline is a pipeline from Load or Parse (for example to read its
	// Concurrency before starting a worker); when set, File is not read. A
	// Pipeline built by hand must be valid as Load would check it.
	Pipeline *Pipeline
	// Workspace is where run stages start, module paths resolve and tasks
	// look. Default: the directory holding the pipeline file.
	Workspace string
	// MaxParallel caps how many stages run at once; 0 means no cap.
	MaxParallel int
	// Blocking runs the pipeline the old way for comparison: one stage at a
	// time, and each generate stage waits for each task before submitting
	// the next.
	Blocking bool
	// Detach leaves submitted tasks running when ctx is cancelled, instead
	// of cancelling them. Stage commands are stopped either way.
	Detach bool
	// LogDir holds one log file per run stage. Default:
	// <workspace>/.handoff/runs/<run ID>.
	LogDir string
	// Environ is the environment run stages inherit before the pipeline's
	// and the stage's env are added. Nil means os.Environ().
	Environ []string
	// Display shows the run while it goes (report.Live on stderr, for the
	// command line). Nil shows nothing. What the run ends with is the
	// Summary Run returns; package report renders it.
	Display Display
	// Tasks is the task engine; required when the pipeline has generate
	// stages.
	Tasks Tasks
	// KillGrace is how long a stopped command gets between SIGTERM and
	// SIGKILL. Default 3s.
	KillGrace time.Duration
	// PollInterval is how often live task status is read. Default 1s.
	PollInterval time.Duration
	// Logger receives debug records; nil means none.
	Logger *slog.Logger
}

func (o Options) killGrace() time.Duration {
	if o.KillGrace > 0 {
		return o.KillGrace
	}
	return 3 * time.Second
}

func (o Options) pollInterval() time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return time.Second
}

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/task"
)

func newRunCmd(a *app) *cobra.Command {
	var (
		o        pipeline.Options
		noWorker bool
	)
	cmd := &cobra.Command{
		Use:   "run PIPELINE.yml",
		Short: "Run a pipeline: stages in parallel while agents write tests",
		Long: `run starts each stage of the pipeline as soon as the stages it needs are done. generate
stages submit test-generation tasks and return at once; collect stages wait for them. This
process works the tasks itself (as many at once as the pipeline's concurrency) unless
--no-worker. The live view goes to stderr; the timeline and summary to stdout. Exit code 0
when every stage succeeded, 1 when one failed, 2 for an invalid file, 130 when interrupted.`,
		Example: `  handoff run examples/inventory/pipeline.yml
  handoff run ci.yml --report run.json --timeline run.svg
  handoff run ci.yml --blocking    # the old way, one stage at a time, for comparison`,
		Args: exactArgs(1, "one pipeline file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := pipeline.Load(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			o.Pipeline = p
			o.Stdout, o.Stderr = a.stdout, a.stderr
			if o.Workspace == "" {
				o.Workspace = filepath.Dir(p.File)
			}
			ws := a.workspace
			if ws == "" {
				ws = o.Workspace
			}
			sub := *a
			sub.workspace = ws
			c, err := sub.openWith(cmd.Context(), p.Concurrency, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if !noWorker {
				if err := c.StartWorker(cmd.Context()); err != nil {
					return err
				}
			}
			o.Tasks = tasks{c}
			sum, err := pipeline.Run(cmd.Context(), o)
			if err != nil {
				if errors.Is(err, pipeline.ErrInvalid) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			if a.json {
				if err := sum.WriteJSON(a.stdout); err != nil {
					return err
				}
			}
			if o.Detach && cmd.Context().Err() != nil {
				// Tasks go on without us: hand them to a background worker.
				_ = c.StopWorker(context.Background(), 0)
				if err := sub.ensureWorker(context.Background(), c, false); err != nil {
					fmt.Fprintln(a.stderr, "handoff: warning:", err)
				}
			}
			if code := sum.ExitCode(); code != 0 {
				return &exitError{code: code, err: fmt.Errorf("pipeline %s did not succeed", p.Name)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.MaxParallel, "max-parallel", 0, "at most this many stages at once (0: as many as the DAG allows)")
	f.BoolVar(&o.Blocking, "blocking", false, "run one stage at a time, each generate waiting for its tasks (the old way)")
	f.BoolVar(&o.Detach, "detach", false, "on Ctrl-C leave submitted tasks running instead of cancelling them")
	f.StringVar(&o.ReportPath, "report", "", "write the run as JSON to this file")
	f.StringVar(&o.TimelinePath, "timeline", "", "draw the timeline to this .svg or .html file")
	f.BoolVar(&noWorker, "no-worker", false, "do not work tasks in this process (another worker does)")
	return cmd
}

// tasks adapts the client to what a pipeline needs.
type tasks struct{ c *handoff.Client }

func (t tasks) Submit(ctx context.Context, r task.Request) (string, error) { return t.c.Submit(ctx, r) }

func (t tasks) SubmitMany(ctx context.Context, rs []task.Request) ([]string, error) {
	return t.c.SubmitMany(ctx, rs)
}

func (t tasks) Status(ctx context.Context, id string) (*task.Status, error) {
	return t.c.Status(ctx, id)
}

func (t tasks) Wait(ctx context.Context, id string, timeout time.Duration) (*task.Result, error) {
	res, err := t.c.Results(ctx, id, handoff.WaitOptions{Timeout: timeout, PollInterval: 500 * time.Millisecond})
	if errors.Is(err, handoff.ErrWaitTimeout) {
		return nil, fmt.Errorf("%w: %v", pipeline.ErrWaitTimeout, err)
	}
	return res, err
}

func (t tasks) Cancel(ctx context.Context, id string) error {
	_, err := t.c.Cancel(ctx, id)
	return err
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/pipeline/report"
	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/store"
)

func newRunCmd(a *app) *cobra.Command {
	var (
		o        pipeline.Options
		out      report.Outputs
		noWorker bool
		compare  bool
	)
	cmd := &cobra.Command{
		Use:   "run PIPELINE.yml",
		Short: "Run a pipeline: stages in parallel while agents write tests",
		Long: `run starts each stage of the pipeline as soon as the stages it needs are done. generate
stages submit test-generation tasks and return at once; collect stages wait for them. This
process works the tasks itself (as many at once as the pipeline's concurrency) unless
--no-worker. The live view goes to stderr; the timeline and summary to stdout (to stderr
with --json, which puts nothing but the JSON report on stdout). Exit code 0
when every stage succeeded, 1 when one failed, 2 for an invalid file, 130 when interrupted.

--compare runs the pipeline twice, one stage at a time (as --blocking) and then in
parallel, each in a scratch copy of the workspace removed at the end, so your files
are untouched by either; it records the blocking run as --blocking does and prints
the parallel run's measured saving against it.`,
		Example: `  handoff run examples/inventory/pipeline.yml
  handoff run ci.yml --report run.json --timeline run.svg --junit handoff.xml
  handoff run ci.yml --blocking    # the old way, one stage at a time, for comparison
  handoff run ci.yml --compare     # both ways in scratch copies, and the measured saving`,
		Args: exactArgs(1, "one pipeline file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if compare && (o.Blocking || o.Detach) {
				return usageErr("--compare runs the pipeline both ways in scratch copies it removes at the end; " +
					"leave out --blocking and --detach")
			}
			p, err := pipeline.Load(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			o.Pipeline = p
			o.Display = report.NewLive(a.stderr)
			out.Stdout, out.Stderr = a.stdout, a.stderr
			if a.json {
				// stdout carries the JSON report alone, so it pipes into jq;
				// the timeline and summary are for a person: stderr.
				out.Stdout = a.stderr
			}
			if o.Workspace == "" {
				o.Workspace = filepath.Dir(p.File)
			}
			ws := a.workspace
			if ws == "" {
				ws = o.Workspace
			}
			sub := *a
			sub.workspace = ws
			if remoteMode() {
				// The server's workers run the generate stages' tasks.
				r, err := sub.remote()
				if err != nil {
					return err
				}
				o.Tasks = tasks{r}
				return sub.runPipeline(cmd, o, out, compare, nil)
			}
			c, err := sub.openWith(cmd.Context(), p.Concurrency, nil)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			if !noWorker {
				if err := c.StartWorker(cmd.Context()); err != nil {
					return err
				}
			}
			o.Tasks = tasks{c}
			// Finished runs go to the database too, for the dashboard of
			// `handoff serve`, which does not see this workspace.
			record := func(s *pipeline.Summary) {
				if err := recordRun(context.WithoutCancel(cmd.Context()), c.TaskStore(), s); err != nil {
					fmt.Fprintln(a.stderr, "handoff: warning: the run is not recorded in the database:", err)
				}
			}
			err = sub.runPipeline(cmd, o, out, compare, record)
			if o.Detach && cmd.Context().Err() != nil {
				// Tasks go on without us: hand them to a background worker.
				_ = c.StopWorker(context.Background(), 0)
				if err := sub.ensureWorker(context.Background(), c, false, c.AgentNames()); err != nil {
					fmt.Fprintln(a.stderr, "handoff: warning:", err)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.MaxParallel, "max-parallel", 0, "at most this many stages at once (0: as many as the DAG allows)")
	f.BoolVar(&o.Blocking, "blocking", false, "run one stage at a time, each generate waiting for its tasks (the old way)")
	f.BoolVar(&o.Detach, "detach", false, "on Ctrl-C leave submitted tasks running instead of cancelling them")
	f.StringVar(&out.ReportPath, "report", "", "write the run as JSON to this file")
	f.StringVar(&out.TimelinePath, "timeline", "", "draw the timeline to this .svg or .html file")
	f.StringVar(&out.JUnitPath, "junit", "", "write stages, modules and generated tests as JUnit XML to this file")
	f.BoolVar(&noWorker, "no-worker", false, "do not work tasks in this process (another worker does)")
	f.BoolVar(&compare, "compare", false, "run the pipeline both ways (--blocking, then parallel) in scratch copies and print the measured saving")
	return cmd
}

// compare runs the pipeline both ways (pipeline.Compare), shows both runs
// and prints the JSON of both with --json.
func (a *app) compare(ctx context.Context, o pipeline.Options, out report.Outputs, record func(*pipeline.Summary)) error {
	c, err := pipeline.Compare(ctx, o)
	if err != nil {
		if errors.Is(err, pipeline.ErrInvalid) {
			return &exitError{code: exitUsage, err: err}
		}
		return err
	}
	for _, s := range []*pipeline.Summary{c.Blocking, c.Parallel} {
		if s != nil && record != nil {
			record(s)
		}
	}
	if err := report.WriteComparison(c, out); err != nil {
		return err
	}
	if a.json {
		if err := c.WriteJSON(a.stdout); err != nil {
			return err
		}
	}
	for _, s := range []*pipeline.Summary{c.Blocking, c.Parallel} {
		if s != nil && len(s.Tasks) > 0 {
			fmt.Fprintf(a.stderr, "Inspect the %s run's tasks: %s\n", s.Mode, a.inspectCommand("list", "--label", "run="+s.RunID))
		}
	}
	if code := c.ExitCode(); code != 0 {
		return &exitError{code: code, err: fmt.Errorf("pipeline %s did not succeed both ways", o.Pipeline.Name)}
	}
	return nil
}

// runPipeline runs the pipeline of o (or compares its two ways) and prints
// the report, with the exit code the run deserves. record, when set, is
// given each finished run.
func (a *app) runPipeline(cmd *cobra.Command, o pipeline.Options, out report.Outputs, compare bool, record func(*pipeline.Summary)) error {
	if compare {
		return a.compare(cmd.Context(), o, out, record)
	}
	sum, err := pipeline.Run(cmd.Context(), o)
	if err != nil {
		if errors.Is(err, pipeline.ErrInvalid) {
			return &exitError{code: exitUsage, err: err}
		}
		return err
	}
	if record != nil {
		record(sum)
	}
	if err := report.Write(sum, out); err != nil {
		return err
	}
	if a.json {
		if err := sum.WriteJSON(a.stdout); err != nil {
			return err
		}
	}
	if len(sum.Tasks) > 0 {
		fmt.Fprintf(a.stderr, "Inspect this run's tasks: %s\n", a.inspectCommand("list", "--label", "run="+sum.RunID))
	}
	if code := sum.ExitCode(); code != 0 {
		return &exitError{code: code, err: fmt.Errorf("pipeline %s did not succeed", o.Pipeline.Name)}
	}
	return nil
}

// maxStageLog bounds what is recorded of each stage's log: its end.
const maxStageLog = 32 << 10

// recordRun records a finished run in the database: its JSON report, its
// timeline picture and the end of each stage's log.
func recordRun(ctx context.Context, st *store.Store, s *pipeline.Summary) error {
	var rep, svg bytes.Buffer
	if err := s.WriteJSON(&rep); err != nil {
		return err
	}
	if err := report.WriteSVG(&svg, s); err != nil {
		return err
	}
	logs := map[string]string{}
	for _, r := range s.Stages {
		if r.LogPath == "" {
			continue
		}
		if tail, err := fileTail(r.LogPath, maxStageLog); err == nil && tail != "" {
			logs[r.Name] = tail
		}
	}
	return st.PutRun(ctx, store.Run{ID: s.RunID, Pipeline: s.Pipeline, Started: s.Started, Wall: s.Wall, OK: s.OK(),
		Report: rep.Bytes(), Timeline: svg.Bytes(), Logs: logs})
}

// fileTail reads the last n bytes of a file, from a line's start.
func fileTail(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(0, fi.Size()-n)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		return "…\n" + string(b), nil
	}
	return string(b), nil
}

// tasks adapts the client to what a pipeline needs.
type tasks struct{ c handoff.Tasks }

func (t tasks) Submit(ctx context.Context, r handofftype.Request) (string, error) {
	return t.c.Submit(ctx, r)
}

func (t tasks) SubmitMany(ctx context.Context, rs []handofftype.Request) ([]string, error) {
	return t.c.SubmitMany(ctx, rs)
}

func (t tasks) Status(ctx context.Context, id string) (*handofftype.Status, error) {
	return t.c.Status(ctx, id)
}

func (t tasks) Wait(ctx context.Context, id string, timeout time.Duration) (*handofftype.Result, error) {
	res, err := t.c.Wait(ctx, id, handoff.WaitOptions{Timeout: timeout, PollInterval: 500 * time.Millisecond})
	if errors.Is(err, handoff.ErrWaitTimeout) {
		return nil, fmt.Errorf("%w: %v", pipeline.ErrWaitTimeout, err)
	}
	return res, err
}

func (t tasks) Cancel(ctx context.Context, id string) error {
	_, err := t.c.Cancel(ctx, id)
	return err
}

// inspectCommand is the command line that reaches the same database as this
// one, for a person to copy: the workspace (or --db) made explicit.
func (a *app) inspectCommand(args ...string) string {
	cmd := []string{"handoff"}
	switch {
	case a.db != "" && !strings.Contains(a.db, "@"):
		cmd = append(cmd, "--db", a.db)
	case a.db == "":
		ws, err := filepath.Abs(orWD(a.workspace))
		if err == nil {
			cmd = append(cmd, "--workspace", ws)
		}
	}
	return sandbox.Describe(append(cmd, args...))
}

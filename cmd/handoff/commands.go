package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
)

func newSubmitCmd(a *app) *cobra.Command {
	var rf requestFlags
	cmd := &cobra.Command{
		Use:   "submit --module PATH [flags]",
		Short: "Submit a test-generation task and print its ID at once",
		Long: `submit validates the request, snapshots the workspace and enqueues the task, then prints
the task ID alone on stdout. When no worker is alive for the database, it starts one in the
background (logging to .handoff/worker.log) unless --no-worker or HANDOFF_NO_AUTOSTART=1.`,
		Example: `  handoff submit --module internal/calc/calc.go --coverage 85
  handoff submit --module pkg/util --agent exec --idempotency-key ci-123-util`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, id, err := a.submit(cmd, &rf)
			if err != nil {
				return err
			}
			defer c.Close()
			if a.json {
				return printJSON(a.stdout, map[string]string{"task_id": id})
			}
			fmt.Fprintln(a.stdout, id)
			return nil
		},
	}
	rf.add(cmd)
	return cmd
}

func newStatusCmd(a *app) *cobra.Command {
	return a.taskCmd("status", "Show a task's state without waiting",
		func(ctx context.Context, c *handoff.Client, id string) (*handoff.TaskStatus, error) {
			return c.Status(ctx, id)
		},
		printStatus)
}

func newCancelCmd(a *app) *cobra.Command {
	return a.taskCmd("cancel", "Cancel a task; a running agent is stopped",
		func(ctx context.Context, c *handoff.Client, id string) (*handoff.TaskStatus, error) {
			return c.Cancel(ctx, id)
		},
		func(w io.Writer, st *handoff.TaskStatus) { fmt.Fprintf(w, "%s %s\n", st.ID, st.State) })
}

// taskCmd builds a command that acts on one task and prints its status.
func (a *app) taskCmd(verb, short string, do func(context.Context, *handoff.Client, string) (*handoff.TaskStatus, error),
	human func(io.Writer, *handoff.TaskStatus)) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " TASK_ID",
		Short:   short,
		Example: "  handoff " + verb + " 0193a1b2-...",
		Args:    exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := do(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.stdout, st)
			}
			human(a.stdout, st)
			return nil
		},
	}
}

func printStatus(w io.Writer, st *handoff.TaskStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", st.ID)
	fmt.Fprintf(tw, "state\t%s (attempt %d of %d)\n", st.State, st.Attempt, st.MaxAttempts)
	if st.Success != nil {
		fmt.Fprintf(tw, "success\t%v\n", *st.Success)
	}
	fmt.Fprintf(tw, "module\t%s → %s\n", st.Module, st.Output)
	fmt.Fprintf(tw, "agent\t%s\n", st.Agent)
	if st.Progress != "" {
		fmt.Fprintf(tw, "progress\t%s\n", st.Progress)
	}
	if st.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s\n", st.LastError)
	}
	fmt.Fprintf(tw, "created\t%s\n", fmtTime(&st.CreatedAt))
	fmt.Fprintf(tw, "started\t%s\n", fmtTime(st.StartedAt))
	fmt.Fprintf(tw, "completed\t%s\n", fmtTime(st.CompletedAt))
	tw.Flush()
}

func newWaitCmd(a *app) *cobra.Command {
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "wait TASK_ID",
		Short: "Wait for a task's verified result",
		Long: `wait blocks until the task ends and prints its result. Exit code 0 when the task met its
coverage threshold, 1 when it ended without success (or FAILED/CANCELLED), 124 when
--wait-timeout passed first: the task keeps running.`,
		Example: `  handoff wait 0193a1b2-... --wait-timeout 10m --json`,
		Args:    exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := wf.options()
			if err != nil {
				return err
			}
			c, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := a.results(cmd.Context(), c, args[0], opts)
			if err != nil {
				return err
			}
			return a.printResult(res)
		},
	}
	wf.add(cmd)
	return cmd
}

func newGenerateCmd(a *app) *cobra.Command {
	var (
		rf requestFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "generate --module PATH [flags]",
		Short: "Submit a task and wait for its result (the blocking form)",
		Example: `  handoff generate --module internal/calc/calc.go
  handoff generate --module src/app/util.py --agent exec --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := wf.options()
			if err != nil {
				return err
			}
			c, id, err := a.submit(cmd, &rf)
			if err != nil {
				return err
			}
			defer c.Close()
			fmt.Fprintln(a.stderr, "handoff: task", id)
			res, err := a.results(cmd.Context(), c, id, opts)
			if err != nil {
				return err
			}
			return a.printResult(res)
		},
	}
	rf.add(cmd)
	wf.add(cmd)
	return cmd
}

// noWorkerGrace is how long a waited-on task may sit QUEUED with no worker
// alive before wait and generate say so; a worker just started needs less
// than a second to register.
const noWorkerGrace = 2 * time.Second

// results waits for a task as Client.Results does, and tells the user,
// once, when the task sits QUEUED and no worker is alive to take it: a
// wait that could only end at its timeout deserves a word, not silence.
func (a *app) results(ctx context.Context, c *handoff.Client, id string, opts handoff.WaitOptions) (*handoff.Result, error) {
	watch, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(noWorkerGrace)
		defer t.Stop()
		for {
			select {
			case <-watch.Done():
				return
			case <-t.C:
			}
			st, err := c.Status(watch, id)
			if err != nil || st.State != handoff.StateQueued {
				return
			}
			if n, err := c.LiveWorkers(watch); err == nil && n == 0 {
				fmt.Fprintf(a.stderr, "handoff: task %s is QUEUED and no worker is alive for this database; "+
					"start one with `handoff worker` (a background worker logs to .handoff/worker.log)\n", id)
				return
			}
			t.Reset(5 * time.Second)
		}
	}()
	res, err := c.Results(ctx, id, opts)
	stop()
	<-done
	return res, err
}

// printResult prints a result and turns it into the exit code.
func (a *app) printResult(res *handoff.Result) error {
	if a.json {
		if err := printJSON(a.stdout, res); err != nil {
			return err
		}
	} else {
		printResult(a.stdout, res)
	}
	if res.Status == handoff.StateCompleted && res.Success {
		return nil
	}
	return &exitError{code: exitNoSuccess, err: errors.New(resultVerdict(res))}
}

func resultVerdict(res *handoff.Result) string {
	switch {
	case res.Status != handoff.StateCompleted:
		return fmt.Sprintf("task %s %s: %s", res.TaskID, res.Status, res.Error)
	case len(res.Tests.Kept) == 0:
		return fmt.Sprintf("task %s kept no test", res.TaskID)
	}
	return fmt.Sprintf("task %s reached %s coverage, below its %s threshold", res.TaskID,
		pct(res.Coverage.After), pct(res.Coverage.Threshold))
}

func printResult(w io.Writer, res *handoff.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", res.TaskID)
	fmt.Fprintf(tw, "status\t%s, success %v\n", res.Status, res.Success)
	fmt.Fprintf(tw, "module\t%s → %s\n", res.ModulePath, res.OutputPath)
	if res.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", res.Error)
	}
	fmt.Fprintf(tw, "coverage\t%s → %s (threshold %s)\n", pct(res.Coverage.Before), pct(res.Coverage.After), pct(res.Coverage.Threshold))
	fmt.Fprintf(tw, "tests\t%d kept, %d dropped\n", len(res.Tests.Kept), len(res.Tests.Dropped))
	for _, d := range res.Tests.Dropped {
		fmt.Fprintf(tw, "  dropped\t%s: %s\n", d.Name, d.Reason)
	}
	if len(res.Files) > 0 {
		fmt.Fprintf(tw, "written\t%s\n", strings.Join(res.Files, ", "))
	} else if res.Apply.Reason != "" {
		fmt.Fprintf(tw, "not applied\t%s\n", res.Apply.Reason)
	}
	if res.Apply.Stale {
		fmt.Fprintf(tw, "stale\tthe module changed meanwhile; re-dropped: %s\n", strings.Join(res.Apply.Redropped, ", "))
	}
	fmt.Fprintf(tw, "agent\t%s %s (rounds %d, attempts %d)\n", res.Agent.Name, res.Agent.Model, res.Rounds, res.Attempts)
	fmt.Fprintf(tw, "time\tqueued %dms, ran %dms (agent %dms, verify %dms)\n", res.Timings.QueuedMS, res.Timings.RunMS,
		res.Timings.AgentMS, res.Timings.VerifyMS)
	if res.LogPath != "" {
		fmt.Fprintf(tw, "log\t%s\n", res.LogPath)
	}
	tw.Flush()
}

func newListCmd(a *app) *cobra.Command {
	var (
		states []string
		label  string
		limit  int
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List tasks, newest first",
		Example: `  handoff list --state RUNNING --state QUEUED`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := handoff.ListFilter{Label: label, Limit: limit}
			for _, s := range states {
				st := handoff.State(strings.ToUpper(s))
				switch st {
				case handoff.StateQueued, handoff.StateRunning, handoff.StateCompleted, handoff.StateFailed, handoff.StateCancelled:
				default:
					return usageErr("--state %q is not one of QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED", s)
				}
				f.States = append(f.States, st)
			}
			c, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			list, err := c.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.json {
				if list == nil {
					list = []*handoff.TaskStatus{}
				}
				return printJSON(a.stdout, list)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tSTATE\tMODULE\tAGENT\tCREATED")
			for _, st := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.ID, st.State, st.Module, st.Agent, fmtTime(&st.CreatedAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringSliceVar(&states, "state", nil, "only tasks in this state (repeatable)")
	cmd.Flags().StringVar(&label, "label", "", "only tasks with this label (key=value)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many tasks")
	return cmd
}

// submit opens the client and submits the request the flags describe; on
// success the caller closes the client. It says which agent was chosen when
// none was named, and makes sure a worker will run the task.
func (a *app) submit(cmd *cobra.Command, rf *requestFlags) (*handoff.Client, string, error) {
	req, err := rf.request(cmd, a.workspace)
	if err != nil {
		return nil, "", err
	}
	c, err := a.open(cmd.Context())
	if err != nil {
		return nil, "", err
	}
	id, err := c.Submit(cmd.Context(), req)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	a.noteDefaultAgent(cmd.Context(), c, id, rf.agent)
	if err := a.ensureWorker(cmd.Context(), c, rf.noWorker); err != nil {
		fmt.Fprintln(a.stderr, "handoff: warning:", err)
	}
	return c, id, nil
}

// noteDefaultAgent tells the user which agent was chosen for them when they
// named none.
func (a *app) noteDefaultAgent(ctx context.Context, c *handoff.Client, id, asked string) {
	if asked != "" || os.Getenv("HANDOFF_AGENT") != "" {
		return
	}
	if st, err := c.Status(ctx, id); err == nil {
		fmt.Fprintf(a.stderr, "handoff: no agent named (--agent or HANDOFF_AGENT); using %s\n", st.Agent)
	}
}

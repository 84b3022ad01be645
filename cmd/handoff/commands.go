package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/human"
)

func newSubmitCmd(a *app) *cobra.Command {
	var rf requestFlags
	cmd := &cobra.Command{
		Use:   "submit --module PATH [flags]",
		Short: "Submit a test-generation task and print its ID at once",
		Long: `submit validates the request, snapshots the workspace and enqueues the task, then prints
the task ID alone on stdout. When no worker is alive for the database, it starts one in the
background (logging to .handoff/worker.log) unless --no-worker or HANDOFF_NO_AUTOSTART=1.
The task keeps the agent settings in force here and now (command line, server URL, model,
limits) whichever worker runs it. Secrets stay in the environment: a background worker runs
only tasks submitted with its own values of the agent's secrets, so when the one alive holds
others, submit starts another with this environment and says so.`,
		Example: `  handoff submit --module internal/calc/calc.go --coverage 85
  handoff submit --module pkg/util --agent exec --idempotency-key ci-123-util`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, id, err := a.submit(cmd, &rf)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
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
	return &cobra.Command{
		Use:     "status TASK_ID",
		Short:   "Show a task's state without waiting",
		Example: "  handoff status 0193a1b2-...\n  handoff status 3582fbc6 --json",
		Args:    exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.openTasks(ctx)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			st, err := c.Status(ctx, args[0])
			if err != nil {
				return a.withDatabase(c, err)
			}
			if a.json {
				return printJSON(a.stdout, st)
			}
			var cancelledBy string
			if st.State == handoff.StateCancelled {
				// Who cancelled is in the result; a final task's result is
				// read at once.
				if res, err := c.Wait(ctx, st.ID, handoff.WaitOptions{Timeout: time.Second}); err == nil {
					cancelledBy = res.CancelledBy
				}
			}
			printStatus(a.stdout, st, cancelledBy)
			return nil
		},
	}
}

func newCancelCmd(a *app) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "cancel TASK_ID",
		Short: "Cancel a task; a running agent is stopped",
		Long: `cancel asks a task to stop and says so ("cancel requested") on stderr. A queued task never
runs; a running task's agent is stopped (its processes killed, its conversation interrupted)
and the task ends CANCELLED. cancel then waits up to --wait for the final state and prints it;
a task still stopping by then is said to be, and ends on its own. Cancelling a task that has
already ended changes nothing.`,
		Example: `  handoff cancel 0193a1b2-...
  handoff cancel 0193a1b2-... --wait 0 --json`,
		Args: exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id := cmd.Context(), args[0]
			c, err := a.openTasks(ctx)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			before, err := c.Status(ctx, id)
			if err != nil {
				return a.withDatabase(c, err)
			}
			out := cancelOutput{TaskID: id, Status: before.State}
			if before.State.Final() {
				return a.printCancel(out, fmt.Sprintf("%s already ended %s; nothing to cancel", id, before.State))
			}
			st, err := c.Cancel(ctx, id)
			if err != nil {
				return err
			}
			out.Requested, out.Status = true, st.State
			fmt.Fprintf(a.stderr, "handoff: cancel requested for %s\n", id)
			// --wait 0 is one look: Results reads once before its timeout can fire.
			res, err := c.Wait(ctx, id, handoff.WaitOptions{Timeout: max(wait, time.Nanosecond), PollInterval: 100 * time.Millisecond})
			switch {
			case errors.Is(err, handoff.ErrWaitTimeout):
				out.Stopping = true
				return a.printCancel(out, fmt.Sprintf("%s is %s, still stopping; `handoff status %s` shows when it has ended", id, st.State, id))
			case err != nil:
				return err
			}
			out.Status, out.CancelledBy = res.State, res.CancelledBy
			msg := fmt.Sprintf("%s %s", id, res.State)
			if res.State != handoff.StateCancelled {
				msg += " (it ended before the cancel took effect)"
			}
			return a.printCancel(out, msg)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Second, "how long to wait for the final state (0: do not wait)")
	return cmd
}

// cancelOutput is what cancel prints with --json.
type cancelOutput struct {
	TaskID      string        `json:"task_id"`
	Requested   bool          `json:"cancel_requested"`
	Status      handoff.State `json:"status"`
	Stopping    bool          `json:"stopping,omitempty"` // the request is in, the task has not ended yet
	CancelledBy string        `json:"cancelled_by,omitempty"`
}

func (a *app) printCancel(out cancelOutput, human string) error {
	if a.json {
		return printJSON(a.stdout, out)
	}
	fmt.Fprintln(a.stdout, human)
	return nil
}

// verdict says what a COMPLETED task's result is worth: "success", or
// "BELOW" when it ended under its coverage threshold; "" before a verdict.
func verdict(st *handoff.Status) string {
	switch {
	case st.State != handoff.StateCompleted || st.Success == nil:
		return ""
	case *st.Success:
		return "success"
	}
	return "BELOW"
}

// printStatus prints a status for people; cancelledBy says who cancelled a
// CANCELLED task, when known.
func printStatus(w io.Writer, st *handoff.Status, cancelledBy string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", st.ID)
	fmt.Fprintf(tw, "state\t%s (attempt %d of %d)\n", st.State, st.Attempt, st.MaxAttempts)
	if st.State == handoff.StateCancelled {
		fmt.Fprintf(tw, "cancelled\t%s\n", cancelledHow(st.Attempt, cancelledBy))
	}
	switch v := verdict(st); v {
	case "BELOW":
		fmt.Fprintf(tw, "verdict\tBELOW: completed under the coverage threshold\n")
	case "success":
		fmt.Fprintf(tw, "verdict\tsuccess\n")
	}
	fmt.Fprintf(tw, "module\t%s → %s\n", st.Module, st.Output)
	fmt.Fprintf(tw, "agent\t%s\n", st.Agent)
	if st.Progress != "" {
		fmt.Fprintf(tw, "progress\t%s\n", st.Progress)
	}
	if st.Waiting != "" {
		fmt.Fprintf(tw, "waiting\t%s\n", st.Waiting)
	}
	if st.LastError != "" && st.State != handoff.StateCancelled {
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
			c, err := a.openTasks(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			res, err := a.results(cmd.Context(), c, args[0], opts, wf.quiet)
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
			defer c.Close(context.Background())
			fmt.Fprintln(a.stderr, "handoff: task", id)
			res, err := a.results(cmd.Context(), c, id, opts, wf.quiet)
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

// results waits for a task as Client.Wait does while a taskWatch shows its
// progress on stderr (and says when no worker is alive to take it).
func (a *app) results(ctx context.Context, c handoff.Tasks, id string, opts handoff.WaitOptions, quiet bool) (*handoff.Result, error) {
	watch := newTaskWatch(c, id, a.stderr, opts.PollInterval, quiet)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watch.run(wctx)
	}()
	res, err := c.Wait(ctx, id, opts)
	stop()
	<-done
	watch.finish(ctx, res)
	if errors.Is(err, handoff.ErrWaitTimeout) {
		state := "running"
		if st, serr := c.Status(ctx, id); serr == nil {
			state = string(st.State)
		}
		return nil, &exitError{code: exitWaitTimout, err: fmt.Errorf(
			"wait timed out after %s; task %s is still %s and goes on: `handoff wait %s` collects it later",
			human.Duration(opts.Timeout), id, state, id)}
	}
	return res, a.withDatabase(c, err)
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
	if res.State == handoff.StateCompleted && res.Success {
		return nil
	}
	return &exitError{code: exitNoSuccess, err: errors.New(resultVerdict(res))}
}

func resultVerdict(res *handoff.Result) string {
	switch {
	case res.State != handoff.StateCompleted:
		return fmt.Sprintf("task %s %s: %s", res.TaskID, res.State, res.Error)
	case len(res.Tests.Kept) == 0:
		return fmt.Sprintf("task %s kept no test", res.TaskID)
	}
	return fmt.Sprintf("task %s reached %s coverage, below its %s threshold", res.TaskID,
		pct(res.Coverage.After), pct(res.Coverage.Threshold))
}

// printResult prints a result for people. Coverage and tests are shown for
// a task that reached a verdict; one that ended without (cancelled, failed)
// says why and how far it got, with no figure it never measured.
func printResult(w io.Writer, res *handoff.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", res.TaskID)
	verdictReached := res.State == handoff.StateCompleted
	if verdictReached {
		fmt.Fprintf(tw, "status\t%s, success %v\n", res.State, res.Success)
	} else {
		fmt.Fprintf(tw, "status\t%s, no verdict\n", res.State)
	}
	fmt.Fprintf(tw, "module\t%s → %s\n", res.Module, res.Output)
	if res.State == handoff.StateCancelled {
		fmt.Fprintf(tw, "cancelled\t%s\n", cancelledHow(res.Attempts, res.CancelledBy))
	} else if res.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", res.Error)
	}
	if verdictReached {
		fmt.Fprintf(tw, "coverage\t%s → %s (threshold %s)\n", pct(res.Coverage.Before), pct(res.Coverage.After), pct(res.Coverage.Threshold))
	}
	if verdictReached || len(res.Tests.Kept)+len(res.Tests.Dropped) > 0 {
		fmt.Fprintf(tw, "tests\t%d kept, %d dropped\n", len(res.Tests.Kept), len(res.Tests.Dropped))
	}
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
	agentName := strings.TrimSpace(res.Agent.Name + " " + res.Agent.Model)
	if res.Attempts == 0 {
		fmt.Fprintf(tw, "agent\t%s (never ran)\n", agentName)
	} else {
		fmt.Fprintf(tw, "agent\t%s (rounds %d, attempts %d)\n", agentName, res.Rounds, res.Attempts)
		d := human.Duration
		fmt.Fprintf(tw, "time\tqueued %s, ran %s (agent %s, verify %s)\n", d(res.Timings.Queued), d(res.Timings.Run),
			d(res.Timings.Agent), d(res.Timings.Verify))
	}
	if res.LogPath != "" {
		fmt.Fprintf(tw, "log\t%s\n", res.LogPath)
	}
	tw.Flush()
}

// cancelledHow says when a cancelled task was stopped and by whom.
func cancelledHow(attempts int, by string) string {
	when := "while queued, before any attempt"
	if attempts > 0 {
		when = fmt.Sprintf("during attempt %d", attempts)
	}
	if by != "" {
		return "by " + by + " " + when
	}
	return when
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
			var list []*handoff.Status
			c, err := a.openTasks(cmd.Context())
			switch {
			case errors.Is(err, handoff.ErrNoDatabase):
				// No database: no task to list. Say where we looked, in
				// case the tasks are elsewhere.
				fmt.Fprintln(a.stderr, "handoff:", flagNames.Replace(err.Error()))
			case err != nil:
				return err
			default:
				defer c.Close(context.Background())
				if list, err = c.List(cmd.Context(), f); err != nil {
					return err
				}
				if len(list) == 0 {
					what := "no task"
					if len(f.States) > 0 || f.Label != "" {
						what = "no task matching " + describeFilter(f)
					}
					fmt.Fprintf(a.stderr, "handoff: %s in %s\n", what, otherDatabase(c))
				}
			}
			if a.json {
				if list == nil {
					list = []*handoff.Status{}
				}
				return printJSON(a.stdout, list)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tSTATE\tVERDICT\tMODULE\tAGENT\tCREATED")
			for _, st := range list {
				v := verdict(st)
				if v == "" {
					v = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", handoff.ShortID(st.ID), st.State, v, st.Module, st.Agent, fmtTime(&st.CreatedAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringSliceVar(&states, "state", nil, "only tasks in this state (repeatable)")
	cmd.Flags().StringVar(&label, "label", "", "only tasks with this label (key=value)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many tasks")
	return cmd
}

// describeFilter says what a list was filtered by, as its flags.
func describeFilter(f handoff.ListFilter) string {
	var parts []string
	for _, st := range f.States {
		parts = append(parts, "--state "+string(st))
	}
	if f.Label != "" {
		parts = append(parts, "--label "+f.Label)
	}
	return strings.Join(parts, " ")
}

// submit opens the client and submits the request the flags describe; on
// success the caller closes the client. It makes sure a worker will run the
// task. The agent chosen when none is named is the documented default
// (builtin for Go; other languages must name one), so it goes unsaid.
func (a *app) submit(cmd *cobra.Command, rf *requestFlags) (handoff.Tasks, string, error) {
	req, err := rf.request(cmd, a.workspace)
	if err != nil {
		return nil, "", err
	}
	if remoteMode() {
		// The server's workers run the task; the request is checked here
		// first, against this workspace, as below.
		r, err := a.remote()
		if err != nil {
			return nil, "", err
		}
		id, err := r.Submit(cmd.Context(), req)
		if err != nil {
			return nil, "", err
		}
		return r, id, nil
	}
	cfg, err := a.config(0, nil)
	if err != nil {
		return nil, "", err
	}
	// Check before Open: a rejected request must not leave a database behind.
	if err := handoff.Check(cfg, req); err != nil {
		return nil, "", err
	}
	c, err := handoff.Open(cmd.Context(), cfg)
	if err != nil {
		return nil, "", err
	}
	id, err := c.Submit(cmd.Context(), req)
	if err != nil {
		c.Close(context.Background())
		return nil, "", err
	}
	st, err := c.Status(cmd.Context(), id)
	if err != nil {
		c.Close(context.Background())
		return nil, "", err
	}
	if err := a.ensureWorker(cmd.Context(), c, rf.noWorker, []string{st.Agent}); err != nil {
		fmt.Fprintln(a.stderr, "handoff: warning:", err)
	}
	return c, id, nil
}

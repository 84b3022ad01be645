package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
)

func newPruneCmd(a *app) *cobra.Command {
	var (
		olderThan string
		keepLast  int
		dryRun    bool
	)
	cmd := &cobra.Command{
		Use:   "prune --older-than DURATION [--keep-last N]",
		Short: "Remove finished tasks, their logs and snapshots",
		Long: `prune removes finished tasks (COMPLETED, FAILED, CANCELLED): their records, results and
agent state, their River jobs, their workspace snapshots if still held and their directories
under .handoff/tasks/. Queued and running tasks are never touched. Nothing is removed unless
you ask: handoff keeps every task by default. Run it where the workspaces are: a snapshot or log
in a workspace this machine cannot see stays behind. "handoff worker --prune-older-than" does
the same every hour.`,
		Example: `  handoff prune --older-than 30d --dry-run
  handoff prune --older-than 720h --keep-last 100 --json
  handoff prune --keep-last 1000`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := pruneOptions("--older-than", olderThan, "--keep-last", keepLast)
			if err != nil {
				return err
			}
			opts.DryRun = dryRun
			c, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			rep, err := c.Prune(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if a.json {
				if err := printJSON(a.stdout, rep); err != nil {
					return err
				}
			} else if err := printPrune(a, c, rep); err != nil {
				return err
			}
			if len(rep.Skipped) > 0 {
				return fmt.Errorf("kept %d task(s) whose files could not be removed (listed above); fix that and prune again", len(rep.Skipped))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "remove tasks finished longer ago than this (e.g. 30d, 720h, 90m)")
	cmd.Flags().IntVar(&keepLast, "keep-last", 0, "keep the N most recently finished tasks whatever their age")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed and remove nothing")
	return cmd
}

// pruneOptions checks the retention flags of prune and worker.
func pruneOptions(ageFlag, age, keepFlag string, keep int) (handoff.PruneOptions, error) {
	var o handoff.PruneOptions
	d, err := parseAge(ageFlag, age)
	if err != nil {
		return o, err
	}
	if keep < 0 {
		return o, usageErr("%s %d is negative; give how many finished tasks to keep", keepFlag, keep)
	}
	if d == 0 && keep == 0 {
		return o, usageErr("say what to remove: %s DURATION (e.g. 30d), %s N, or both", ageFlag, keepFlag)
	}
	o.OlderThan, o.KeepLast = d, keep
	return o, nil
}

// parseAge is parseDuration that also takes whole days ("30d"), the unit
// retention is usually thought in.
func parseAge(flag, s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, usageErr("%s %q is not a duration; write it like 30d, 720h or 90m", flag, s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return parseDuration(flag, s)
}

func printPrune(a *app, c *handoff.Client, rep *handoff.PruneReport) error {
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	var snaps, logs, jobs, state int
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if len(rep.Tasks) > 0 {
		fmt.Fprintln(tw, "TASK\tSTATE\tFINISHED\tSNAPSHOT\tLOGS")
	}
	for _, t := range rep.Tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.State, fmtTime(&t.CompletedAt), orDash(t.Snapshot), orDash(t.Logs))
		snaps += btoi(t.Snapshot != "")
		logs += btoi(t.Logs != "")
		jobs += btoi(t.JobID != 0)
		state += t.AgentState
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Tasks) == 0 && len(rep.Skipped) == 0 {
		fmt.Fprintf(a.stderr, "handoff: no finished task to remove in %s\n", otherDatabase(c))
		return nil
	}
	fmt.Fprintf(a.stderr, "handoff: %s %d finished task(s) from %s: %d snapshot(s), %d task director(ies), %d River job(s), %d agent state entr(ies)\n",
		verb, len(rep.Tasks), c.Database(), snaps, logs, jobs, state)
	for _, s := range rep.Skipped {
		fmt.Fprintf(a.stderr, "handoff: kept %s: %s\n", s.ID, s.Error)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pruneEvery is how often a worker given --prune-older-than or
// --prune-keep-last prunes: retention is counted in days, and a prune costs
// a query when there is nothing to remove.
const pruneEvery = time.Hour

// pruneLoop prunes every pruneEvery until ctx ends. Several workers may
// prune the same database: each removes what is left.
func pruneLoop(ctx context.Context, c *handoff.Client, o handoff.PruneOptions, logger *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pruneOnce(ctx, c, o, logger)
		}
	}
}

// pruneOnce prunes and logs what it did.
func pruneOnce(ctx context.Context, c *handoff.Client, o handoff.PruneOptions, logger *slog.Logger) {
	rep, err := c.Prune(ctx, o)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		logger.Warn("prune failed", "err", err)
	default:
		if len(rep.Tasks) > 0 {
			logger.Info("pruned finished tasks", "removed", len(rep.Tasks))
		}
		for _, s := range rep.Skipped {
			logger.Warn("prune kept a task whose files could not be removed", "task_id", s.ID, "err", s.Error)
		}
	}
}

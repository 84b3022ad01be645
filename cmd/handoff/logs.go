package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
)

func newLogsCmd(a *app) *cobra.Command {
	var (
		follow bool
		every  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a task's agent log; -f follows it until the task ends",
		Long: `logs prints what the agent and verification wrote for a task, across its attempts. With -f it
keeps printing what is added until the task is final, like tail -f, then exits.`,
		Example: `  handoff logs 3f9c2a1b
  handoff logs -f "$id"`,
		Args: exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if remoteMode() {
				return usageErr("a task's log stays on the worker that ran it; through a server (HANDOFF_SERVER) logs are not available: read it on the worker, or unset HANDOFF_SERVER and point --db at the database")
			}
			c, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			return a.withDatabase(c, printLog(cmd.Context(), c, args[0], a.stdout, follow, every))
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the task is final")
	cmd.Flags().DurationVar(&every, "poll-interval", 250*time.Millisecond, "how often -f looks for more")
	return cmd
}

// printLog copies the task's log to w; following, it copies what is added
// until the task is final and the log has no more to give.
func printLog(ctx context.Context, c *handoff.Client, id string, w io.Writer, follow bool, every time.Duration) error {
	path, err := c.LogPath(ctx, id)
	if err != nil {
		return err
	}
	var offset int64
	tick := time.NewTicker(max(every, 10*time.Millisecond))
	defer tick.Stop()
	for {
		// Read the state before the file: a final task has written all it will.
		st, err := c.Status(ctx, id)
		if err != nil {
			return err
		}
		n, err := copyFrom(path, offset, w)
		offset += n
		switch {
		case errors.Is(err, fs.ErrNotExist) && (!follow || st.State.Final()):
			return fmt.Errorf("task %s (%s) has no log yet at %s", st.ID, st.State, path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return err
		case !follow || st.State.Final():
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// copyFrom copies path from offset to its current end.
func copyFrom(path string, offset int64, w io.Writer) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, f)
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/workspace"
)

func newWorkerCmd(a *app) *cobra.Command {
	var (
		concurrency int
		idleExit    string
		grace       string
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work tasks until SIGINT or SIGTERM",
		Long: `worker runs tasks from the database: it materialises each task's snapshot, runs the agent,
verifies the tests and applies the kept ones. Several workers, in several processes or on
several machines sharing a PostgreSQL database, may run at once. On SIGINT/SIGTERM it stops
taking tasks, lets running ones finish for --grace, then puts the rest back in the queue.`,
		Example: `  handoff worker --concurrency 4
  HANDOFF_DATABASE_URL=postgres://ci@db/handoff handoff worker`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			idle, err := parseDuration("--idle-exit", idleExit)
			if err != nil {
				return err
			}
			g, err := parseDuration("--grace", grace)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c, err := a.openWith(cmd.Context(), concurrency, logger)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.StartWorker(cmd.Context()); err != nil {
				return err
			}
			logger.Info("worker started", "pid", os.Getpid(), "agents", c.AgentNames())
			waitIdleOrSignal(cmd.Context(), c, idle, logger)
			logger.Info("worker stopping", "running", c.ActiveTasks())
			return c.StopWorker(context.Background(), g)
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, "tasks worked at once (default $HANDOFF_WORKERS, else 4)")
	cmd.Flags().StringVar(&idleExit, "idle-exit", "0", "exit after no task has been queued or running for this long; 0 never")
	cmd.Flags().StringVar(&grace, "grace", "30s", "on shutdown, how long running tasks may finish before they are requeued")
	return cmd
}

// waitIdleOrSignal returns when ctx ends, or when the database has had no
// live task for idle (when idle > 0).
func waitIdleOrSignal(ctx context.Context, c *handoff.Client, idle time.Duration, logger *slog.Logger) {
	if idle <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(min(time.Second, idle/2))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := c.PendingTasks(ctx)
			if err != nil || n > 0 || c.ActiveTasks() > 0 {
				last = time.Now()
				continue
			}
			if time.Since(last) >= idle {
				logger.Info("idle; exiting", "idle_for", idle)
				return
			}
		}
	}
}

// ensureWorker starts a background worker when none is alive for the
// database, unless the user said not to.
func (a *app) ensureWorker(ctx context.Context, c *handoff.Client, noWorker bool) error {
	if noWorker || os.Getenv("HANDOFF_NO_AUTOSTART") == "1" {
		return nil
	}
	n, err := c.LiveWorkers(ctx)
	if err != nil || n > 0 {
		return err
	}
	root, err := workspace.Root(orWD(a.workspace))
	if err != nil {
		return err
	}
	dir, err := workspace.EnsureStateDir(root)
	if err != nil {
		return err
	}
	// Two submits at the same moment start one worker: the second finds a
	// fresh lock and leaves it to the first.
	lock := filepath.Join(dir, "worker.autostart")
	if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) < 15*time.Second {
		return nil
	}
	if err := os.WriteFile(lock, []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "worker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	w := exec.Command(self, "worker", "--idle-exit", "60s")
	w.Dir = root
	w.Env = os.Environ()
	if a.db != "" {
		// The database URL may hold a password: hand it over in the
		// environment, never on the command line.
		w.Env = append(w.Env, "HANDOFF_DATABASE_URL="+a.db)
	}
	w.Stdout, w.Stderr = logf, logf
	w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting a background worker: %w", err)
	}
	fmt.Fprintf(a.stderr, "handoff: started a background worker (pid %d, log %s)\n", w.Process.Pid, logf.Name())
	return w.Process.Release()
}

func orWD(dir string) string {
	if dir != "" {
		return dir
	}
	wd, _ := os.Getwd()
	return wd
}

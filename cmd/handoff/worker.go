package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/workspace"
)

func newWorkerCmd(a *app) *cobra.Command {
	var (
		concurrency int
		idleExit    string
		grace       string
		card        string
		pruneAge    string
		pruneKeep   int
		agentLimit  []string
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work tasks until SIGINT or SIGTERM",
		Long: `worker runs tasks from the database: it materialises each task's snapshot, runs the agent,
verifies the tests and applies the kept ones. Several workers, in several processes or on
several machines sharing a PostgreSQL database, may run at once. On SIGINT/SIGTERM it stops
taking tasks, lets running ones finish for --grace, then puts the rest back in the queue.

Each task runs with the agent settings in force where and when it was submitted (the command
line, the names in HANDOFF_EXEC_ENV, the server URL and target, model and limits), whatever
this worker's environment says. Secrets never travel with a task: this worker runs every task
with its own (HANDOFF_EXEC_ENV's variables, OPENHANDS_API_KEY, LLM_API_KEY), and the result's
agent.secrets says "submitter" when its values are the submitter's, "worker" when they are
not. A background worker that submit starts instead gives a task with other secrets back to
the queue, and submit starts another with the submitter's environment.`,
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
			prune := pruneAge != "" || pruneKeep != 0
			var pruneOpts handoff.PruneOptions
			if prune {
				if pruneOpts, err = pruneOptions("--prune-older-than", pruneAge, "--prune-keep-last", pruneKeep); err != nil {
					return err
				}
			}
			if len(agentLimit) > 0 {
				limits, err := handoff.ParseAgentLimits(strings.Join(agentLimit, ","))
				if err != nil {
					return usageErr("--agent-limit: %v", err)
				}
				a.agentLimits = limits
			}
			logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if card != "" {
				release, err := holdCard(card)
				if err != nil {
					return err
				}
				defer release()
				a.foreignSecrets = handoff.ForeignSecretsGiveBack
			}
			c, err := a.openWith(cmd.Context(), concurrency, logger)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			if err := c.StartWorker(cmd.Context()); err != nil {
				return err
			}
			logger.Info("worker started", "pid", os.Getpid(), "agents", c.AgentNames(),
				"foreign_secrets", cmp.Or(string(a.foreignSecrets), "use own"))
			if prune {
				pruneOnce(cmd.Context(), c, pruneOpts, logger)
				pctx, stopPrune := context.WithCancel(cmd.Context())
				pruned := make(chan struct{})
				go func() { defer close(pruned); pruneLoop(pctx, c, pruneOpts, logger) }()
				defer func() { stopPrune(); <-pruned }()
			}
			waitIdleOrSignal(cmd.Context(), c, idle, logger)
			logger.Info("worker stopping", "running", c.ActiveTasks())
			return c.StopWorker(context.Background(), g)
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, fmt.Sprintf("tasks worked at once (default $HANDOFF_WORKERS, else %d)", handoff.DefaultWorkers))
	cmd.Flags().StringVar(&idleExit, "idle-exit", "0", "exit after no task has been queued or running for this long; 0 never")
	cmd.Flags().StringVar(&grace, "grace", flagDuration(handoff.DefaultShutdownGrace), "on shutdown, how long running tasks may finish before they are requeued")
	cmd.Flags().StringVar(&card, "autostart-card", "", "set by submit for a background worker: its card in .handoff/workers")
	_ = cmd.Flags().MarkHidden("autostart-card")
	cmd.Flags().StringVar(&pruneAge, "prune-older-than", "", "at start and every hour, remove tasks finished longer ago than this (as handoff prune --older-than); default keep all")
	cmd.Flags().StringSliceVar(&agentLimit, "agent-limit", nil, "at most N tasks of an agent at once, as name=N (repeatable; default $HANDOFF_AGENT_LIMITS, else openhands=3)")
	cmd.Flags().IntVar(&pruneKeep, "prune-keep-last", 0, "with pruning, keep the N most recently finished tasks whatever their age")
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
				logger.Info("idle; exiting", "idle_for", human.Duration(idle))
				return
			}
		}
	}
}

// ensureWorker makes sure a worker will run the tasks just submitted for
// agentNames with this process's secrets: it starts a background worker
// when none is alive for the database, or when the background workers alive
// hold other values of those agents' secrets (they would give the tasks
// back), unless the user said not to. Workers started with `handoff worker`
// run tasks with their own secrets; with one alive and no background
// worker, nothing is started.
func (a *app) ensureWorker(ctx context.Context, c *handoff.Client, noWorker bool, agentNames []string) error {
	if noWorker || os.Getenv("HANDOFF_NO_AUTOSTART") == "1" {
		return nil
	}
	root, err := workspace.Root(orWD(a.workspace))
	if err != nil {
		return err
	}
	dir, err := workspace.EnsureStateDir(root)
	if err != nil {
		return err
	}
	// Submits decide one at a time: two at the same moment start one worker.
	unlock, err := lockFile(filepath.Join(dir, "worker.autostart"))
	if err != nil {
		return err
	}
	defer unlock()
	secrets := secretsOf(a.agents)
	cards := liveCards(dir)
	var others []string
	for _, cd := range cards {
		var differ []string
		for _, name := range agentNames {
			differ = append(differ, cd.differ(name, secrets[name])...)
		}
		if len(differ) == 0 {
			return nil
		}
		slices.Sort(differ)
		others = append(others, fmt.Sprintf("pid %d: %s", cd.PID, strings.Join(slices.Compact(differ), ", ")))
	}
	if len(cards) == 0 {
		if n, err := c.LiveWorkers(ctx); err != nil || n > 0 {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cardf, err := newCard(dir, a.agents)
	if err != nil {
		return fmt.Errorf("starting a background worker: %w", err)
	}
	defer cardf.Close()
	logf, err := os.OpenFile(filepath.Join(dir, "worker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		os.Remove(cardf.Name())
		return err
	}
	defer logf.Close()
	w := exec.Command(self, "worker", "--idle-exit", "60s", "--autostart-card", cardf.Name())
	w.Dir = root
	w.Env = os.Environ()
	if a.db != "" {
		// The database URL may hold a password: hand it over in the
		// environment, never on the command line.
		w.Env = append(w.Env, "HANDOFF_DATABASE_URL="+a.db)
	}
	w.Stdout, w.Stderr = logf, logf
	w.ExtraFiles = []*os.File{cardf} // descriptor cardFD: the worker holds the card's lock while it lives
	detach(w)
	if err := w.Start(); err != nil {
		os.Remove(cardf.Name())
		return fmt.Errorf("starting a background worker: %w", err)
	}
	if err := writeCard(cardf, w.Process.Pid, a.agents); err != nil {
		fmt.Fprintln(a.stderr, "handoff: warning: recording the background worker's secrets:", err)
	}
	if len(others) > 0 {
		fmt.Fprintf(a.stderr, "handoff: the background worker alive holds other values of the agent's secrets (%s) "+
			"and would not run this task; started one with this environment (pid %d, log %s)\n",
			strings.Join(others, "; "), w.Process.Pid, logf.Name())
	} else {
		fmt.Fprintf(a.stderr, "handoff: started a background worker (pid %d, log %s)\n", w.Process.Pid, logf.Name())
	}
	return w.Process.Release()
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := waitLock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func orWD(dir string) string {
	if dir != "" {
		return dir
	}
	wd, _ := os.Getwd()
	return wd
}

func newWorkersCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "workers",
		Short: "List the live workers and what each can serve",
		Long: `workers lists the worker processes alive for the database: where they run, since when, their
last heartbeat, the languages they can verify (Go; Python with pytest and coverage.py), whether
generated code runs under bubblewrap there, the agents they run and their limits. A worker
only takes the tasks it can serve; status says when no live worker can serve a queued task.`,
		Example: "  handoff workers\n  HANDOFF_DATABASE_URL=postgres://ci@db/handoff handoff workers --json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, err := a.openTasks(ctx)
			if err != nil {
				return err
			}
			defer t.Close(context.Background())
			c, ok := t.(interface {
				Workers(context.Context) ([]handoff.Worker, error)
			})
			if !ok {
				return fmt.Errorf("%T cannot list workers", t)
			}
			ws, err := c.Workers(ctx)
			if err != nil {
				return err
			}
			if a.json {
				if ws == nil {
					ws = []handoff.Worker{}
				}
				return printJSON(a.stdout, ws)
			}
			if len(ws) == 0 {
				fmt.Fprintf(a.stderr, "no live worker for %s; start one with `handoff worker`\n", where(t))
				return nil
			}
			for _, w := range ws {
				printWorker(a.stdout, w)
			}
			return nil
		},
	}
}

// printWorker prints one worker for people.
func printWorker(out io.Writer, w handoff.Worker) {
	c := w.Capabilities
	sandbox := "no bubblewrap: process group only"
	if c.Bwrap {
		sandbox = "bubblewrap"
	}
	fmt.Fprintf(out, "%s pid %d, up %s, beat %s ago, %d of %d slot(s) in use, %s\n", w.Host, w.PID,
		human.Duration(time.Since(w.StartedAt)), human.Duration(time.Since(w.HeartbeatAt)), w.Running, c.Slots, sandbox)
	langs := []string{}
	if c.Go != "" {
		langs = append(langs, c.Go)
	}
	if c.Python != "" {
		langs = append(langs, "python "+c.Python)
	} else if c.PythonProblem != "" {
		langs = append(langs, "no python: "+c.PythonProblem)
	}
	fmt.Fprintf(out, "  languages: %s\n", strings.Join(langs, "; "))
	names := slices.Sorted(maps.Keys(c.Agents))
	for _, n := range names {
		line := fmt.Sprintf("  agent %s: %s", n, cmp.Or(strings.Join(c.Agents[n], ", "), "no language it serves here"))
		if l := c.AgentLimits[n]; l > 0 {
			line += fmt.Sprintf(", at most %d at once", l)
		}
		if why := c.Unconfigured[n]; why != "" {
			line += " (own configuration: " + why + ")"
		}
		fmt.Fprintln(out, line)
	}
}

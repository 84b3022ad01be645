// Command handoff hands unit-test generation to coding agents: submit a
// module, get a task ID at once, collect verified tests later.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
)

// Exit codes.
const (
	exitOK         = 0
	exitNoSuccess  = 1   // the task ended without success, FAILED or CANCELLED
	exitUsage      = 2   // bad input or usage
	exitWaitTimout = 124 // a wait timed out with the task still running
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "handoff:", flagNames.Replace(err.Error()))
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, handoff.ErrInvalidRequest), errors.Is(err, handoff.ErrNotFound),
		errors.Is(err, handoff.ErrBadDatabase), errors.Is(err, handoff.ErrNoDatabase), errors.Is(err, handoff.ErrIdempotencyConflict):
		return exitUsage
	case errors.Is(err, handoff.ErrWaitTimeout):
		return exitWaitTimout
	}
	if isUsage(err) {
		return exitUsage
	}
	return exitNoSuccess
}

// flagNames turns the Go fields that library errors name (see
// handoff.FieldError) into the flags and variables that set them here.
var flagNames = strings.NewReplacer(
	"Request.Workspace", "--workspace", "Request.Module", "--module", "Request.Output", "--output",
	"Request.Coverage", "--coverage", "Request.Agent", "--agent", "Request.Model", "--model",
	"Request.Priority", "--priority", "Request.Apply", "--apply", "Request.Timeout", "--timeout",
	"Request.TestTimeout", "--test-timeout", "Request.MaxAttempts", "--max-attempts",
	"Request.MaxRounds", "--max-rounds", "Request.Runs", "--runs", "Request.BudgetUSD", "--budget-usd",
	"Request.IdempotencyKey", "--idempotency-key", "Request.AgentSettings", "the agent's settings",
	"Config.DatabaseURL", "--db", "Config.Workspace", "--workspace",
	"PruneOptions.OlderThan", "--older-than", "PruneOptions.KeepLast", "--keep-last",
	"ListFilter.Label", "--label",
)

// app holds the global flags and opens the client.
type app struct {
	db        string
	workspace string
	json      bool
	stdout    io.Writer
	stderr    io.Writer

	agents         []agent.Agent          // as openWith configured them from the environment
	foreignSecrets handoff.ForeignSecrets // what a worker does with tasks submitted with other secrets
	agentLimits    map[string]int         // worker --agent-limit
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "handoff",
		Short: "Hand unit-test generation to coding agents and keep moving",
		Long: `handoff hands "write unit tests for this module until it reaches N % coverage" to a coding
agent. submit returns a task ID at once; a worker runs the agent in an isolated copy of the
workspace; every generated test is verified (builds, passes reliably, raises coverage) and the
kept tests are written to the workspace. Tasks live in a database (SQLite in .handoff/ by
default, or PostgreSQL), so any process can check on them.`,
		Example: `  id=$(handoff submit --module internal/calc/calc.go --coverage 80)
  handoff status "$id"
  handoff wait "$id" --wait-timeout 10m
  handoff generate --module pkg/parse --json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With Args set, cobra hands an unknown command to root as an
		// argument, and unknownCommand makes it a usage error (exit 2) like
		// an unknown flag; RunE makes a bare "handoff" print the help.
		Args:                       unknownCommand,
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", "", "database: SQLite file or postgres:// URL (default $HANDOFF_DATABASE_URL, else <workspace>/.handoff/handoff.db)")
	pf.StringVar(&a.workspace, "workspace", "", "workspace folder (default: the git root of the working directory)")
	pf.BoolVar(&a.json, "json", false, "print data as JSON")
	root.AddCommand(newSubmitCmd(a), newStatusCmd(a), newWaitCmd(a), newGenerateCmd(a), newCancelCmd(a), newApplyCmd(a),
		newListCmd(a), newWorkerCmd(a), newWorkersCmd(a), newRunCmd(a), newLogsCmd(a), newPruneCmd(a), newServeCmd(a), newTokenCmd(a), newVersionCmd(a))
	root.Version = readBuildVersion().String()
	root.SetVersionTemplate("{{.Version}}\n")
	return root
}

// openWith opens the client with every agent the environment configures,
// creating the database when needed: for commands that write.
func (a *app) openWith(ctx context.Context, workers int, logger *slog.Logger) (*handoff.Client, error) {
	cfg, err := a.config(workers, logger)
	if err != nil {
		return nil, err
	}
	return handoff.Open(ctx, cfg)
}

// openExisting opens the client for commands that only read or act on
// existing tasks: it never creates a database, and says where it looked
// when there is none.
func (a *app) openExisting(ctx context.Context) (*handoff.Client, error) {
	cfg, err := a.config(0, nil)
	if err != nil {
		return nil, err
	}
	return handoff.OpenExisting(ctx, cfg)
}

// remoteMode reports whether commands talk to a handoff server
// (HANDOFF_SERVER set) instead of the database.
func remoteMode() bool { return os.Getenv("HANDOFF_SERVER") != "" }

// remote is the client of the server HANDOFF_SERVER names, with
// HANDOFF_TOKEN.
func (a *app) remote() (*handoff.Remote, error) {
	agents, err := handoff.DefaultAgents()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	a.agents = agents
	r, err := handoff.OpenRemote(handoff.RemoteConfig{Workspace: a.workspace, Agents: agents}.FromEnv())
	if err != nil {
		return nil, usageErr("%v", flagNames.Replace(err.Error()))
	}
	return r, nil
}

// openTasks opens what commands on existing tasks act through: the server
// in remote mode, else the database (never creating one).
func (a *app) openTasks(ctx context.Context) (handoff.Tasks, error) {
	if remoteMode() {
		return a.remote()
	}
	return a.openExisting(ctx)
}

// withDatabase adds to an unknown-task error which database (or server)
// was searched and how to search another; other errors pass as they are.
func (a *app) withDatabase(t handoff.Tasks, err error) error {
	if !errors.Is(err, handoff.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%w; looked in %s", err, otherDatabase(t))
}

// otherDatabase names the database (or server) t uses and says how to
// point at another.
func otherDatabase(t handoff.Tasks) string {
	if r, ok := t.(*handoff.Remote); ok {
		return "the server " + r.Server() + " (point at another with HANDOFF_SERVER, or unset it to use a database)"
	}
	return "the database " + t.(*handoff.Client).Database() + " (point at another with --db or HANDOFF_DATABASE_URL, " +
		"or at the workspace that submitted the task with --workspace)"
}

// config is the client configuration the flags and the environment give.
func (a *app) config(workers int, logger *slog.Logger) (handoff.Config, error) {
	agents, err := handoff.DefaultAgents()
	if err != nil {
		return handoff.Config{}, usageErr("%v", err)
	}
	a.agents = agents
	cfg, err := handoff.Config{
		DatabaseURL: a.db, Workspace: a.workspace, Agents: agents, Workers: workers, Logger: logger,
		ForeignSecrets: a.foreignSecrets, AgentLimits: a.agentLimits,
	}.FromEnv()
	if err != nil {
		return handoff.Config{}, usageErr("%v", err)
	}
	return cfg, nil
}

// unknownCommand rejects an argument given to handoff itself: it names no
// command.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return usageErr("unknown command %q%s; `handoff --help` lists the commands", args[0], hint)
}

func isUsage(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.code == exitUsage
}

// where names the database or server t uses, for people.
func where(t handoff.Tasks) string {
	if r, ok := t.(*handoff.Remote); ok {
		return "the server " + r.Server()
	}
	return t.(*handoff.Client).Database()
}

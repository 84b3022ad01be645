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
	"syscall"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
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
	fmt.Fprintln(stderr, "handoff:", err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, handoff.ErrInvalidRequest), errors.Is(err, handoff.ErrNotFound),
		errors.Is(err, handoff.ErrBadDatabase), errors.Is(err, handoff.ErrIdempotencyConflict):
		return exitUsage
	case errors.Is(err, handoff.ErrWaitTimeout):
		return exitWaitTimout
	}
	if isUsage(err) {
		return exitUsage
	}
	return exitNoSuccess
}

// app holds the global flags and opens the client.
type app struct {
	db        string
	workspace string
	json      bool
	stdout    io.Writer
	stderr    io.Writer
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
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", "", "database: SQLite file or postgres:// URL (default $HANDOFF_DATABASE_URL, else <workspace>/.handoff/handoff.db)")
	pf.StringVar(&a.workspace, "workspace", "", "workspace folder (default: the git root of the working directory)")
	pf.BoolVar(&a.json, "json", false, "print data as JSON")
	root.AddCommand(newSubmitCmd(a), newStatusCmd(a), newWaitCmd(a), newGenerateCmd(a), newCancelCmd(a),
		newListCmd(a), newWorkerCmd(a), newRunCmd(a))
	return root
}

// open opens the client with every agent the environment configures.
func (a *app) open(ctx context.Context) (*handoff.Client, error) {
	return a.openWith(ctx, 0, nil)
}

func (a *app) openWith(ctx context.Context, workers int, logger *slog.Logger) (*handoff.Client, error) {
	agents, err := handoff.DefaultAgents()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return handoff.Open(ctx, handoff.Config{
		DatabaseURL: a.db, Workspace: a.workspace, Agents: agents, Workers: workers, Logger: logger,
	}.FromEnv())
}

func isUsage(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.code == exitUsage
}

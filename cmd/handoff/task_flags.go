package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/human"
)

// requestFlags are the flags that build a Request (submit, generate).
type requestFlags struct {
	module, output, agent, model, key, priority, apply string
	coverage, budget                                   float64
	timeout, testTimeout                               string
	maxAttempts, maxRounds, runs                       int
	labels                                             map[string]string
	noWorker                                           bool
}

func (f *requestFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.module, "module", "", "file (Go or Python) or Go package directory to cover (required)")
	fl.StringVar(&f.output, "output", "", "where kept tests land (default: Go <dir>/<stem>_test.go, Python tests/<path>/test_<stem>.py)")
	fl.Float64Var(&f.coverage, "coverage", handoff.DefaultCoverage, "coverage threshold in percent, 0..100")
	fl.StringVar(&f.agent, "agent", "", "agent: builtin, exec, llm, openhands (default $HANDOFF_AGENT, else builtin for Go)")
	fl.StringVar(&f.model, "model", "", "model passed to the agent (default $LLM_MODEL for llm and openhands)")
	fl.Float64Var(&f.budget, "budget-usd", 0, "stop an LLM-driven agent once the task has cost this much (0: $HANDOFF_BUDGET_USD or none)")
	fl.StringVar(&f.key, "idempotency-key", "", "same key and same request give the same task")
	fl.StringVar(&f.priority, "priority", string(handoff.DefaultPriority), "low, normal, high or critical")
	fl.StringVar(&f.timeout, "timeout", flagDuration(handoff.DefaultTimeout), "time limit for the whole task")
	fl.StringVar(&f.testTimeout, "test-timeout", flagDuration(handoff.DefaultTestTimeout), "time limit for one test run")
	fl.IntVar(&f.maxAttempts, "max-attempts", handoff.DefaultMaxAttempts, "attempts after transient failures")
	fl.IntVar(&f.maxRounds, "max-rounds", handoff.DefaultMaxRounds, "repair rounds (agent, verify, feedback)")
	fl.IntVar(&f.runs, "runs", handoff.DefaultRuns, "runs a test must pass to count as stable")
	fl.StringVar(&f.apply, "apply", string(handoff.DefaultApply), "when to write kept tests to the workspace: never, success, improved")
	fl.StringToStringVar(&f.labels, "label", nil, "label the task (key=value), for list --label")
	fl.BoolVar(&f.noWorker, "no-worker", false, "do not start a background worker when none is alive (also HANDOFF_NO_AUTOSTART=1)")
}

func (f *requestFlags) request(cmd *cobra.Command, workspace string) (handoff.Request, error) {
	if f.module == "" {
		return handoff.Request{}, usageErr("--module is required: name the file or Go package to cover")
	}
	timeout, err := parseDuration("--timeout", f.timeout)
	if err != nil {
		return handoff.Request{}, err
	}
	testTimeout, err := parseDuration("--test-timeout", f.testTimeout)
	if err != nil {
		return handoff.Request{}, err
	}
	// Zero in a Request means the default; given on the command line it is
	// a time limit too short to run anything.
	if timeout == 0 {
		return handoff.Request{}, usageErr("--timeout %q is below the minimum of %s; leave --timeout out for the default %s",
			f.timeout, human.Duration(handoff.MinTimeout), human.Duration(handoff.DefaultTimeout))
	}
	if testTimeout == 0 {
		return handoff.Request{}, usageErr("--test-timeout %q is below the minimum of %s; leave --test-timeout out for the default %s",
			f.testTimeout, human.Duration(handoff.MinTimeout), human.Duration(handoff.DefaultTestTimeout))
	}
	r := handoff.Request{
		Workspace: workspace, Module: f.module, Output: f.output, Agent: f.agent, Model: f.model,
		IdempotencyKey: f.key, Priority: handoff.Priority(f.priority), Timeout: timeout, TestTimeout: testTimeout,
		MaxAttempts: f.maxAttempts, MaxRounds: f.maxRounds, Runs: f.runs, Apply: handoff.ApplyMode(f.apply),
		Labels: f.labels, Coverage: handoff.Coverage(f.coverage), BudgetUSD: f.budget,
	}
	return r, nil
}

// flagDuration writes a default duration as a person would type it: 30m,
// not 30m0s.
func flagDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// waitFlags bound a wait (wait, generate).
type waitFlags struct {
	timeout, poll string
	quiet         bool
}

func (f *waitFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.timeout, "wait-timeout", "0", "stop waiting after this long (the task keeps running; exit code 124); 0 waits for ever")
	cmd.Flags().StringVar(&f.poll, "poll-interval", "1s", "how often to check a task worked by another process")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "show no progress on stderr (the live line on a terminal, the progress lines elsewhere)")
}

func (f *waitFlags) options() (handoff.WaitOptions, error) {
	t, err := parseDuration("--wait-timeout", f.timeout)
	if err != nil {
		return handoff.WaitOptions{}, err
	}
	p, err := parseDuration("--poll-interval", f.poll)
	if err != nil {
		return handoff.WaitOptions{}, err
	}
	return handoff.WaitOptions{Timeout: t, PollInterval: p}, nil
}

package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// Name is the name users select the agent by.
const Name = "builtin"

// Agent is the offline characterization-test generator for Go. It needs no
// network and no model. It is safe for concurrent use.
type Agent struct {
	cfg Config

	cacheOnce sync.Once
	gocache   string
	cacheErr  error
}

// New returns the builtin agent.
func New(cfg Config) *Agent {
	return &Agent{cfg: cfg.withDefaults()}
}

// Name implements agent.Agent.
func (a *Agent) Name() string { return Name }

// Languages implements agent.Agent.
func (a *Agent) Languages() []string { return []string{"go"} }

// Run implements agent.Agent: it writes one table-driven test file for the
// task's module at the task's output path, from calls it probed.
func (a *Agent) Run(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("builtin agent: %w", err)
	}
	m, err := resolveModule(t)
	if err != nil {
		return nil, fmt.Errorf("builtin agent: %w", err)
	}
	gocache, err := a.goCache(ctx)
	if err != nil {
		return nil, fmt.Errorf("builtin agent: %w", err)
	}
	g := newGeneration(a.cfg, m, t, gocache)
	rep, err := g.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("builtin agent: %w", ctx.Err())
		}
		return nil, fmt.Errorf("builtin agent: %w", err)
	}
	return rep, nil
}

// goCache finds the build cache, which the sandboxed builds must be able to
// write.
func (a *Agent) goCache(ctx context.Context) (string, error) {
	a.cacheOnce.Do(func() {
		var out, msg bytes.Buffer
		res, err := sandbox.Run(ctx, sandbox.Cmd{Args: []string{"go", "env", "GOCACHE"}, Env: goEnv(), Stdout: &out,
			Stderr: &msg, Timeout: 30 * time.Second})
		switch {
		case errors.Is(err, sandbox.ErrNotStarted):
			a.cacheErr = fmt.Errorf("the go command is needed to generate Go tests; install Go and put it on PATH: %w", err)
		case err != nil:
			a.cacheErr = err
		case res.ExitCode != 0:
			a.cacheErr = fmt.Errorf("go env GOCACHE failed: %s", strings.TrimSpace(msg.String()))
		}
		a.gocache = strings.TrimSpace(out.String())
	})
	if a.cacheErr != nil {
		err := a.cacheErr
		if ctx.Err() != nil {
			// A cancelled first call must not poison later ones.
			a.cacheOnce = sync.Once{}
		}
		return "", err
	}
	return a.gocache, nil
}

package runner

import (
	"fmt"
	"os"
	"strings"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
)

// agentFor returns the agent that runs the task: this worker's backend with
// the settings the task was submitted with, and this worker's secrets. It
// records in res whose secrets those are; when they are not the submitter's
// and the worker must not use its own (GiveBackForeign), it gives the task
// back to the queue for a worker that holds them.
func (r *Runner) agentFor(req handofftype.Request, res *handofftype.Result) (agent.Agent, error) {
	a := r.Agents[req.Agent]
	if a == nil {
		return nil, fmt.Errorf("agent %q is not available in this worker (it has %s); start the worker with the agent configured",
			req.Agent, strings.Join(names(r.Agents), ", "))
	}
	if len(req.AgentSettings) == 0 {
		return a, nil // the agent has no settings, or the task predates them
	}
	ca, ok := a.(agent.Configurable)
	if !ok {
		return nil, fmt.Errorf("agent %s of this worker cannot take the settings the task was submitted with; "+
			"run it with the handoff that submitted it", req.Agent)
	}
	ta, err := ca.WithSettings(req.AgentSettings)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", req.Agent, err)
	}
	if req.AgentSecrets == nil {
		return ta, nil
	}
	var own map[string]string
	if c, ok := ta.(agent.Configurable); ok {
		own = c.Secrets()
	}
	switch differ := req.AgentSecrets.Differ(own); {
	case len(differ) == 0:
		res.Agent.Secrets = handofftype.SecretsSubmitter
	case r.GiveBackForeign:
		return nil, fmt.Errorf("%w: this auto-started worker (pid %d) holds other values of %s than the submitter; "+
			"waiting for a worker with the submitter's (submitting from that environment starts one, or run `handoff worker` there)",
			engine.ErrGiveBack, os.Getpid(), strings.Join(differ, ", "))
	default:
		res.Agent.Secrets = handofftype.SecretsWorker
	}
	return ta, nil
}

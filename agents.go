package handoff

import (
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/builtin"
	agentexec "github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/agent/llm"
	"github.com/handoff-dev/handoff/agent/openhands"
)

// DefaultAgents returns every backend handoff ships, configured from the
// environment: builtin (HANDOFF_BUILTIN_*), exec (HANDOFF_EXEC_*) and
// openhands (OPENHANDS_URL, LLM_*). An agent that is not configured is still
// listed; Submit explains what it lacks when a request names it.
func DefaultAgents() ([]agent.Agent, error) {
	bcfg, err := builtin.FromEnv()
	if err != nil {
		return nil, err
	}
	return []agent.Agent{
		builtin.New(bcfg),
		agentexec.New(agentexec.FromEnv()),
		openhands.New(openhands.FromEnv()),
		llm.New(llm.FromEnv()),
	}, nil
}

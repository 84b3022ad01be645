package llm_test

import (
	"testing"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/llm"
	"github.com/handoff-dev/handoff/agent/llm/llmtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Run(t, agenttest.Harness{
		New: func(t *testing.T) agent.Agent {
			b := setup(t)
			b.srv.Handle(fixtureAnswer)
			return llm.New(b.cfg)
		},
		Slow: func(t *testing.T) agent.Agent {
			b := setup(t)
			b.srv.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Hang: true} })
			return llm.New(b.cfg)
		},
	})
}

package openhands_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T, sc openhandstest.Scenario, upload bool) agent.Agent {
		srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: sessionKey, Scenario: sc})
		cfg := fastConfig(srv.URL)
		if upload {
			cfg.Workspace, cfg.UploadDir = openhands.WorkspaceUpload, t.TempDir()
		}
		a := openhands.New(cfg)
		require.NoError(t, a.Check())
		return a
	}
	for _, mode := range []struct {
		name   string
		upload bool
	}{{"shared", false}, {"upload", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			agenttest.Run(t, agenttest.Harness{
				New: func(t *testing.T) agent.Agent {
					return build(t, openhandstest.Scenario{FilesFunc: fixtureFiles}, mode.upload)
				},
				Slow: func(t *testing.T) agent.Agent {
					return build(t, openhandstest.Scenario{Kind: openhandstest.NeverFinish, FilesFunc: fixtureFiles}, mode.upload)
				},
			})
		})
	}
}

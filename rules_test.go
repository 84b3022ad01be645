package handoff_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/testenv"
	"github.com/handoff-dev/handoff/internal/verify"
)

// Where kept tests may land and what a module may be are decided once, in
// verify: Submit and a pipeline file's validation refuse the same outputs
// with the same words, and agree on which files are test files.
func TestSubmitAndPipelineShareTheRules(t *testing.T) {
	t.Parallel()
	ws := testenv.GitRepo(t, map[string]string{"app.py": "def f():\n    return 1\n", "tests/test_app.py": "", "x/y.go": "package x\n"})
	cfg := handoff.Config{Workspace: ws, Agents: []agent.Agent{&scripted{langs: []string{"go", "python"}}}, DefaultAgent: "scripted"}

	for _, output := range []string{"tests/conftest.py", "conftest.py", ".handoff/test_x.py", "tests/helpers.py"} {
		rule := verify.CheckOutput(verify.LanguagePython, output)
		require.Error(t, rule, output)

		err := handoff.Check(cfg, handoff.Request{Module: "app.py", Output: output})
		require.ErrorIs(t, err, handoff.ErrInvalidRequest, output)
		require.ErrorContains(t, err, rule.Error(), "Submit says what verify says")

		_, err = pipeline.Parse("p.yml", []byte("stages:\n  gen:\n    generate:\n      modules: [app.py]\n      output: "+output+"\n"))
		require.ErrorIs(t, err, pipeline.ErrInvalid, output)
		require.ErrorContains(t, err, rule.Error(), "the pipeline file's check says what verify says")
	}

	// A Python test file is no module, for Submit as for a pipeline.
	err := handoff.Check(cfg, handoff.Request{Module: "tests/test_app.py"})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.ErrorContains(t, err, "is a test file")
	require.NoError(t, handoff.Check(cfg, handoff.Request{Module: "app.py", Output: "tests/test_app_more.py"}))
	require.NoError(t, handoff.Check(cfg, handoff.Request{Module: "x/y.go"}))
}

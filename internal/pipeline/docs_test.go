package pipeline

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsExamplesAreValid keeps docs/pipelines.md honest: every YAML
// example in it loads, and the first is examples/inventory/pipeline.yml.
func TestDocsExamplesAreValid(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/pipelines.md")
	require.NoError(t, err)
	blocks := yamlBlock.FindAllSubmatch(doc, -1)
	require.GreaterOrEqual(t, len(blocks), 2)
	for i, b := range blocks {
		_, err := Parse("docs/pipelines.md", b[1])
		require.NoError(t, err, "YAML example %d", i+1)
	}
	example, err := os.ReadFile(exampleDir + "/pipeline.yml")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(example), string(blocks[0][1])),
		"the first example of docs/pipelines.md is the end of examples/inventory/pipeline.yml")
}

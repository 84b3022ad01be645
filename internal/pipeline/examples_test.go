package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const exampleDir = "../../examples/inventory"

var exampleModules = []string{"orders/orders.go", "pricing/pricing.go", "report/report.go", "sku/sku.go", "stock/stock.go"}

func TestExamplePipelinesLoad(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"pipeline.yml", "benchmark.yml"} {
		p, err := Load(filepath.Join(exampleDir, name))
		require.NoError(t, err, name)
		require.Equal(t, 5, p.Concurrency, name)
		gen := p.Stage("generate-tests")
		require.NotNil(t, gen, name)
		mods, err := resolveModules(exampleDir, gen.Generate.Modules)
		require.NoError(t, err, name)
		require.Equal(t, exampleModules, mods, "the design note's five modules")
		require.Equal(t, []string{"staging-deploy", "generate-tests"}, p.Stage("collect-tests").Needs)
	}
}

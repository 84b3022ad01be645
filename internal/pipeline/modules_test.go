package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveModules(t *testing.T) {
	t.Parallel()
	const ws = "testdata/modules"
	cases := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"*.go"}, []string{"sku.go"}}, // test file and generated code left out
		{[]string{"**/*.go"}, []string{"sku.go", "stock/deep/deeper.go", "stock/stock.go"}},
		{[]string{"stock/*"}, []string{"stock/deep", "stock/stock.go"}}, // a package directory is a module
		{[]string{"py/*.py"}, []string{"py/app.py"}},
		{[]string{"**/*.py"}, []string{"py/app.py"}}, // tests/ directories are test code
		{[]string{"stock", "sku.go", "*.go"}, []string{"stock", "sku.go"}},
	}
	for _, c := range cases {
		got, err := resolveModules(ws, c.patterns)
		require.NoError(t, err, "%v", c.patterns)
		require.Equal(t, c.want, got, "%v", c.patterns)
	}

	bad := map[string]string{
		"sku_test.go":      `module "sku_test.go" is a test file; name the code under test instead`,
		"zz_generated.go":  `is generated code`,
		"missing.go":       `module "missing.go" does not exist`,
		"empty":            `is a directory without Go source files`,
		"README.md":        `is neither Go nor Python source`,
		"nothing/**/*.go":  `modules pattern "nothing/**/*.go" matched no module`,
		"py/test_*.py":     `matched no module`,
		"py/tests/*.py":    `matched no module`,
		"py/gen_pb2.py":    `is generated code`,
		"vendor/v/*.go":    `matched no module`,
		"testdata/*.go":    `matched no module`,
		".hidden/h.go":     ``, // named literally, a hidden directory is the user's choice
		"stock/deep/*.go":  ``,
		"py/conftest.py":   `is a test file`,
		"stock/../sku.go":  ``,
		"./stock/stock.go": ``,
	}
	for pattern, want := range bad {
		_, err := resolveModules(ws, []string{pattern})
		if want == "" {
			require.NoError(t, err, pattern)
			continue
		}
		require.ErrorContains(t, err, want, pattern)
	}
}

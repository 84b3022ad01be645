package handofftype_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// TestJSONNamesStay: scripts read the JSON the CLI prints and the database
// stores by these names; durations are whole milliseconds under "_ms"
// names, and read back as the same durations.
func TestJSONNamesStay(t *testing.T) {
	t.Parallel()
	in := handofftype.Result{TaskID: "t", State: handofftype.StateCompleted, Success: true, Module: "calc.go", Output: "calc_test.go",
		Coverage: handofftype.Coverage{Before: 10, After: 90, Threshold: 80},
		Tests:    handofftype.Tests{Kept: []string{"TestAdd"}},
		Timings: handofftype.Timings{Queued: 12 * time.Millisecond, Run: 3 * time.Second, Baseline: time.Second,
			Agent: 1500 * time.Millisecond, Verify: 400 * time.Millisecond},
		Commands:    []handofftype.CommandRun{{Command: "go test", Duration: 250 * time.Millisecond, ExitCode: 1}},
		Containment: "bwrap"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, "COMPLETED", m["status"])
	require.Equal(t, true, m["success"])
	require.Equal(t, "calc.go", m["module_path"])
	require.Equal(t, "calc_test.go", m["output_path"])
	require.Equal(t, "bwrap", m["containment"])
	require.Equal(t, 90.0, m["coverage"].(map[string]any)["after"])
	require.Equal(t, []any{"TestAdd"}, m["tests"].(map[string]any)["kept"])
	require.Equal(t, map[string]any{"queued_ms": 12.0, "run_ms": 3000.0, "baseline_ms": 1000.0, "agent_ms": 1500.0, "verify_ms": 400.0},
		m["timings"])
	require.Equal(t, map[string]any{"command": "go test", "duration_ms": 250.0, "exit_code": 1.0}, m["commands"].([]any)[0])

	var out handofftype.Result
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
}

// TestEveryFieldDocumented: users read the fields in go doc, so each
// exported field has a comment, its own or a shared one naming it.
func TestEveryFieldDocumented(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	checked := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ParseComments)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			shared := ""
			for _, fld := range st.Fields.List {
				if fld.Doc != nil {
					shared = fld.Doc.Text()
				}
				for _, name := range fld.Names {
					if !name.IsExported() {
						continue
					}
					checked++
					if fld.Doc == nil && !strings.Contains(shared, name.Name) {
						t.Errorf("%s.%s has no doc comment", ts.Name.Name, name.Name)
					}
				}
			}
			return true
		})
	}
	require.Greater(t, checked, 60, "the fields of Request, Status and Result")
}

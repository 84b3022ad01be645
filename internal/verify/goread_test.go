package verify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// ReadGoTestJSON is verification's own reading of go test -json, shared with
// the builtin agent: failed tests and subtests, and the transcript a person
// would have seen.
func TestReadGoTestJSON(t *testing.T) {
	t.Parallel()
	out := `{"Action":"run","Test":"TestAdd"}
{"Action":"output","Test":"TestAdd","Output":"=== RUN   TestAdd\n"}
{"Action":"run","Test":"TestAdd/zero"}
{"Action":"output","Test":"TestAdd/zero","Output":"    calc_test.go:9: got 1, want 0\n"}
{"Action":"fail","Test":"TestAdd/zero"}
{"Action":"run","Test":"TestAdd/one"}
{"Action":"pass","Test":"TestAdd/one"}
{"Action":"fail","Test":"TestAdd"}
{"Action":"run","Test":"TestSub"}
{"Action":"pass","Test":"TestSub"}
{"Action":"run","Test":"TestDiv"}
{"Action":"output","Test":"TestDiv","Output":"panic: runtime error: integer divide by zero\n"}
not json: printed by the binary
{"Action":"fail"}
`
	run := ReadGoTestJSON([]byte(out))
	require.Equal(t, []string{"TestAdd", "TestDiv"}, run.Failed, "TestDiv started and never ended: the binary died under it")
	require.Equal(t, []string{"TestAdd/zero"}, run.FailedSubtests)
	require.Contains(t, run.Output, "calc_test.go:9: got 1, want 0\n")
	require.Contains(t, run.Output, "not json: printed by the binary\n")
	require.Contains(t, run.Output, "integer divide by zero")
}

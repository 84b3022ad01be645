package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersion: `handoff version` and `handoff --version` print the same
// line from the build information, and --json the same facts as data.
func TestVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	plain := e.run(nil, "version")
	require.Equal(t, 0, plain.code, plain.stderr)
	require.True(t, strings.HasPrefix(plain.stdout, "handoff "), plain.stdout)
	require.True(t, strings.HasSuffix(plain.stdout, " "+runtime.Version()+"\n"), plain.stdout)
	flag := e.run(nil, "--version")
	require.Equal(t, plain.stdout, flag.stdout)

	js := e.run(nil, "version", "--json")
	require.Equal(t, 0, js.code, js.stderr)
	var v buildVersion
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &v))
	require.Equal(t, runtime.Version(), v.Go)
	require.NotEmpty(t, v.Version)
}

package workspace

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A snapshot goes into its task's record and comes back the same; a record
// holding none, or a damaged one, reads as no snapshot (ID ""), which its
// runner refuses and nobody releases.
func TestSnapshotStoredInTheRecord(t *testing.T) {
	t.Parallel()
	s := Snapshot{ID: "task-1", Workspace: "/ws", Kind: KindGit, Ref: "0123abcd"}
	v, err := s.Value()
	require.NoError(t, err)
	for _, src := range []any{v, []byte(v.(string))} {
		var got Snapshot
		require.NoError(t, got.Scan(src))
		require.Equal(t, s, got)
	}
	for _, src := range []any{nil, "", "{}", "not json", []byte(`{"id": 7}`)} {
		got := s
		require.NoError(t, got.Scan(src), "%v", src)
		require.Equal(t, Snapshot{}, got, "%v", src)
	}
	var got Snapshot
	require.Error(t, got.Scan(42))
}

// A server's answer names no path: a task ID that is not one is refused
// before anything is written.
func TestRemoteTaskFileRefusesNonIDs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, id := range []string{"../x", "a/b", "", "/etc/passwd"} {
		require.Error(t, WriteRemoteTask(root, id, []byte("{}")), id)
	}
	require.NoDirExists(t, filepath.Join(root, StateDirName))
	require.NoError(t, WriteRemoteTask(root, "01a2-task", []byte("{}")))
	p, err := RemoteTaskFile(root, "01a2-task")
	require.NoError(t, err)
	require.FileExists(t, p)
}

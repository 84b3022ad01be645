package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

func needBwrap(t *testing.T) {
	t.Helper()
	testenv.LookPath(t, "bwrap", "apt-get install bubblewrap")
	if !sandbox.BwrapAvailable() {
		testenv.Missing(t, "a working bubblewrap", "bwrap is installed but cannot create a sandbox here (user namespaces off?)")
	}
}

// An isolated command sees /usr, a curated /etc and what it is given; the
// home directory, /root, /var and the secrets of /etc are not there.
func TestViewHidesHomeAndEtcSecrets(t *testing.T) {
	t.Parallel()
	needBwrap(t)
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	dir := t.TempDir()
	ro := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ro, "lib.txt"), []byte("library"), 0o644))
	script := `for f in /etc/shadow /etc/gshadow /etc/sudoers /etc/ssh /etc/ssl/private "$HOME/.ssh" /var/log /srv /mnt; do
  ls -A "$f" 2>/dev/null | head -1 | sed "s|^|VISIBLE $f: |"
done
[ -z "$(ls -A "$HOME")" ] && echo home-empty
[ -z "$(ls -A /root)" ] && echo root-empty
grep -q '^root:' /etc/passwd && echo passwd-ok
cat ` + filepath.Join(ro, "lib.txt") + `; echo
echo x > ` + filepath.Join(ro, "w.txt") + ` 2>/dev/null && echo WROTE-READONLY
echo ok > inside.txt && echo wrote-dir`
	var out bytes.Buffer
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", script}, Dir: dir,
		Isolate: true, ReadOnly: []string{ro, home, "/"}, Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	require.Equal(t, sandbox.ContainmentBwrap, res.Containment)
	require.Empty(t, res.Gaps)
	got := out.String()
	require.NotContains(t, got, "VISIBLE")
	for _, want := range []string{"home-empty", "root-empty", "passwd-ok", "library", "wrote-dir"} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, "WROTE-READONLY")
	require.NoFileExists(t, filepath.Join(ro, "w.txt"))
}

// Without bubblewrap an isolated run says what it lacks.
func TestProcessGroupRunNamesItsGaps(t *testing.T) {
	t.Parallel()
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"true"}, Dir: t.TempDir()})
	require.NoError(t, err)
	require.Empty(t, res.Gaps, "a run that asks for no isolation lacks nothing it asked for")
	if sandbox.BwrapAvailable() {
		return
	}
	res, err = sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"true"}, Dir: t.TempDir(), Isolate: true})
	require.NoError(t, err)
	require.Equal(t, sandbox.ContainmentProcessGroup, res.Containment)
	require.True(t, strings.Contains(strings.Join(res.Gaps, "\n"), "file system"))
}

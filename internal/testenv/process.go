package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// PIDNamespaces skips t, or fails it under HANDOFF_REQUIRE_ALL=1, where
// sandboxed commands cannot get a PID namespace of their own, for tests of
// what only a namespace guarantees (nothing outlives a killed worker).
func PIDNamespaces(t testing.TB) {
	t.Helper()
	if sandbox.DefaultContainment() != sandbox.ContainmentPIDNamespace {
		Missing(t, "PID namespaces", "run as root, or allow unprivileged user namespaces "+
			"(user.max_user_namespaces > 0; on Ubuntu, kernel.apparmor_restrict_unprivileged_userns=0)")
	}
}

// Processes lists the live processes whose command line holds marker, as
// "pid argv". Zombies have an empty command line: they are dead and not
// listed. Tests mark the processes they start with a unique word in argv
// (sh -c 'sleep 300; :' MARKER) because a PID read inside a sandbox is the
// sandbox's, not the host's.
func Processes(marker string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, filepath.Base(d)+" "+strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")))
		}
	}
	return out
}

// NoProcesses waits until no live process holds marker in its command
// line, and fails t when some still do after within.
func NoProcesses(t testing.TB, marker string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := Processes(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes marked %q still alive after %s:\n%s", marker, within, strings.Join(left, "\n"))
		}
		time.Sleep(10 * time.Millisecond) // polling the process table, with a deadline
	}
}

//go:build !unix

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ErrNoProcessGroups: handoff contains the commands it runs (agents,
// generated tests, pipeline stages) in process groups, which this system
// lacks.
var ErrNoProcessGroups = errors.New("handoff runs agents, tests and pipeline commands only on Linux and macOS, where it can contain them in process groups; on Windows, run handoff under WSL")

// OwnGroup refuses: there are no process groups here to contain cmd in.
func OwnGroup(cmd *exec.Cmd) error { return ErrNoProcessGroups }

// SignalGroup kills the process pid; there is no group to reach.
func SignalGroup(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// processGone cannot tell here: it says the process may still be there.
func processGone(int) bool { return false }

// killPID kills one process.
func killPID(pid int) { SignalGroup(pid, 0) }

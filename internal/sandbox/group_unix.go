//go:build unix

package sandbox

import (
	"os/exec"
	"syscall"
)

// OwnGroup makes cmd start in a process group of its own, so that
// SignalGroup reaches every process it starts.
func OwnGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return nil
}

// SignalGroup sends sig to the process group that the process pid leads.
func SignalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}

// processGone tells whether no process has the given pid.
func processGone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

// killPID kills one process.
func killPID(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

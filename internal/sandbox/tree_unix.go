//go:build unix && !linux

package sandbox

import (
	"os/exec"
	"syscall"
)

// tree is how one run's process tree is contained and ended: here, as its
// process group, killed at the end of the run.
type tree struct{ cmd *exec.Cmd }

// DefaultContainment is the containment of a command run without
// isolation: ContainmentProcessGroup here.
func DefaultContainment() string { return ContainmentProcessGroup }

func contain(cmd *exec.Cmd, _ bool) (*tree, string) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &tree{cmd: cmd}, ContainmentProcessGroup
}

func (t *tree) run() (wait func() error, err error) {
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	return t.cmd.Wait, nil
}

func (t *tree) kill() {
	if t.cmd.Process != nil {
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	}
}

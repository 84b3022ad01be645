package sandbox

import "os/exec"

// tree is how one run's process tree is contained and ended: here, only the
// command's own process is killed.
type tree struct{ cmd *exec.Cmd }

// DefaultContainment is the containment of a command run without
// isolation: ContainmentProcessGroup here.
func DefaultContainment() string { return ContainmentProcessGroup }

func contain(cmd *exec.Cmd, _ bool) (*tree, string) { return &tree{cmd: cmd}, ContainmentProcessGroup }

func (t *tree) run() (wait func() error, err error) {
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	return t.cmd.Wait, nil
}

func (t *tree) kill() {
	if t.cmd.Process != nil {
		_ = t.cmd.Process.Kill()
	}
}

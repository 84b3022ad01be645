package verify

import (
	"context"
	"os"
	"os/exec"
)

// execCommand runs a command outside any sandbox, for checks the tests make
// as a user would.
func execCommand(ctx context.Context, dir, name string, args ...string) (string, error) {
	return execCommandEnv(ctx, dir, nil, name, args...)
}

// execCommandEnv is execCommand with variables added to the environment.
func execCommandEnv(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

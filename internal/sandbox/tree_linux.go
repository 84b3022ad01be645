//go:build linux

package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// A command's process tree ends with the command, whatever ends it: its own
// exit, the timeout, cancellation, or the death of the process that started
// it (a worker killed with SIGKILL).
//
//   - pid-namespace: the command is the first process (init) of a new PID
//     namespace, with a user namespace mapping the caller's own uid and gid
//     when the caller is not root. When init ends, the kernel kills every
//     other process in the namespace, setsid and double-forked ones
//     included, before init is reaped. init gets SIGKILL when its parent
//     dies (PR_SET_PDEATHSIG). The network and the file system are the
//     caller's; /proc too, so its numbers are the host's, not the getpid()
//     the command sees.
//   - bwrap: bubblewrap's own PID namespace, with --die-with-parent, and
//     PR_SET_PDEATHSIG on bwrap itself.
//   - process-group: the fallback where namespaces cannot be made (a
//     container without the privilege, HANDOFF_NO_PIDNS=1). The group is
//     killed, the leader gets PR_SET_PDEATHSIG, and every process that still
//     carries the run's marker in its environment is killed at the end of
//     the run. Descendants that left the group and cleared their environment
//     escape it, and only the leader dies with the caller.
//
// PR_SET_PDEATHSIG fires when the thread that started the child ends, not
// the process: start locks its goroutine to its thread until the child has
// been reaped, so the Go runtime cannot retire that thread under it. A
// caller killed in the microseconds between clone and the child's prctl is
// not noticed inside a namespace (the child's getppid is 0 there, so Go's
// own "parent already gone" check cannot tell).

// markerEnv names the variable that marks a run's processes in the
// process-group fallback.
const markerEnv = "HANDOFF_SANDBOX_RUN"

var (
	pidnsOnce sync.Once
	pidnsErr  error
	runSeq    atomic.Uint64
)

// pidNamespaceAvailable reports whether commands can start in their own PID
// namespace here, probing once.
func pidNamespaceAvailable() bool {
	pidnsOnce.Do(func() {
		if os.Getenv("HANDOFF_NO_PIDNS") == "1" {
			pidnsErr = errors.New("HANDOFF_NO_PIDNS=1")
			return
		}
		probe := "/bin/true"
		if p, err := exec.LookPath("true"); err == nil {
			probe = p
		}
		cmd := exec.Command(probe)
		cmd.SysProcAttr = namespaceAttr()
		pidnsErr = start(cmd, func() error { return cmd.Wait() })
	})
	return pidnsErr == nil
}

// DefaultContainment is the containment of a command run without
// isolation, or with it where bubblewrap is missing: ContainmentPIDNamespace
// where the machine can make PID namespaces, else ContainmentProcessGroup.
func DefaultContainment() string {
	if pidNamespaceAvailable() {
		return ContainmentPIDNamespace
	}
	return ContainmentProcessGroup
}

// namespaceAttr starts a process as init of a new PID namespace that dies
// with its parent.
func namespaceAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: syscall.CLONE_NEWPID}
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		// Unprivileged: a user namespace owns the PID namespace. The
		// command keeps its uid and gid; setgroups stays denied.
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	}
	return a
}

// tree is how one run's process tree is contained and ended.
type tree struct {
	cmd    *exec.Cmd
	marker string // the process-group fallback's environment marker
}

// contain sets cmd up so that its whole tree can be ended, and returns the
// containment it gets. bwrap says whether cmd is bubblewrap, which makes
// its own PID namespace.
func contain(cmd *exec.Cmd, bwrap bool) (*tree, string) {
	t := &tree{cmd: cmd}
	switch {
	case bwrap:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		return t, ContainmentBwrap
	case pidNamespaceAvailable():
		cmd.SysProcAttr = namespaceAttr()
		return t, ContainmentPIDNamespace
	default:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		t.marker = fmt.Sprintf("%d.%d", os.Getpid(), runSeq.Add(1))
		cmd.Env = append(cmd.Env, markerEnv+"="+t.marker)
		return t, ContainmentProcessGroup
	}
}

// start starts cmd on a goroutine locked to its OS thread, then calls wait
// (which must reap cmd) on it, keeping the thread until wait returns. It
// returns once cmd has started, or failed to.
func start(cmd *exec.Cmd, wait func() error) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = wait()
	}()
	return <-started
}

// run starts the tree's command and returns a function that waits for it.
func (t *tree) run() (wait func() error, err error) {
	waited := make(chan error, 1)
	if err := start(t.cmd, func() error {
		err := t.cmd.Wait()
		waited <- err
		return err
	}); err != nil {
		return nil, err
	}
	return func() error { return <-waited }, nil
}

// kill ends every process of the tree. It may be called more than once.
func (t *tree) kill() {
	if t.cmd.Process == nil {
		return
	}
	// The group's leader is the namespace's init where there is one: with
	// it goes every process of the namespace.
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	if t.marker != "" {
		killMarked(markerEnv + "=" + t.marker)
	}
}

// killMarked kills every process whose environment holds the entry kv,
// reading the list again while it finds new ones (one may fork while the
// list is read).
func killMarked(kv string) {
	want := append([]byte(kv), 0)
	self := os.Getpid()
	killed := map[int]bool{}
	for range 10 {
		found := false
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			pid, err := strconv.Atoi(filepath.Base(d))
			if err != nil || pid == self || killed[pid] {
				continue
			}
			env, err := os.ReadFile(filepath.Join(d, "environ"))
			if err != nil || !hasEntry(env, want) {
				continue
			}
			found, killed[pid] = true, true
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if !found {
			return
		}
	}
}

// hasEntry reports whether the NUL-separated environ holds entry (which
// ends in NUL).
func hasEntry(environ, entry []byte) bool {
	return bytes.HasPrefix(environ, entry) || bytes.Contains(environ, append([]byte{0}, entry...))
}

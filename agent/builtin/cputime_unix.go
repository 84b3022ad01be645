//go:build unix

package builtin

import (
	"syscall"
	"time"
)

// cpuTime is the processor time used so far by this process and the
// children it waited for. On a shared machine the wall time of a
// generation says more about the other work than about this one, so the
// log gives both.
func cpuTime() (time.Duration, bool) {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return 0, false
	}
	d := func(tv syscall.Timeval) time.Duration { return time.Duration(tv.Nano()) }
	return d(self.Utime) + d(self.Stime) + d(children.Utime) + d(children.Stime), true
}

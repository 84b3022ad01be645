package verify

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// limitSigns tell from a failing test's output which limit of its run it
// reached: the errors the kernel gives past each limit, as Go and Python
// word them, and the Go runtime's own words when it cannot get memory or
// a thread.
var limitSigns = []struct {
	limit string
	re    *regexp.Regexp
}{
	{sandbox.LimitWrite, regexp.MustCompile(`(?i)file too large|file size limit exceeded|no space left on device|\[errno 2[78]\]`)},
	{sandbox.LimitMemory, regexp.MustCompile(`(?i)out of memory|\bMemoryError\b|cannot allocate memory|\[errno 12\]`)},
	{sandbox.LimitProcesses, regexp.MustCompile(`(?i)resource temporarily unavailable|failed to create new OS thread|cannot fork|\[errno 11\]|pthread_create failed`)},
}

// limitReached returns the limit a failing test's output shows it reached,
// or "" when it shows none of the limits in force.
func (a *acceptance) limitReached(out string) string {
	l := a.s.o.Limits
	on := map[string]bool{sandbox.LimitWrite: l.WriteBytes > 0, sandbox.LimitMemory: l.MemoryBytes > 0, sandbox.LimitProcesses: l.Processes > 0}
	for _, s := range limitSigns {
		if on[s.limit] && s.re.MatchString(out) {
			return s.limit
		}
	}
	return ""
}

// killedSign is the end of a test process the kernel killed.
var killedSign = regexp.MustCompile(`(?i)signal: killed|\bkilled\b|died while it ran`)

// dropFailure drops a test that failed: for reaching a limit of its run
// when its output says so, or when it was killed in a run whose memory
// cgroup counted an OOM kill (hit); else for reason.
func (a *acceptance) dropFailure(c *candidate, reason, out string, st int, hit []string) {
	limit := a.limitReached(out)
	if limit == "" && slices.Contains(hit, sandbox.LimitMemory) && killedSign.MatchString(out) {
		limit = sandbox.LimitMemory
	}
	if limit != "" {
		a.drop(c, ReasonResourceLimit, a.limitText(limit)+"\n"+out, st)
		return
	}
	a.drop(c, reason, out, st)
}

// limitText is the first line of a resource_limit excerpt: which limit,
// how much, and the variable that sets it.
func (a *acceptance) limitText(limit string) string {
	l := a.s.o.Limits
	switch limit {
	case sandbox.LimitWrite:
		return fmt.Sprintf("resource limit: write — at most %s per file and per temporary file system (HANDOFF_LIMIT_WRITE)", fmtBytes(l.WriteBytes))
	case sandbox.LimitProcesses:
		return fmt.Sprintf("resource limit: processes — at most %d processes and threads at once (HANDOFF_LIMIT_PROCESSES)", l.Processes)
	case sandbox.LimitMemory:
		return fmt.Sprintf("resource limit: memory — at most %s (HANDOFF_LIMIT_MEMORY)", fmtBytes(l.MemoryBytes))
	}
	return "resource limit: " + limit
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

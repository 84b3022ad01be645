package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one run may use. A zero field sets no limit.
//
// How each is enforced, and why so: the limits must hold from the first
// instruction of the command, so they are set by a wrapper before the
// command starts (prlimit from util-linux, and a shell that joins the
// run's cgroups), not applied to the process after it has started and
// perhaps forked.
type Limits struct {
	// WriteBytes caps the size of any file the run writes (RLIMIT_FSIZE:
	// the write fails with EFBIG) and the size of each of its tmpfs mounts
	// under bubblewrap (/tmp, $HOME, …: ENOSPC).
	WriteBytes int64
	// Processes caps the processes and threads the run has at once: a pids
	// cgroup of its own where one can be made; else, under bubblewrap for
	// a user other than root, RLIMIT_NPROC inside bubblewrap's user
	// namespace (root is exempt from RLIMIT_NPROC).
	Processes int
	// MemoryBytes caps each process's address space (RLIMIT_AS: the
	// allocation fails at once) and, where a memory cgroup can be made,
	// the memory of the run as a whole (the kernel kills it past that).
	MemoryBytes int64
}

// Names of the limits, in Result.LimitHit and in results.
const (
	LimitWrite     = "write"
	LimitProcesses = "processes"
	LimitMemory    = "memory"
)

// limiter sets up the limits of one run and reads what they caught.
type limiter struct {
	l       Limits
	prlimit string    // path of prlimit; empty when none is needed or found
	groups  []*cgroup // this run's cgroups, joined by the wrapper
	gaps    []string  // limits asked for and not enforced
	nproc   bool      // RLIMIT_NPROC stands in for a pids cgroup
}

// newLimiter prepares the limits of a run; isolated says whether it runs
// under bubblewrap.
func newLimiter(l Limits, isolated bool) *limiter {
	lim := &limiter{l: l}
	if l.WriteBytes > 0 || l.MemoryBytes > 0 || l.Processes > 0 {
		lim.prlimit = prlimitPath()
		if lim.prlimit == "" && (l.WriteBytes > 0 || l.MemoryBytes > 0) {
			lim.gaps = append(lim.gaps, "write and memory limits per process: prlimit (util-linux) not found")
		}
	}
	if l.WriteBytes > 0 && isolated && !bwrapSizes() {
		lim.gaps = append(lim.gaps, "write limit on the sandbox's tmpfs mounts: this bubblewrap cannot size them (--size needs 0.8 or later); files are still capped")
	}
	if l.Processes > 0 {
		if g := newCgroup("pids"); g != nil && g.set("pids.max", strconv.Itoa(l.Processes)) {
			lim.groups = append(lim.groups, g)
		} else {
			g.remove()
			if isolated && os.Geteuid() != 0 && lim.prlimit != "" {
				lim.nproc = true // counted in bubblewrap's own user namespace
			} else {
				lim.gaps = append(lim.gaps, "process limit: no writable pids cgroup here (and RLIMIT_NPROC binds neither root nor a run outside bubblewrap)")
			}
		}
	}
	if l.MemoryBytes > 0 {
		v := strconv.FormatInt(l.MemoryBytes, 10)
		if g := newCgroup("memory"); g != nil && (g.set("memory.max", v) || g.set("memory.limit_in_bytes", v)) {
			lim.groups = append(lim.groups, g)
		} else {
			g.remove()
			lim.gaps = append(lim.gaps, "memory limit for the run as a whole: no writable memory cgroup here (RLIMIT_AS still caps each process)")
		}
	}
	return lim
}

// inner wraps argv in prlimit: the limits hold for the command and all it
// starts. Under bubblewrap it runs inside the sandbox, so that
// RLIMIT_NPROC counts the processes of bubblewrap's user namespace only.
func (lim *limiter) inner(argv []string) []string {
	if lim.prlimit == "" {
		return argv
	}
	var a []string
	if lim.l.WriteBytes > 0 {
		a = append(a, "--fsize="+strconv.FormatInt(lim.l.WriteBytes, 10))
	}
	if lim.l.MemoryBytes > 0 {
		a = append(a, "--as="+strconv.FormatInt(lim.l.MemoryBytes, 10))
	}
	if lim.nproc {
		a = append(a, "--nproc="+strconv.Itoa(lim.l.Processes))
	}
	if len(a) == 0 {
		return argv
	}
	return append(append(append([]string{lim.prlimit}, a...), "--"), argv...)
}

// outer wraps argv in a shell that moves itself into the run's cgroups and
// then becomes argv: every process of the run starts inside them.
func (lim *limiter) outer(argv []string) []string {
	if len(lim.groups) == 0 {
		return argv
	}
	a := []string{"/bin/sh", "-c", `while [ "$1" != -- ]; do echo $$ > "$1" || { echo "handoff: cannot join the cgroup $1" >&2; exit 125; }; shift; done; shift; exec "$@"`, "sh"}
	for _, g := range lim.groups {
		a = append(a, filepath.Join(g.dir, "cgroup.procs"))
	}
	return append(append(a, "--"), argv...)
}

// finish records in res which limits the run reached and what was not
// enforced, then closes the limiter.
func (lim *limiter) finish(res *Result) {
	res.Gaps = append(res.Gaps, lim.gaps...)
	for _, g := range lim.groups {
		switch {
		case g.counter("pids.events", "max") > 0:
			res.LimitHit = append(res.LimitHit, LimitProcesses)
		case g.counter("memory.events", "oom_kill") > 0 || g.counter("memory.oom_control", "oom_kill") > 0:
			res.LimitHit = append(res.LimitHit, LimitMemory)
		}
	}
	lim.close()
}

// close kills what is left in the run's cgroups and removes them; it does
// nothing the second time.
func (lim *limiter) close() {
	for _, g := range lim.groups {
		g.remove()
	}
	lim.groups = nil
}

// lookProgram fails with ErrNotStarted when c's program does not exist.
func lookProgram(c Cmd) error {
	p := c.Args[0]
	var err error
	switch {
	case !strings.Contains(p, "/"):
		_, err = exec.LookPath(p)
	case !filepath.IsAbs(p) && c.Dir != "":
		_, err = os.Stat(filepath.Join(c.Dir, p))
	default:
		_, err = os.Stat(p)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotStarted, p, err)
	}
	return nil
}

var (
	prlimitOnce sync.Once
	prlimitBin  string
)

func prlimitPath() string {
	prlimitOnce.Do(func() {
		if p, err := exec.LookPath("prlimit"); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				prlimitBin = abs
			}
		}
	})
	return prlimitBin
}

// cgroup is a cgroup made for one run.
type cgroup struct{ dir string }

var (
	cgroupOnce  sync.Once
	cgroupBases map[string]string // controller → this process's cgroup directory
	cgroupSeq   atomic.Int64
)

// newCgroup makes a cgroup for one run below this process's own in the
// hierarchy that has the controller, or returns nil when there is none or
// it is not writable (a cgroup v2 tree not delegated to this user, a
// read-only /sys/fs/cgroup in a container).
func newCgroup(controller string) *cgroup {
	cgroupOnce.Do(func() {
		cgroupBases = findCgroups()
		for _, base := range cgroupBases {
			sweepCgroups(base)
		}
	})
	base := cgroupBases[controller]
	if base == "" {
		return nil
	}
	dir := filepath.Join(base, fmt.Sprintf("handoff-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil
	}
	g := &cgroup{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, controller+".max")); err != nil && controller == "pids" {
		g.remove() // cgroup v2 without the controller enabled for children
		return nil
	}
	return g
}

// sweepCgroups removes the cgroups that processes which died without
// cleaning up (killed, crashed) left below base. A cgroup that still holds
// a process cannot be removed, so a live run's is never touched.
func sweepCgroups(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "handoff-*-*"))
	for _, d := range dirs {
		var pid, seq int
		if _, err := fmt.Sscanf(filepath.Base(d), "handoff-%d-%d", &pid, &seq); err != nil || pid == os.Getpid() {
			continue
		}
		if processGone(pid) {
			_ = os.Remove(d)
		}
	}
}

// findCgroups maps each controller (pids, memory) to the directory of this
// process's cgroup in the hierarchy that has it, from /proc/self/cgroup
// and /proc/self/mountinfo. cgroup v1 hierarchies are preferred, as v2
// ones need the controller enabled for children.
func findCgroups() map[string]string {
	own := map[string]string{} // hierarchy's controllers ("" for v2) → path
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 {
			own[f[1]] = f[2]
		}
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer mi.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(mi)
	for sc.Scan() {
		// id parent major:minor root mountpoint options - fstype source superoptions
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 || lf[3] != "/" {
			continue
		}
		mount := lf[4]
		switch rf[0] {
		case "cgroup":
			for _, c := range []string{"pids", "memory"} {
				if !hasOption(rf[2], c) {
					continue
				}
				for ctrls, p := range own {
					if hasOption(ctrls, c) {
						out[c] = filepath.Join(mount, p)
					}
				}
			}
		case "cgroup2":
			p, ok := own[""]
			if !ok {
				continue
			}
			dir := filepath.Join(mount, p)
			ctrls, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
			for _, c := range []string{"pids", "memory"} {
				if _, v1 := out[c]; !v1 && hasOption(strings.ReplaceAll(strings.TrimSpace(string(ctrls)), " ", ","), c) {
					out[c] = dir
				}
			}
		}
	}
	return out
}

func hasOption(list, name string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// set writes a control file; false when it cannot.
func (g *cgroup) set(file, value string) bool {
	return g != nil && os.WriteFile(filepath.Join(g.dir, file), []byte(value), 0o644) == nil
}

// counter reads "key N" from a flat-keyed file such as pids.events.
func (g *cgroup) counter(file, key string) int64 {
	data, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove kills whatever is still in the cgroup (a process that left the
// run's process group is still here) and removes it.
func (g *cgroup) remove() {
	if g == nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
		pids := strings.Fields(string(data))
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				killPID(pid)
			}
		}
		if err := os.Remove(g.dir); err == nil || os.IsNotExist(err) || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond) // killed processes take a moment to leave
	}
}

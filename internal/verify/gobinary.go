package verify

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// keepScript is go test's -exec program: it keeps a copy of each test
// binary go test built, then runs it as go test would have.
const keepScript = `#!/bin/sh
# handoff: keep a copy of the test binary, then run it.
b=$(mktemp "$HANDOFF_KEEP_BINS/test.XXXXXX") && cp "$1" "$b" && chmod 755 "$b" && printf '%s\t%s\n' "$(pwd)" "$b" >> "$HANDOFF_KEEP_BINS/index"
exec "$@"
`

// keptBinaries holds the test binaries of the latest go test run that
// built. While the files stay the same (the session's generation), runs
// execute them directly, without the go command: stability runs, bisection
// and single-test coverage then cost milliseconds instead of a compile and
// link each.
type keptBinaries struct {
	wrapper string
	bins    map[string]string // package directory (absolute) → binary
	gen     int
}

// keepRun is what one go test run needs to keep its binaries.
type keepRun struct {
	dir  string
	args []string
	env  []string
}

func (k *keptBinaries) prepare(s *session) (keepRun, error) {
	if k.wrapper == "" {
		k.wrapper = filepath.Join(s.scratch, "keep-test-binary.sh")
		if err := os.WriteFile(k.wrapper, []byte(keepScript), 0o755); err != nil {
			return keepRun{}, fmt.Errorf("write go test -exec helper: %w", err)
		}
	}
	dir := s.scratchPath("bins-%d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return keepRun{}, err
	}
	return keepRun{dir: dir, args: []string{"-exec=" + k.wrapper}, env: []string{"HANDOFF_KEEP_BINS=" + dir}}, nil
}

// collect takes the binaries a go test run kept.
func (k *keptBinaries) collect(s *session, run keepRun) {
	k.bins = nil
	f, err := os.Open(filepath.Join(run.dir, "index"))
	if err != nil {
		return
	}
	defer f.Close()
	bins := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dir, bin, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			bins[dir] = bin
		}
	}
	if len(bins) > 0 {
		k.bins, k.gen = bins, s.generation
	}
}

// current returns the kept binaries if the files have not changed since.
func (k *keptBinaries) current(s *session) map[string]string {
	if k.bins == nil || k.gen != s.generation {
		return nil
	}
	return k.bins
}

// binarySuite is suite with the kept binaries. Each runs as go test would
// run it (in its package directory, -test.v=test2json, the same flags),
// but directly rather than through go tool test2json: its output is
// converted in process (convertGoTestOutput), which saves the go command's
// start-up, most of such a run's cost.
func (g *goToolchain) binarySuite(ctx context.Context, s *session, sel selection, bins map[string]string) (*suiteResult, error) {
	dirs := make([]string, 0, len(bins))
	for d := range bins {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if _, err := os.Stat(bins[d]); err != nil {
			s.logf("# the kept test binary of %s is gone (%v); using go test", d, err)
			g.kept.bins = nil
			return g.suite(ctx, s, sel)
		}
	}
	events := newGoEventReader()
	var profiles []string
	killed := false
	s.runs++
	for _, d := range dirs {
		prof := s.scratchPath("cover-%d.out")
		profiles = append(profiles, prof)
		args := []string{bins[d], "-test.v=test2json", "-test.count=1",
			"-test.timeout=" + s.o.TestTimeout.String(), "-test.paniconexit0", "-test.coverprofile=" + prof}
		if len(sel.Skip) > 0 {
			args = append(args, "-test.skip="+anchoredAlternation(sel.Skip))
		}
		if sel.Seed != 0 {
			args = append(args, "-test.shuffle="+strconv.FormatInt(sel.Seed, 10))
		}
		r, err := s.exec(ctx, command{Args: args, Dir: d, Env: []string{"PWD=" + d}, Combined: true, Timeout: s.o.TestTimeout + time.Minute})
		if err != nil {
			return nil, err
		}
		convertGoTestOutput(r.Stdout, r.Exit, r.TimedOut, events.event)
		killed = killed || r.TimedOut
	}
	res, transcript := events.result(g.modRoot, s.o.Dir, killed)
	s.logText(transcript)
	if len(res.Tests) == 0 && !killed {
		// The kept binaries did not run at all: go back to go test.
		s.logf("# the kept test binaries did not run; using go test")
		g.kept.bins = nil
		return g.suite(ctx, s, sel)
	}
	return res, g.coverage(res, profiles...)
}

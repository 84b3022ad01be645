package llm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/verify"
)

// lineRange is an inclusive range of 1-based line numbers of a file.
type lineRange struct {
	File       string // slash-separated, relative to the task directory
	Start, End int
}

func (r lineRange) String() string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// uncoveredLines runs the tests now in the task directory with coverage, in
// the sandbox, and returns the module's lines they do not reach. The task
// directory is left as it was: profiles go to a scratch directory, Python
// writes no bytecode and no pytest cache.
func (a *Agent) uncoveredLines(ctx context.Context, dir, module, lang string) ([]lineRange, error) {
	scratch, err := os.MkdirTemp("", "handoff-llm-cover-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CoverageTimeout)
	defer cancel()
	switch lang {
	case "go":
		return goUncovered(ctx, dir, module, scratch)
	case "python":
		return pythonUncovered(ctx, dir, module, scratch)
	}
	return nil, fmt.Errorf("no coverage for %s", lang)
}

func runCovered(ctx context.Context, c sandbox.Cmd) (string, error) {
	var out bytes.Buffer
	c.Stdout, c.Stderr, c.Isolate = &out, &out, true
	res, err := sandbox.Run(ctx, c)
	if err != nil {
		return out.String(), err
	}
	if res.TimedOut || res.Cancelled {
		return out.String(), fmt.Errorf("%s stopped before it finished", sandbox.Describe(c.Args))
	}
	return out.String(), nil
}

func goUncovered(ctx context.Context, dir, module, scratch string) ([]lineRange, error) {
	pkg, file := module, ""
	if strings.HasSuffix(module, ".go") {
		pkg, file = path.Dir(module), path.Base(module)
	}
	cache, err := exec.CommandContext(ctx, "go", "env", "GOCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOCACHE: %w", err)
	}
	profile := filepath.Join(scratch, "cover.out")
	out, err := runCovered(ctx, sandbox.Cmd{
		Args: []string{"go", "test", "-count=1", "-covermode=set", "-coverprofile=" + profile, "./" + pkg},
		Dir:  dir, Env: sandbox.ScrubbedEnv(), Writable: []string{scratch, strings.TrimSpace(string(cache))},
	})
	if err != nil {
		return nil, err
	}
	f, err := os.Open(profile)
	if err != nil {
		return nil, fmt.Errorf("go test wrote no coverage profile: %s", lastLine(out))
	}
	defer f.Close()
	var ranges []lineRange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// importpath/file.go:12.3,14.4 2 0
		line := sc.Text()
		name, rest, ok := strings.Cut(line, ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 3 || fields[2] != "0" {
			continue
		}
		base := path.Base(name)
		if file != "" && base != file {
			continue
		}
		from, to, _ := strings.Cut(fields[0], ",")
		s, _ := strconv.Atoi(strings.Split(from, ".")[0])
		e, _ := strconv.Atoi(strings.Split(to, ".")[0])
		ranges = append(ranges, lineRange{File: path.Join(pkg, base), Start: s, End: e})
	}
	return merge(ranges), sc.Err()
}

func pythonUncovered(ctx context.Context, dir, module, scratch string) ([]lineRange, error) {
	py := os.Getenv("HANDOFF_PYTHON") // the interpreter verification uses
	if py == "" {
		py = verify.DefaultPython
	}
	data, report := filepath.Join(scratch, "coverage.dat"), filepath.Join(scratch, "coverage.json")
	env := sandbox.ScrubbedEnv("PYTHONDONTWRITEBYTECODE=1")
	if _, err := runCovered(ctx, sandbox.Cmd{
		Args: []string{py, "-m", "coverage", "run", "--data-file=" + data, "--source=" + path.Dir(module),
			"-m", "pytest", "-q", "-p", "no:cacheprovider"},
		Dir: dir, Env: env, Writable: []string{scratch},
	}); err != nil {
		return nil, err
	}
	out, err := runCovered(ctx, sandbox.Cmd{
		Args: []string{py, "-m", "coverage", "json", "--data-file=" + data, "-o", report, "--include=" + module},
		Dir:  dir, Env: env, Writable: []string{scratch},
	})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return nil, fmt.Errorf("coverage wrote no report: %s", lastLine(out))
	}
	var r struct {
		Files map[string]struct {
			Missing []int `json:"missing_lines"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	var ranges []lineRange
	for name, f := range r.Files {
		if filepath.ToSlash(filepath.Clean(name)) != path.Clean(module) {
			continue
		}
		for _, l := range f.Missing {
			ranges = append(ranges, lineRange{File: module, Start: l, End: l})
		}
	}
	return merge(ranges), nil
}

// merge sorts ranges and joins those that touch.
func merge(rs []lineRange) []lineRange {
	slices.SortFunc(rs, func(a, b lineRange) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Start - b.Start
	})
	out := []lineRange{} // known, possibly empty
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].File == r.File && r.Start <= out[n-1].End+1 {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

package verify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// goEvent is one line of go test -json (test2json events and, since Go
// 1.24, build events).
type goEvent struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// goIssueLine matches a located compiler or vet message; the optional
// leading tab marks a continuation ("other declaration of X").
var goIssueLine = regexp.MustCompile(`^(\t?)(\S+\.go):(\d+)(?::\d+)?: (.*)$`)

// parseGoTestJSON reads go test -json output. cwd is the directory go ran
// in (build messages name files relative to it) and dir the task
// directory; killed says the run was killed at its timeout, so that tests
// still running then timed out. The transcript gets the human-readable
// output.
func parseGoTestJSON(out []byte, cwd, dir string, killed bool) (*suiteResult, string) {
	return readGoEvents(out).result(cwd, dir, killed)
}

// readGoEvents reads every line of go test -json output.
func readGoEvents(out []byte) *goEventReader {
	r := newGoEventReader()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e goEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			r.text(line)
			continue
		}
		r.event(e)
	}
	return r
}

// goEventReader gathers the events of one go test run (go test -json, or
// test binaries converted by convertGoTestOutput) into its outcomes.
type goEventReader struct {
	res        *suiteResult
	transcript strings.Builder
	tail       strings.Builder
	started    map[string]bool
	outputs    map[string]*strings.Builder
	timedOut   bool
	running    []string // tests named in a timeout panic
	inRunning  bool
	build      strings.Builder
	subFailed  []string // subtests that failed: "TestX/case"
}

func newGoEventReader() *goEventReader {
	return &goEventReader{
		res:     &suiteResult{Tests: map[string]outcome{}},
		started: map[string]bool{},
		outputs: map[string]*strings.Builder{},
	}
}

// text takes a line that is not an event: it goes to the transcript only.
func (r *goEventReader) text(line []byte) {
	r.transcript.Write(line)
	r.transcript.WriteByte('\n')
}

// event takes one event.
func (r *goEventReader) event(e goEvent) {
	res := r.res
	top := e.Test
	if i := strings.IndexByte(top, '/'); i >= 0 {
		top = top[:i]
	}
	switch e.Action {
	case "build-output":
		r.build.WriteString(e.Output)
		r.transcript.WriteString(e.Output)
	case "build-fail":
		res.BuildFailed = true
	case "output":
		r.transcript.WriteString(e.Output)
		r.tail.WriteString(e.Output)
		if strings.HasPrefix(e.Output, "panic: test timed out after") {
			r.timedOut = true
		}
		if r.timedOut {
			trimmed := strings.TrimSpace(e.Output)
			switch {
			case trimmed == "running tests:":
				r.inRunning = true
			case r.inRunning && strings.HasPrefix(e.Output, "\t\t"):
				name := strings.Fields(trimmed)[0]
				if i := strings.IndexByte(name, '/'); i >= 0 {
					name = name[:i]
				}
				r.running = append(r.running, name)
			default:
				r.inRunning = false
			}
		}
		if top != "" && !strings.HasPrefix(e.Output, "=== ") {
			b := r.outputs[top]
			if b == nil {
				b = &strings.Builder{}
				r.outputs[top] = b
			}
			if b.Len() < 16<<10 {
				b.WriteString(e.Output)
			}
		}
	case "run":
		if e.Test == top {
			r.started[top] = true
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			if e.Action == "fail" && e.FailedBuild != "" {
				res.BuildFailed = true
			}
			return
		}
		if e.Test != top {
			if e.Action == "fail" {
				r.subFailed = append(r.subFailed, e.Test)
			}
			return
		}
		st := map[string]status{"pass": statusPass, "fail": statusFail, "skip": statusSkip}[e.Action]
		res.Tests[top] = outcome{Status: st, Output: testOutput(r.outputs[top])}
	}
}

// result returns the outcomes of the events read and the transcript. cwd,
// dir and killed are parseGoTestJSON's.
func (r *goEventReader) result(cwd, dir string, killed bool) (*suiteResult, string) {
	res := r.res
	for _, name := range r.running {
		res.Tests[name] = outcome{Status: statusTimeout, Output: testOutput(r.outputs[name])}
	}
	for name := range r.started {
		if _, ok := res.Tests[name]; !ok {
			// It started and never ended: the binary died under it, or the
			// run was killed while it ran.
			st := statusFail
			if killed {
				st = statusTimeout
			}
			res.Tests[name] = outcome{Status: st, Output: testOutput(r.outputs[name])}
			res.Aborted = true
		}
	}
	if r.timedOut || killed {
		res.Aborted = true
	}
	res.BuildOutput = r.build.String()
	res.Build = parseGoIssues(res.BuildOutput, cwd, dir)
	res.Output = lastLines(r.tail.String(), 40)
	return res, r.transcript.String()
}

func testOutput(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	var keep []string
	for _, l := range strings.Split(b.String(), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "--- PASS") || strings.HasPrefix(t, "--- SKIP") || t == "" {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// parseGoIssues finds the located messages in compiler and vet output.
func parseGoIssues(text, cwd, dir string) []buildIssue {
	var issues []buildIssue
	for _, l := range strings.Split(text, "\n") {
		m := goIssueLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		p := position{File: relTo(m[2], cwd, dir), Line: n}
		if m[1] != "" && len(issues) > 0 {
			last := &issues[len(issues)-1]
			last.Also = append(last.Also, p)
			continue
		}
		issues = append(issues, buildIssue{File: p.File, Line: p.Line, Msg: m[4]})
	}
	return issues
}

// relTo turns a path go printed (relative to cwd, or absolute) into a path
// relative to the task directory.
func relTo(p, cwd, dir string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

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
	res := &suiteResult{Tests: map[string]outcome{}}
	var transcript, tail strings.Builder
	started := map[string]bool{}
	outputs := map[string]*strings.Builder{}
	var timedOut bool
	var running []string // tests named in a timeout panic
	inRunning := false
	var build strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e goEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			transcript.Write(line)
			transcript.WriteByte('\n')
			continue
		}
		top := e.Test
		if i := strings.IndexByte(top, '/'); i >= 0 {
			top = top[:i]
		}
		switch e.Action {
		case "build-output":
			build.WriteString(e.Output)
			transcript.WriteString(e.Output)
		case "build-fail":
			res.BuildFailed = true
		case "output":
			transcript.WriteString(e.Output)
			tail.WriteString(e.Output)
			if strings.HasPrefix(e.Output, "panic: test timed out after") {
				timedOut = true
			}
			if timedOut {
				trimmed := strings.TrimSpace(e.Output)
				switch {
				case trimmed == "running tests:":
					inRunning = true
				case inRunning && strings.HasPrefix(e.Output, "\t\t"):
					name := strings.Fields(trimmed)[0]
					if i := strings.IndexByte(name, '/'); i >= 0 {
						name = name[:i]
					}
					running = append(running, name)
				default:
					inRunning = false
				}
			}
			if top != "" && !strings.HasPrefix(e.Output, "=== ") {
				b := outputs[top]
				if b == nil {
					b = &strings.Builder{}
					outputs[top] = b
				}
				if b.Len() < 16<<10 {
					b.WriteString(e.Output)
				}
			}
		case "run":
			if e.Test == top {
				started[top] = true
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" && e.FailedBuild != "" {
					res.BuildFailed = true
				}
				continue
			}
			if e.Test != top {
				continue
			}
			st := map[string]status{"pass": statusPass, "fail": statusFail, "skip": statusSkip}[e.Action]
			res.Tests[top] = outcome{Status: st, Output: testOutput(outputs[top])}
		}
	}
	for _, name := range running {
		res.Tests[name] = outcome{Status: statusTimeout, Output: testOutput(outputs[name])}
	}
	for name := range started {
		if _, ok := res.Tests[name]; !ok {
			// It started and never ended: the binary died under it, or the
			// run was killed while it ran.
			st := statusFail
			if killed {
				st = statusTimeout
			}
			res.Tests[name] = outcome{Status: st, Output: testOutput(outputs[name])}
			res.Aborted = true
		}
	}
	if timedOut || killed {
		res.Aborted = true
	}
	res.BuildOutput = build.String()
	res.Build = parseGoIssues(res.BuildOutput, cwd, dir)
	res.Output = lastLines(tail.String(), 40)
	return res, transcript.String()
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

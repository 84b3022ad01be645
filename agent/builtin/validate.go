package builtin

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/verify"
)

// checkRuns is how often the written tests run in the check; flaky cases
// fail at least one run.
const checkRuns = 3

// checkResult is what running the written test file said.
type checkResult struct {
	failedTests map[string]bool // test functions that failed as a whole (build errors included)
	failedCases map[string]bool // "TestX/case"
	coverage    float64         // percent of the module's statements
	passed      bool
}

// check runs the generated file, through an overlay, as go test would in
// the task directory, checkRuns times, and measures the module's coverage.
func (p *probe) check(ctx context.Context, src []byte, testNames []string, timeout time.Duration) (*checkResult, error) {
	file := filepath.Join(p.dir, "check_test.go")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		return nil, err
	}
	replace := map[string]string{p.m.output: file}
	entries, err := os.ReadDir(p.m.dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		path := filepath.Join(p.m.dir, e.Name())
		if strings.HasSuffix(e.Name(), "_test.go") && path != p.m.output {
			replace[path] = ""
		}
	}
	overlay := filepath.Join(p.dir, "check-overlay.json")
	if err := writeOverlay(overlay, replace); err != nil {
		return nil, err
	}
	profile := filepath.Join(p.dir, "check.cover")
	var stdout, stderr bytes.Buffer
	res, err := sandbox.Run(ctx, sandbox.Cmd{
		Args: []string{"go", "test", "-count=" + fmt.Sprint(checkRuns), "-shuffle=on", "-json", "-timeout=" + timeout.String(),
			"-coverprofile=" + profile, "-overlay", overlay, "-run", "^(" + strings.Join(testNames, "|") + ")$", "."},
		Dir:      p.m.dir,
		Env:      goEnv(),
		Stdout:   &stdout,
		Stderr:   &stderr,
		Timeout:  timeout + 30*time.Second,
		Isolate:  true,
		Writable: []string{p.m.taskDir, p.gocache, p.dir},
	})
	if err != nil {
		return nil, fmt.Errorf("running the generated tests: %w", err)
	}
	if res.Cancelled || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r := &checkResult{failedTests: map[string]bool{}, failedCases: map[string]bool{}, passed: res.ExitCode == 0}
	run := verify.ReadGoTestJSON(stdout.Bytes()) // as verification will read it
	for _, name := range run.Failed {
		r.failedTests[name] = true
	}
	for _, name := range run.FailedSubtests {
		r.failedCases[name] = true
	}
	output := run.Output + stderr.String()
	if res.ExitCode != 0 && len(r.failedTests) == 0 && len(r.failedCases) == 0 {
		// No test ran: the file did not build. Blame the tests whose lines
		// the compiler named.
		bad, err := testsAt(src, append(errorLines(output, filepath.Base(p.m.output)), errorLines(output, filepath.Base(file))...))
		if err != nil || len(bad) == 0 {
			return nil, fmt.Errorf("the generated tests do not build (a bug in the builtin agent): %s", tail(output, 1500))
		}
		for _, t := range bad {
			r.failedTests[t] = true
		}
		return r, nil
	}
	// A test that failed only because some of its cases failed keeps the
	// others.
	for c := range r.failedCases {
		delete(r.failedTests, c[:strings.Index(c, "/")])
	}
	if res.ExitCode == 0 || len(r.failedTests)+len(r.failedCases) > 0 {
		r.coverage, err = moduleCoverage(profile, p.m)
		if err != nil && res.ExitCode == 0 {
			return nil, err
		}
	}
	return r, nil
}

var errorLineRE = regexp.MustCompile(`([^\s:]+_test\.go):(\d+):\d+`)

// errorLines returns the line numbers compiler messages give for file.
func errorLines(output, file string) []int {
	var out []int
	for _, m := range errorLineRE.FindAllStringSubmatch(output, -1) {
		if filepath.Base(m[1]) != file {
			continue
		}
		var n int
		fmt.Sscan(m[2], &n)
		out = append(out, n)
	}
	return out
}

// testsAt names the test functions of src that contain the lines.
func testsAt(src []byte, lines []int) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x_test.go", src, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !strings.HasPrefix(fd.Name.Name, "Test") {
			continue
		}
		from, to := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
		for _, l := range lines {
			if l >= from && l <= to {
				out = append(out, fd.Name.Name)
				break
			}
		}
	}
	return out, nil
}

// moduleCoverage is the statement coverage of the module's files in a
// cover profile, as verification will count it.
func moduleCoverage(profile string, m *module) (float64, error) {
	data, err := os.ReadFile(profile)
	if err != nil {
		return 0, fmt.Errorf("reading the coverage profile: %w", err)
	}
	return verify.GoStatementCoverage(data, m.pkg.PkgPath, m.files)
}

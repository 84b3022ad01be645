package verify

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

//go:embed pyhelper.py
var pyHelperSource []byte

//go:embed handoff_pytest_events.py
var pyPluginSource []byte

// pyHelperTimeout bounds the helper's own runs (parsing, reports).
const pyHelperTimeout = 2 * time.Minute

// pyToolchain verifies Python modules with pytest under coverage.py.
type pyToolchain struct {
	helper string // path of pyhelper.py
	rc     string // coverage.py configuration
}

func (p *pyToolchain) language() string { return LanguagePython }

func (p *pyToolchain) prepare(ctx context.Context, s *session) error {
	lib := filepath.Join(s.scratch, "py")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		return err
	}
	p.helper = filepath.Join(lib, "handoff_verify_helper.py")
	p.rc = filepath.Join(s.scratch, "coveragerc")
	rc := fmt.Sprintf("[run]\nbranch = True\ninclude =\n    %s\n", s.abs(s.o.Module))
	for name, data := range map[string][]byte{
		p.helper: pyHelperSource,
		filepath.Join(lib, "handoff_pytest_events.py"): pyPluginSource,
		p.rc: []byte(rc),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return fmt.Errorf("write verification helper: %w", err)
		}
	}
	pythonPath := lib
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pythonPath += string(os.PathListSeparator) + old
	}
	s.env = append(s.env, "PYTHONPATH="+pythonPath, "PYTHONDONTWRITEBYTECODE=1", "TMPDIR="+s.scratch)
	if err := p.interpreterPaths(ctx, s); err != nil {
		return err
	}
	r, err := s.exec(ctx, command{Args: []string{s.o.Python, "-c", "import pytest, coverage; print(pytest.__version__, coverage.__version__)"}, Timeout: pyHelperTimeout})
	if err != nil {
		return err
	}
	if r.Exit != 0 {
		return fmt.Errorf("%w: %s cannot import pytest and coverage (install the Debian packages python3-pytest and python3-coverage, or set HANDOFF_PYTHON to an interpreter that has them): %s",
			ErrToolchain, s.o.Python, excerpt(string(r.Stderr)))
	}
	s.logf("# pytest and coverage.py versions: %s", strings.TrimSpace(string(r.Stdout)))
	return nil
}

// interpreterPaths makes the interpreter and its libraries readable in the
// sandbox: its directory, its prefixes and every directory on its sys.path,
// as the interpreter says outside the sandbox. It runs in the scratch
// directory, so nothing of the task directory is imported.
func (p *pyToolchain) interpreterPaths(ctx context.Context, s *session) error {
	const probe = "import json, os, sys\n" +
		"print(json.dumps([os.path.realpath(sys.executable), sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix] + sys.path))"
	r, err := s.exec(ctx, command{Args: []string{s.o.Python, "-c", probe}, Dir: s.scratch, Timeout: pyHelperTimeout, Trusted: true})
	if err != nil {
		return err
	}
	var paths []string
	if r.Exit != 0 || json.Unmarshal(r.Stdout, &paths) != nil {
		return fmt.Errorf("%w: %s does not run: %s", ErrToolchain, s.o.Python, excerpt(string(r.Stderr)))
	}
	s.readOnly = append(s.readOnly, filepath.Dir(s.o.Python))
	for i, q := range paths {
		if i == 0 {
			q = filepath.Dir(q)
		}
		if filepath.IsAbs(q) && !within(q, s.o.Dir) && !within(q, s.scratch) {
			s.readOnly = append(s.readOnly, q)
		}
	}
	return nil
}

// within tells whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// scope is the test tree the output lives in (its top directory, "tests"
// for tests/a/b/test_c.py), or the output file itself at the root, plus the
// changed test files outside it.
func (p *pyToolchain) scope(o Options, changed []string) []string {
	var roots []string
	seen := map[string]bool{}
	add := func(rel string) {
		top := rel
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			top = rel[:i]
		}
		if seen[top] {
			return
		}
		if _, err := os.Stat(filepath.Join(o.Dir, filepath.FromSlash(top))); err != nil {
			return
		}
		seen[top] = true
		roots = append(roots, top)
	}
	add(o.Output)
	for _, c := range changed {
		if path.Base(c) != pytestConfig {
			add(c)
		}
	}
	return roots
}

func (p *pyToolchain) suite(ctx context.Context, s *session, sel selection) (*suiteResult, error) {
	if len(s.scope) == 0 {
		return p.noTests(ctx, s)
	}
	events := s.scratchPath("events-%d.jsonl")
	data := s.scratchPath("coverage-%d")
	skip := s.scratchPath("skip-%d.json")
	names := sel.Skip
	if names == nil {
		names = []string{}
	}
	js, _ := json.Marshal(names)
	if err := os.WriteFile(skip, js, 0o644); err != nil {
		return nil, err
	}
	args := []string{s.o.Python, "-m", "coverage", "run", "--rcfile=" + p.rc, "-m", "pytest",
		"--rootdir=" + s.o.Dir, "-p", "handoff_pytest_events", "-p", "no:cacheprovider",
		"--continue-on-collection-errors", "-q"}
	args = append(args, s.scope...)
	s.runs++
	r, err := s.exec(ctx, command{
		Args:    args,
		Env:     []string{"HANDOFF_EVENTS=" + events, "HANDOFF_SKIP=" + skip, "COVERAGE_FILE=" + data},
		Timeout: s.o.TestTimeout,
	})
	if err != nil {
		return nil, err
	}
	s.logText(string(r.Stdout))
	s.logText(string(r.Stderr))
	res, err := readPyEvents(events, r.TimedOut)
	if err != nil {
		return nil, err
	}
	res.Output = lastLines(string(r.Stdout)+string(r.Stderr), 40)
	if r.Exit >= 2 && r.Exit != 5 && len(res.Tests) == 0 && !res.BuildFailed && !r.TimedOut {
		// pytest could not start: a usage error, a broken conftest.py.
		res.BuildFailed = true
		res.BuildOutput = string(r.Stdout) + string(r.Stderr)
		res.Build = append(res.Build, buildIssue{Msg: excerpt(res.BuildOutput)})
	}
	{
		// Without data (the run was killed before coverage.py saved it) the
		// report says nothing is covered.
		rep, err := p.report(ctx, s, data)
		if err != nil {
			return nil, err
		}
		res.Coverage = rep.coverage()
		res.PerTest = map[string]unitSet{}
		for ctxName, u := range rep.Contexts {
			if ctxName != "" {
				res.PerTest[ctxName] = newUnitSet(u...)
			}
		}
	}
	return res, nil
}

// noTests reports the module's coverage when there is no test to run.
func (p *pyToolchain) noTests(ctx context.Context, s *session) (*suiteResult, error) {
	rep, err := p.report(ctx, s, s.scratchPath("coverage-%d"))
	if err != nil {
		return nil, err
	}
	return &suiteResult{Tests: map[string]outcome{}, Coverage: rep.coverage()}, nil
}

// pyReport is the helper's coverage report.
type pyReport struct {
	Version    string                   `json:"version"`
	Statements int                      `json:"statements"`
	Percent    float64                  `json:"percent"`
	Branch     *float64                 `json:"branch"`
	Functions  []agent.FunctionCoverage `json:"functions"`
	Covered    []string                 `json:"covered"`
	Contexts   map[string][]string      `json:"contexts"`
}

func (r *pyReport) coverage() *moduleCoverage {
	return &moduleCoverage{Percent: r.Percent, Branch: r.Branch, Functions: r.Functions, Covered: newUnitSet(r.Covered...)}
}

func (p *pyToolchain) report(ctx context.Context, s *session, data string) (*pyReport, error) {
	out := s.scratchPath("report-%d.json")
	r, err := s.exec(ctx, command{
		Args:    []string{s.o.Python, p.helper, "report", p.rc, s.abs(s.o.Module), out},
		Env:     []string{"COVERAGE_FILE=" + data},
		Timeout: pyHelperTimeout,
	})
	if err != nil {
		return nil, err
	}
	if r.Exit != 0 {
		return nil, fmt.Errorf("%w: coverage.py could not report on %s: %s", ErrToolchain, s.o.Module, excerpt(string(r.Stderr)))
	}
	var rep pyReport
	if err := json.Unmarshal(r.Stdout, &rep); err != nil {
		return nil, fmt.Errorf("%w: read coverage report: %v", ErrToolchain, err)
	}
	return &rep, nil
}

// pyEvent is one line the pytest plugin wrote.
type pyEvent struct {
	E       string `json:"e"`
	ID      string `json:"id"`
	Path    string `json:"path"`
	When    string `json:"when"`
	Outcome string `json:"outcome"`
	XFail   bool   `json:"xfail"`
	Text    string `json:"text"`
}

// readPyEvents folds the plugin's events into one outcome per test
// function: failed if any phase of any parameter case failed, passed if
// every case's call passed, skipped otherwise. A test that started and
// never finished was running when the run was killed (timeout) or died.
func readPyEvents(file string, timedOut bool) (*suiteResult, error) {
	res := &suiteResult{Tests: map[string]outcome{}, Aborted: timedOut}
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type acc struct {
		fail, pass, skip, open bool
		text                   []string
	}
	tests := map[string]*acc{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e pyEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.E == "collect" {
			res.BuildFailed = true
			res.Build = append(res.Build, buildIssue{File: strings.SplitN(e.Path, "::", 2)[0], Msg: e.Text})
			res.BuildOutput += e.Text + "\n"
			continue
		}
		a := tests[e.ID]
		if a == nil {
			a = &acc{}
			tests[e.ID] = a
			order = append(order, e.ID)
		}
		switch {
		case e.E == "start":
			a.open = true
		case e.Outcome == "failed" || (e.XFail && e.When == "call"):
			a.fail = true
			if e.XFail {
				e.Text = "marked xfail: an expected failure is not a passing test"
			}
			a.text = append(a.text, e.Text)
		case e.When == "call" && e.Outcome == "passed":
			a.pass = true
		case e.Outcome == "skipped":
			a.skip = true
			a.text = append(a.text, "skipped: "+e.Text)
		}
		if e.E == "report" && e.When == "teardown" {
			a.open = false
		}
	}
	for _, id := range order {
		a := tests[id]
		text := strings.Join(a.text, "\n")
		switch {
		case a.open && timedOut:
			res.Tests[id] = outcome{Status: statusTimeout, Output: "still running when the run was killed at its timeout"}
		case a.open:
			res.Tests[id] = outcome{Status: statusFail, Output: "the test process died while it ran"}
			res.Aborted = true
		case a.fail:
			res.Tests[id] = outcome{Status: statusFail, Output: text}
		case a.pass:
			res.Tests[id] = outcome{Status: statusPass}
		default:
			res.Tests[id] = outcome{Status: statusSkip, Output: text}
		}
	}
	return res, sc.Err()
}

// perTest answers from the dynamic contexts of the last run.
func (p *pyToolchain) perTest(_ context.Context, _ *session, last *suiteResult, names []string) (map[string]unitSet, map[string]string, error) {
	units := map[string]unitSet{}
	for _, n := range names {
		if last != nil && last.PerTest[n] != nil {
			units[n] = last.PerTest[n]
		} else {
			units[n] = unitSet{}
		}
	}
	return units, map[string]string{}, nil
}

func (p *pyToolchain) parse(ctx context.Context, s *session, rel string, src []byte) ([]testFunc, error) {
	r, err := s.exec(ctx, command{Args: []string{s.o.Python, p.helper, "parse"}, Stdin: src, Timeout: pyHelperTimeout})
	if err != nil {
		return nil, err
	}
	var out struct {
		Error string     `json:"error"`
		Tests []testFunc `json:"tests"`
	}
	if r.Exit != 0 || json.Unmarshal(r.Stdout, &out) != nil {
		return nil, fmt.Errorf("%w: parsing %s: %s", ErrToolchain, rel, excerpt(string(r.Stderr)))
	}
	if out.Error != "" {
		return nil, &parseError{File: rel, Msg: out.Error}
	}
	for i := range out.Tests {
		out.Tests[i].File = rel
		out.Tests[i].Name = rel + "::" + out.Tests[i].Name
	}
	return out.Tests, nil
}

func (p *pyToolchain) remove(ctx context.Context, s *session, rel string, src []byte, names []string) ([]byte, error) {
	args := []string{s.o.Python, p.helper, "remove"}
	for _, n := range names {
		args = append(args, strings.TrimPrefix(n, rel+"::"))
	}
	r, err := s.exec(ctx, command{Args: args, Stdin: src, Timeout: pyHelperTimeout})
	if err != nil {
		return nil, err
	}
	if r.Exit != 0 {
		return nil, fmt.Errorf("%w: removing tests from %s: %s", ErrToolchain, rel, excerpt(string(r.Stderr)))
	}
	return bytes.Clone(r.Stdout), nil
}

package verify

import (
	"bytes"
	"strings"
)

// Limits of go tool test2json's buffers, which decide how its events cut
// long lines: a line longer than goFramingLineMax is output even when it
// looks like framing, and output longer than goFramingOutputMax comes in
// several events.
const (
	goFramingMarker    = 0x16 // ^V, which starts framing lines under -test.v=test2json
	goFramingLineMax   = 4096
	goFramingOutputMax = 1024
)

// Framing lines a test binary prints under -test.v=test2json.
var (
	goFramingUpdates = []string{"=== RUN   ", "=== PAUSE ", "=== CONT  ", "=== NAME  ",
		"=== PASS  ", "=== FAIL  ", "=== SKIP  ", "=== ATTR  ", "=== ARTIFACTS "}
	goFramingReports = []string{"--- PASS: ", "--- FAIL: ", "--- SKIP: ", "--- BENCH: "}
)

// goFraming turns what a test binary prints with -test.v=test2json
// (stdout and stderr on one pipe) into the events go tool test2json would
// report for it, so that a kept test binary runs without the go command in
// between and its output reads exactly as before. The rules are
// test2json's: a line starting with ^V frames the tests ("=== RUN",
// "--- PASS: …"); once one did, only marked lines frame, so test output
// that looks like framing stays output. Output belongs to the test the
// latest framing line named, or to the subtest its indentation points at.
// A test's result is held until the next framing line or the final
// PASS/FAIL, and the run ends with one event for the whole binary.
type goFraming struct {
	emit       func(goEvent)
	test       string    // test the output belongs to
	reports    []goEvent // results not yet emitted, outermost first
	needMarker bool      // only ^V lines frame
	result     string    // "pass", "fail" or "skip" for the whole binary
	input      goLineSplitter
	output     goLineSplitter
}

// convertGoTestOutput converts the whole output of one run of a test binary
// and passes the events to emit. exit is the binary's exit code: the final
// event fails when it is not 0, and names the test still running, if any
// (a binary that panicked ends with its test's result held, which
// test2json never emits: that final event is the test's failure). killed
// says the run was killed, in which case (as test2json, killed with it)
// the last unfinished line and the final event are missing.
func convertGoTestOutput(out []byte, exit int, killed bool, emit func(goEvent)) {
	f := &goFraming{emit: emit}
	f.output = goLineSplitter{max: goFramingOutputMax, line: f.writeOutput, part: f.writeOutput}
	f.input = goLineSplitter{max: goFramingLineMax, line: f.handleLine, part: f.output.write}
	f.emitEvent(goEvent{Action: "start"})
	f.input.write(out)
	if killed {
		return
	}
	f.input.flush()
	f.output.flush()
	switch {
	case exit != 0:
		f.result = "fail"
	case f.result != "skip":
		f.result = "pass"
	}
	f.emitEvent(goEvent{Action: f.result})
}

// handleLine reads one whole line of the binary's output.
func (f *goFraming) handleLine(line []byte) {
	if len(line) == 0 {
		return
	}
	marked := line[0] == goFramingMarker
	if f.needMarker && !marked {
		f.output.write(line)
		return
	}
	if marked {
		f.output.flush()
		line = line[1:]
	}
	text, ended := strings.CutSuffix(string(line), "\n")
	if ended {
		text = strings.TrimSuffix(text, "\r")
	}
	if text == "=== NAME" {
		// A NAME line without a test can lose its trailing spaces.
		line, text = []byte("=== NAME  \n"), "=== NAME  "
	}
	if text == "PASS" || text == "FAIL" || strings.HasPrefix(text, "FAIL\t") {
		f.flushReports(0)
		f.needMarker = marked
		f.output.write(line)
		f.result = map[bool]string{true: "pass", false: "fail"}[text == "PASS"]
		return
	}
	if bytes.HasPrefix(line, []byte("?   \t")) && strings.HasSuffix(text, "\t[no test files]") && len(f.reports) == 0 {
		f.result = "skip"
	}
	whole := line
	s := string(line)
	framing := hasAnyPrefix(s, goFramingUpdates)
	indent := 0
	if !framing {
		for strings.HasPrefix(s, "    ") {
			s = s[4:]
			indent++
		}
		framing = hasAnyPrefix(s, goFramingReports)
	}
	if !framing {
		if indent > 0 && indent <= len(f.reports) {
			f.test = f.reports[indent-1].Test
		}
		f.output.write(whole)
		return
	}
	action, name, _ := strings.Cut(s[len("=== "):], " ")
	action = strings.ToLower(strings.TrimSuffix(action, ":"))
	name = strings.TrimSpace(name)
	if s[0] == '-' {
		// A result: "--- PASS: Name (0.00s)", indented by subtest depth.
		if i := strings.Index(name, " ("); i >= 0 {
			name = name[:i]
		}
		if len(f.reports) < indent {
			f.output.write(whole) // deeper than any test running: output
			return
		}
		f.needMarker = marked
		f.flushReports(indent)
		f.test = name
		f.reports = append(f.reports, goEvent{Action: action, Test: name})
		f.output.write(whole)
		return
	}
	switch action {
	case "artifacts", "attr":
		name, _, _ = strings.Cut(name, " ")
	}
	f.needMarker = marked
	f.flushReports(0)
	f.test = name
	switch action {
	case "name":
		// Only says whose output follows.
	case "pause":
		f.output.write(whole)
		f.emitEvent(goEvent{Action: action})
	default:
		f.emitEvent(goEvent{Action: action})
		f.output.write(whole)
	}
}

// flushReports emits the held results nested depth or deeper, innermost
// first.
func (f *goFraming) flushReports(depth int) {
	f.test = ""
	for len(f.reports) > depth {
		e := f.reports[len(f.reports)-1]
		f.reports = f.reports[:len(f.reports)-1]
		f.emitEvent(e)
	}
}

func (f *goFraming) writeOutput(b []byte) {
	f.emitEvent(goEvent{Action: "output", Output: string(b)})
}

// emitEvent names the current test in events that name none.
func (f *goFraming) emitEvent(e goEvent) {
	if e.Test == "" {
		e.Test = f.test
	}
	f.emit(e)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

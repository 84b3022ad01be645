package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// The JUnit XML that CI systems read (Jenkins, GitLab, GitHub test
// reporters): testsuites > testsuite > testcase, a testcase holding at most
// one failure or skipped element.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the run as JUnit XML: a suite of the stages (a failed
// stage is a failure, one that did not run is skipped) and a suite per
// generate stage with a case per module (a task without success is a
// failure) and per generated test (kept tests pass, dropped ones are skipped
// with their reason and excerpt).
func WriteJUnit(w io.Writer, s *pipeline.Summary) error {
	all := junitSuites{Name: s.Pipeline, Time: seconds(s.Wall)}
	stages := junitSuite{Name: s.Pipeline + " stages", Time: seconds(s.Wall), Timestamp: s.Started.UTC().Format("2006-01-02T15:04:05")}
	for _, r := range s.Stages {
		c := junitCase{Name: r.Name, Classname: "stage." + string(r.Kind), Time: seconds(r.Duration())}
		switch {
		case !r.Started:
			c.Skipped = &junitMessage{Message: string(r.Status)}
		case !r.OK():
			msg := r.Error
			if msg == "" {
				msg = string(r.Status)
			}
			c.Failure = &junitMessage{Message: msg, Type: string(r.Status), Text: r.LogPath}
		}
		stages.add(c)
	}
	all.add(stages)
	for _, r := range s.Stages {
		if r.Kind != pipeline.KindGenerate {
			continue
		}
		gen := junitSuite{Name: s.Pipeline + " " + r.Name, Timestamp: stages.Timestamp}
		var total time.Duration
		for _, t := range s.Tasks {
			if t.Stage != r.Name {
				continue
			}
			total += t.RunTime()
			gen.moduleCases(t)
		}
		gen.Time = seconds(total)
		all.add(gen)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// moduleCases adds a task's module and its generated tests.
func (g *junitSuite) moduleCases(t *pipeline.TaskRecord) {
	c := junitCase{Name: t.Module, Classname: "module", Time: seconds(t.RunTime()), SystemOut: "task " + t.ID}
	res := t.Result
	switch {
	case res == nil:
		msg := t.WaitError
		if msg == "" {
			msg = "no result collected (state " + string(t.State()) + ")"
		}
		c.Failure = &junitMessage{Message: msg, Type: string(t.State())}
	case !res.Success:
		msg := res.Error
		if msg == "" {
			msg = fmt.Sprintf("coverage %.1f%% is below the threshold %g%%", res.Coverage.After, res.Coverage.Threshold)
		}
		c.Failure = &junitMessage{Message: msg, Type: string(res.State)}
	}
	g.add(c)
	if res == nil {
		return
	}
	class := "module." + strings.ReplaceAll(t.Module, "/", ".")
	for _, name := range res.Tests.Kept {
		g.add(junitCase{Name: name, Classname: class, Time: "0.000"})
	}
	for _, d := range res.Tests.Dropped {
		g.add(junitCase{Name: d.Name, Classname: class, Time: "0.000",
			Skipped: &junitMessage{Message: "dropped: " + d.Reason, Text: d.Excerpt}})
	}
}

func (g *junitSuite) add(c junitCase) {
	g.Tests++
	switch {
	case c.Failure != nil:
		g.Failures++
	case c.Skipped != nil:
		g.Skipped++
	}
	g.Cases = append(g.Cases, c)
}

func (a *junitSuites) add(g junitSuite) {
	a.Tests += g.Tests
	a.Failures += g.Failures
	a.Skipped += g.Skipped
	a.Suites = append(a.Suites, g)
}

// WriteAnnotations writes GitHub Actions workflow commands: an error per
// failed stage and per generated module without success, a warning per
// dropped test, shown on the run's page and, for tests, at the output file.
func WriteAnnotations(w io.Writer, s *pipeline.Summary) {
	for _, r := range s.Stages {
		if r.Started && !r.OK() {
			msg := r.Error
			if msg == "" {
				msg = string(r.Status)
			}
			fmt.Fprintf(w, "::error title=%s::%s\n", ghProperty("stage "+r.Name+" "+string(r.Status)), ghData(msg))
		}
	}
	for _, t := range s.Tasks {
		res := t.Result
		if res == nil || !res.Success {
			msg := t.WaitError
			switch {
			case res != nil && res.Error != "":
				msg = res.Error
			case res != nil:
				msg = fmt.Sprintf("coverage %.1f%% is below the threshold %g%%", res.Coverage.After, res.Coverage.Threshold)
			case msg == "":
				msg = "no result collected"
			}
			state := string(t.State())
			if res != nil && res.State == handofftype.StateCompleted {
				state = "BELOW" // a verdict under the threshold
			}
			fmt.Fprintf(w, "::error file=%s,title=%s::%s\n", ghProperty(t.Module), ghProperty("test generation "+state), ghData(msg))
		}
		if res == nil {
			continue
		}
		for _, d := range res.Tests.Dropped {
			fmt.Fprintf(w, "::warning file=%s,title=%s::%s\n", ghProperty(res.Output),
				ghProperty("generated test "+d.Name+" dropped"), ghData(d.Reason+": "+firstLine(d.Excerpt)))
		}
	}
}

// ghData and ghProperty escape text for workflow commands as the runner
// expects: % CR LF in data, and also : and , in properties.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

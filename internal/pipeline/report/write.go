package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/handoff-dev/handoff/internal/pipeline"
)

// Outputs says where a finished run is shown and written. The zero value
// of every field shows and writes nothing, GitHub's variables aside.
type Outputs struct {
	// Stdout receives the end-of-run text: the timeline, the figures and
	// the per-module table.
	Stdout io.Writer
	// Stderr receives GitHub's annotations when GITHUB_ACTIONS=true.
	Stderr io.Writer
	// Text fixes the layout of the end-of-run text; nil means: fitted to
	// Stdout's width and coloured when Stdout is a terminal (NO_COLOR
	// turns colour off), else PlainText.
	Text *TextStyle
	// ReportPath, when set, receives the run as JSON (Summary.WriteJSON).
	ReportPath string
	// TimelinePath, when set, receives the timeline as a picture: .svg, or
	// .html for a page with the picture and the summary tables.
	TimelinePath string
	// JUnitPath, when set, receives the run as JUnit XML (WriteJUnit).
	JUnitPath string
	// StepSummaryPath receives a Markdown summary, appended. Default: the
	// GITHUB_STEP_SUMMARY variable of Environ, if set.
	StepSummaryPath string
	// Environ is where GITHUB_ACTIONS and GITHUB_STEP_SUMMARY are read;
	// nil means the process's environment.
	Environ []string
}

// Write shows the finished run s on o.Stdout and writes the files o asks
// for: report, timeline picture, JUnit XML, GitHub annotations and step
// summary. An error says which file could not be written; the others are
// written all the same.
func Write(s *pipeline.Summary, o Outputs) error {
	WriteText(orDiscard(o.Stdout), s, o.textStyle())
	var errs []error
	if o.ReportPath != "" {
		errs = append(errs, writeFile(o.ReportPath, s.WriteJSON))
	}
	if p := o.TimelinePath; p != "" {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".html", ".htm":
			errs = append(errs, writeFile(p, func(w io.Writer) error { return WriteHTML(w, s) }))
		default:
			errs = append(errs, writeFile(p, func(w io.Writer) error { return WriteSVG(w, s) }))
		}
	}
	if o.JUnitPath != "" {
		errs = append(errs, writeFile(o.JUnitPath, func(w io.Writer) error { return WriteJUnit(w, s) }))
	}
	if o.getenv("GITHUB_ACTIONS") == "true" {
		// Workflow commands are read from the step's whole output; stderr
		// keeps stdout for the data (--json).
		WriteAnnotations(orDiscard(o.Stderr), s)
	}
	if p := o.stepSummaryPath(); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			err = errors.Join(WriteMarkdown(f, s), f.Close())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("appending to the step summary %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// WriteComparison shows both runs of a comparison (pipeline.Compare), each
// under a line saying which it is and where, as Write does; the report,
// timeline and JUnit files receive the parallel run, whose saving is the
// measured one.
func WriteComparison(c *pipeline.Comparison, o Outputs) error {
	var errs []error
	for _, s := range []*pipeline.Summary{c.Blocking, c.Parallel} {
		if s == nil {
			continue
		}
		mode := string(s.Mode)
		fmt.Fprintf(orDiscard(o.Stdout), "\n%s run, in a scratch copy of %s:\n", strings.ToUpper(mode[:1])+mode[1:], c.Workspace)
		ro := o
		if s.Mode == pipeline.ModeBlocking {
			ro.ReportPath, ro.TimelinePath, ro.JUnitPath = "", "", ""
		}
		errs = append(errs, Write(s, ro))
		if s.Mode == pipeline.ModeBlocking && !s.Interrupted && !s.OK() {
			fmt.Fprintf(orDiscard(o.Stdout), "\nThe blocking run did not succeed, so it is no figure to compare with; the parallel run measures no saving.\n")
		}
	}
	return errors.Join(errs...)
}

// textStyle fits the end-of-run text to a terminal's width, in colour
// unless NO_COLOR is set; anything else gets PlainText.
func (o Outputs) textStyle() TextStyle {
	if o.Text != nil {
		return *o.Text
	}
	width, tty := terminalWidth(o.Stdout)
	if !tty {
		return PlainText
	}
	_, noColour := os.LookupEnv("NO_COLOR")
	return TextStyle{Width: width, Colour: !noColour}
}

func (o Outputs) stepSummaryPath() string {
	if o.StepSummaryPath != "" {
		return o.StepSummaryPath
	}
	return o.getenv("GITHUB_STEP_SUMMARY")
}

// getenv reads a variable of o.Environ, else of the process.
func (o Outputs) getenv(name string) string {
	if o.Environ == nil {
		return os.Getenv(name)
	}
	for i := len(o.Environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(o.Environ[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := errors.Join(write(f), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

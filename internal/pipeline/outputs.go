package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// writeOutputs prints the final summary and writes the files the options
// ask for: report, timeline picture, step summary.
func (r *runner) writeOutputs() error {
	s := r.sum
	s.WriteText(orDiscard(r.o.Stdout))
	var errs []error
	if r.o.ReportPath != "" {
		errs = append(errs, writeFile(r.o.ReportPath, s.WriteJSON))
	}
	if p := r.o.TimelinePath; p != "" {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".html", ".htm":
			errs = append(errs, writeFile(p, s.WriteHTML))
		default:
			errs = append(errs, writeFile(p, s.WriteSVG))
		}
	}
	if p := r.stepSummaryPath(); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			err = errors.Join(s.WriteMarkdown(f), f.Close())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("appending to the step summary %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (r *runner) stepSummaryPath() string {
	if r.o.StepSummaryPath != "" {
		return r.o.StepSummaryPath
	}
	env := r.o.Environ
	if env == nil {
		return os.Getenv("GITHUB_STEP_SUMMARY")
	}
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "GITHUB_STEP_SUMMARY="); ok {
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

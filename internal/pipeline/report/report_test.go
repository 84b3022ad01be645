package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// scenarioSummary is a finished parallel run of the design note's scenario,
// built by hand so its figures are known.
func scenarioSummary() *pipeline.Summary {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	code := 0
	stage := func(name string, kind pipeline.Kind, needs []string, start, end int) *pipeline.StageRecord {
		return &pipeline.StageRecord{Name: name, Kind: kind, Needs: needs, Status: pipeline.StageSucceeded, Started: true,
			Start: ms(start), End: ms(end), ExitCode: &code}
	}
	done := true
	tk := func(id, module string, submitted, started, ended int, after float64) *pipeline.TaskRecord {
		return &pipeline.TaskRecord{ID: id, Stage: "generate", Module: module, Submitted: ms(submitted),
			Status: &handofftype.Status{ID: id, State: handofftype.StateCompleted, Success: &done, StartedAt: at(ms(started)), CompletedAt: at(ms(ended))},
			Result: &handofftype.Result{TaskID: id, State: handofftype.StateCompleted, Success: after >= 80,
				Coverage: handofftype.Coverage{Before: 0, After: after, Threshold: 80},
				Tests:    handofftype.Tests{Kept: []string{"TestA", "TestB", "TestC"}},
				Timings:  handofftype.Timings{Run: ms(ended - started)}}}
	}
	return &pipeline.Summary{
		Pipeline: "inventory", File: "pipeline.yml", RunID: "20260101-120000-abcdef", Mode: pipeline.ModeParallel,
		Concurrency: 2, Started: t0, Wall: ms(10500),
		Stages: []*pipeline.StageRecord{
			stage("testing", pipeline.KindRun, nil, 0, 3000),
			stage("generate", pipeline.KindGenerate, []string{"testing"}, 3000, 3010),
			stage("refactoring", pipeline.KindRun, []string{"testing"}, 3000, 6000),
			stage("deploy", pipeline.KindRun, []string{"refactoring"}, 6000, 9000),
			stage("collect", pipeline.KindCollect, []string{"deploy", "generate"}, 9000, 10500),
		},
		Tasks: []*pipeline.TaskRecord{
			tk("t1", "sku/sku.go", 3005, 3100, 10000, 92.5),
			tk("t2", "stock/stock.go", 3008, 5000, 10400, 61),
		},
	}
}

func TestSummaryFigures(t *testing.T) {
	t.Parallel()
	s := scenarioSummary()
	path, cp := s.CriticalPath()
	require.Equal(t, []string{"testing", "refactoring", "deploy", "collect"}, path)
	require.Equal(t, 10500*time.Millisecond, cp)
	require.Equal(t, 10510*time.Millisecond, s.StageTime())
	// 3 s + 10 ms + 3 s + 3 s of stages, and 6.9 s + 5.4 s of task run time.
	require.Equal(t, 21310*time.Millisecond, s.OneAtATime())
	_, measured := s.Saved()
	require.False(t, measured, "no blocking run recorded: no saving is claimed")
	s.Blocking = &pipeline.BlockingRun{RunID: "b", Wall: 16 * time.Second}
	saved, measured := s.Saved()
	require.True(t, measured)
	require.Equal(t, 5500*time.Millisecond, saved, "blocking wall minus parallel wall")
	require.True(t, strings.HasPrefix(savedText(s), "5.5s (34 %) vs. the blocking run"), savedText(s))
	s.Blocking = &pipeline.BlockingRun{RunID: "b", Wall: 9 * time.Second}
	require.True(t, strings.HasPrefix(savedText(s), "-1.5s (-17 %)"), "a slower run says by how much: %s", savedText(s))
	s.Blocking = nil
	require.True(t, s.OK())

	s.Mode = pipeline.ModeBlocking
	require.Equal(t, 9010*time.Millisecond, s.OneAtATime(), "blocking generate stages already hold their tasks")

	mods := s.Modules()
	require.Len(t, mods, 2)
	require.False(t, mods[1].Success)
	require.InDelta(t, 61.0, mods[1].CoverageAfter, 0)

	s.Stages[3].Status = pipeline.StageFailed
	require.Equal(t, pipeline.ExitFailed, s.ExitCode())
	s.Stages[3].AllowedFailure = true
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "continue-on-error")
	s.Interrupted = true
	require.Equal(t, pipeline.ExitInterrupted, s.ExitCode())
}

// TestSummaryText compares the end-of-run text with the golden files in
// testdata/ at 80 and 160 columns, with and without colour (go test -run
// TestSummaryText -update rewrites them). No line is wider than the style's
// width: a timeline that wraps at 80 columns is unreadable.
func TestSummaryText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		style  TextStyle
	}{
		{"summary.golden", PlainText},
		{"summary-160.golden", TextStyle{Width: 160}},
		{"summary-80-colour.golden", TextStyle{Width: 80, Colour: true}},
		{"summary-160-colour.golden", TextStyle{Width: 160, Colour: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			WriteText(&out, scenarioSummary(), tc.style)
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
			require.Equal(t, tc.style.Colour, strings.Contains(out.String(), "\x1b["), "colour only when asked")
			plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out.String(), "")
			for _, line := range strings.Split(plain, "\n") {
				require.LessOrEqual(t, utf8.RuneCountInString(line), tc.style.Width, "line too wide: %q", line)
			}
		})
	}
}

// TestSVGReadableAnywhere: the timeline picture has an opaque background
// (black text on a transparent picture vanishes in dark viewers), a legend
// for its colours, and a title that says when the run failed.
func TestSVGReadableAnywhere(t *testing.T) {
	t.Parallel()
	s := scenarioSummary()
	var ok bytes.Buffer
	require.NoError(t, WriteSVG(&ok, s))
	wellFormedXML(t, ok.Bytes())
	svg := ok.String()
	require.Contains(t, svg, `<rect x="0" y="0" width="1010"`, "a full-size background first")
	require.Contains(t, svg, `fill="#ffffff"`)
	require.Contains(t, svg, "inventory — succeeded, parallel")
	for _, l := range legend {
		require.Contains(t, svg, ">"+l.label+"</text>", "legend entry")
	}

	s.Stages[3].Status = pipeline.StageFailed
	var failed bytes.Buffer
	require.NoError(t, WriteSVG(&failed, s))
	require.Contains(t, failed.String(), "inventory — FAILED, parallel")
}

// TestJUnit: the JUnit file validates against the schema CI systems read
// (xmllint), stages and modules are cases, a module below its threshold is a
// failure, and a dropped test is skipped with its reason.
func TestJUnit(t *testing.T) {
	t.Parallel()
	xmllint := testenv.LookPath(t, "xmllint", "install libxml2-utils (apt-get install libxml2-utils)")
	s := scenarioSummary()
	s.Tasks[1].Result.Tests.Dropped = []agent.Dropped{{Name: "TestFlaky", Reason: "flaky", Excerpt: "passed 2 of 3 runs\nmore"}}
	s.Tasks[1].Result.Output = "stock/stock_test.go"
	file := filepath.Join(t.TempDir(), "junit.xml")
	f, err := os.Create(file)
	require.NoError(t, err)
	require.NoError(t, WriteJUnit(f, s))
	require.NoError(t, f.Close())
	out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput()
	require.NoError(t, err, "xmllint: %s", out)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(data, &doc))
	require.Len(t, doc.Suites, 2, "stages, and the generate stage's modules")
	require.Len(t, doc.Suites[0].Cases, 5)
	gen := doc.Suites[1]
	require.Equal(t, "sku/sku.go", gen.Cases[0].Name)
	require.Nil(t, gen.Cases[0].Failure)
	var below, dropped *junitCase
	for i, c := range gen.Cases {
		switch c.Name {
		case "stock/stock.go":
			below = &gen.Cases[i]
		case "TestFlaky":
			dropped = &gen.Cases[i]
		}
	}
	require.NotNil(t, below)
	require.NotNil(t, below.Failure)
	require.Contains(t, below.Failure.Message, "below the threshold 80%")
	require.NotNil(t, dropped)
	require.Equal(t, "dropped: flaky", dropped.Skipped.Message)
	require.Equal(t, 1, doc.Failures)
	require.Equal(t, 1, doc.Skipped)
	require.Equal(t, 5+2+3+3+1, doc.Tests, "stages, modules, kept and dropped tests")

	var ann bytes.Buffer
	WriteAnnotations(&ann, s)
	require.Equal(t, "::error file=stock/stock.go,title=test generation BELOW::coverage 61.0%25 is below the threshold 80%25\n"+
		"::warning file=stock/stock_test.go,title=generated test TestFlaky dropped::flaky: passed 2 of 3 runs\n", ann.String())
}

// wellFormedXML parses data and counts its elements by name.
func wellFormedXML(t *testing.T, data []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
}

package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// BlockingRun is a recorded blocking run of a pipeline (`handoff run
// --blocking`): the measured figure a parallel run's saving is computed
// against. Nothing is estimated from it.
type BlockingRun struct {
	RunID   string        `json:"run_id"`
	File    string        `json:"file"`
	Started time.Time     `json:"started_at"`
	Wall    time.Duration `json:"-"`
	WallMS  int64         `json:"wall_ms"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// blockingRecordPath is where the latest successful blocking run of the
// named pipeline is recorded, in the workspace's state folder.
func blockingRecordPath(workspace, pipeline string) string {
	return filepath.Join(workspace, ".handoff", "runs", "blocking-"+unsafeName.ReplaceAllString(pipeline, "_")+".json")
}

// loadBlockingRun reads the recorded blocking run, or returns nil when
// there is none (or it cannot be read: a parallel run must not fail over a
// comparison figure).
func loadBlockingRun(workspace, pipeline string) *BlockingRun {
	b, err := os.ReadFile(blockingRecordPath(workspace, pipeline))
	if err != nil {
		return nil
	}
	var br BlockingRun
	if json.Unmarshal(b, &br) != nil || br.WallMS <= 0 {
		return nil
	}
	br.Wall = time.Duration(br.WallMS) * time.Millisecond
	return &br
}

// recordBlockingRun keeps s, a finished blocking run in which every stage
// succeeded, as the figure later parallel runs of the pipeline compare with.
func recordBlockingRun(workspace string, s *Summary) error {
	if s.Mode != ModeBlocking || s.Interrupted || !s.OK() {
		return nil
	}
	br := BlockingRun{RunID: s.RunID, File: s.File, Started: s.Started, WallMS: s.Wall.Milliseconds()}
	b, err := json.MarshalIndent(br, "", "  ")
	if err != nil {
		return err
	}
	p := blockingRecordPath(workspace, s.Pipeline)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("recording the blocking run: %w", err)
	}
	// A torn file reads as no record (loadBlockingRun): no need to rename.
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording the blocking run: %w", err)
	}
	return nil
}

package handoff

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Benchmarks for the figures in docs/benchmarks.md. Each reports p50 and p99
// in milliseconds as custom metrics:
//
//	go test -run '^$' -bench . -benchtime 200x .
//
// PostgreSQL variants run when HANDOFF_TEST_POSTGRES_URL is set.

type idleAgent struct{}

func (idleAgent) Name() string        { return "idle" }
func (idleAgent) Languages() []string { return []string{"go", "python"} }
func (idleAgent) Run(context.Context, *agent.Task) (*agent.Report, error) {
	return &agent.Report{}, nil
}

// bigWorkspace makes a committed git repository of n Go files, a few of
// them modified, like a real working tree.
func bigWorkspace(b *testing.B, n int) string {
	b.Helper()
	ws := b.TempDir()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(ws, "go.mod"), []byte("module example.com/big\n\ngo 1.22\n"), 0o644))
	for i := range n - 1 {
		dir := filepath.Join(ws, fmt.Sprintf("pkg%02d", i/20))
		must(os.MkdirAll(dir, 0o755))
		body := fmt.Sprintf("package pkg%02d\n\n// F%d returns its input.\nfunc F%d(x int) int { return x + %d }\n", i/20, i, i, i)
		must(os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.go", i)), []byte(body), 0o644))
	}
	// Files older than the index, as in a real checkout: files written in
	// the same instant as the index would be re-hashed on every snapshot
	// (git's "racy" entries), which no user's working tree looks like.
	past := time.Now().Add(-time.Hour)
	must(filepath.WalkDir(ws, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, past, past)
	}))
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"},
		{"-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	for i := range 5 { // a dirty working tree
		p := filepath.Join(ws, "pkg00", fmt.Sprintf("f%03d.go", i))
		must(os.WriteFile(p, []byte(fmt.Sprintf("package pkg00\n\nfunc F%d(x int) int { return x * 2 }\n", i)), 0o644))
	}
	return ws
}

func benchDatabases(b *testing.B) map[string]string {
	dbs := map[string]string{"sqlite": ""}
	if u := os.Getenv("HANDOFF_TEST_POSTGRES_URL"); u != "" {
		dbs["postgres"] = u
	}
	return dbs
}

type latencies []time.Duration

func (l latencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	q := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), prefix+"p50-ms")
	b.ReportMetric(q(0.99), prefix+"p99-ms")
}

func benchClient(b *testing.B, ws, dbURL string) *Client {
	b.Helper()
	if dbURL != "" {
		// A fresh schema per run keeps the PostgreSQL figures independent.
		dbURL = testenv.PostgresSchema(b)
	}
	c, err := Open(context.Background(), Config{Workspace: ws, DatabaseURL: dbURL,
		Agents: []agent.Agent{idleAgent{}}, DefaultAgent: "idle"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(context.Background()) })
	return c
}

type bareArgs struct {
	N int `json:"n"`
}

func (bareArgs) Kind() string { return "bench_bare" }

// BenchmarkSubmit measures Submit on a git workspace of 1,000 files with 5
// modified, split into its snapshot and enqueue parts, against a bare River
// insert on the same database and a bare git write-tree of the workspace.
// "submit" and "snapshot" submit the workspace as it is, again and again, so
// the snapshot reuses the last tree; the "-changed" variants rewrite one more
// file before each submit, so the tree is written every time.
func BenchmarkSubmit(b *testing.B) {
	ws := bigWorkspace(b, 1000)
	ctx := context.Background()
	b.Run("git-write-tree", func(b *testing.B) {
		var l latencies
		for b.Loop() {
			t0 := time.Now()
			cmd := exec.Command("git", "write-tree")
			cmd.Dir = ws
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git write-tree: %v: %s", err, out)
			}
			l = append(l, time.Since(t0))
		}
		l.report(b, "")
	})
	changing := filepath.Join(ws, "pkg01", "f020.go")
	change := func(b *testing.B, i int) {
		if err := os.WriteFile(changing, fmt.Appendf(nil, "package pkg01\n\n// F20 changed %d times.\nfunc F20(x int) int { return x }\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for name, dbURL := range benchDatabases(b) {
		b.Run(name, func(b *testing.B) {
			c := benchClient(b, ws, dbURL)
			submit := func(b *testing.B, before func(b *testing.B, i int)) {
				var l latencies
				for i := 0; b.Loop(); i++ {
					before(b, i)
					t0 := time.Now()
					if _, err := c.Submit(ctx, Request{Module: "pkg00/f001.go"}); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			}
			snapshot := func(b *testing.B, before func(b *testing.B, i int)) {
				var l latencies
				for i := 0; b.Loop(); i++ {
					before(b, i)
					t0 := time.Now()
					if _, err := workspace.Take(ctx, c.workspace, fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			}
			unchanged := func(*testing.B, int) {}
			b.Run("submit", func(b *testing.B) { submit(b, unchanged) })
			b.Run("snapshot", func(b *testing.B) { snapshot(b, unchanged) })
			b.Run("submit-changed", func(b *testing.B) { submit(b, change) })
			b.Run("snapshot-changed", func(b *testing.B) { snapshot(b, change) })
			b.Run("enqueue", func(b *testing.B) {
				req, lang, err := c.normalize(Request{Module: "pkg00/f001.go"}, localFiles{c})
				if err != nil {
					b.Fatal(err)
				}
				snap := workspace.Snapshot{Workspace: ws, Kind: workspace.KindGit, Ref: "0"}
				var l latencies
				for i := 0; b.Loop(); i++ {
					rec := &store.Record{ID: fmt.Sprintf("enq-%d-%d", time.Now().UnixNano(), i), RequestHash: "h",
						Request: req, Snapshot: snap, Language: lang, State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now()}
					t0 := time.Now()
					if err := c.eng.Insert(ctx, rec, 3, req.Timeout); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			})
			b.Run("river-insert", func(b *testing.B) {
				rc, err := river.NewClient(c.db.Driver, &river.Config{})
				if err != nil {
					b.Fatal(err)
				}
				var l latencies
				for i := 0; b.Loop(); i++ {
					t0 := time.Now()
					if _, err := rc.Insert(ctx, bareArgs{N: i}, nil); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			})
			b.Run("status", func(b *testing.B) {
				id, err := c.Submit(ctx, Request{Module: "pkg00/f001.go"})
				if err != nil {
					b.Fatal(err)
				}
				var l latencies
				for b.Loop() {
					t0 := time.Now()
					if _, err := c.Status(ctx, id); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			})
		})
	}
}

// BenchmarkSubmitTree measures SubmitTree on a stored tree of 1,000 files
// (the HTTP API's submit): "changed" stores a new tree with one file
// changed before each submit; "same" submits the same tree again.
// "tree-read" is the floor of resolving paths from the tree's entries:
// reading the stored tree alone, before any check or insert.
func BenchmarkSubmitTree(b *testing.B) {
	ws := bigWorkspace(b, 1000)
	ctx := context.Background()
	for name, dbURL := range benchDatabases(b) {
		b.Run(name, func(b *testing.B) {
			c := benchClient(b, b.TempDir(), dbURL)
			base, _, err := c.snaps.Put(ctx, &snapstore.Dir{Root: ws, Skip: func(p string) bool { return p == ".git" }})
			if err != nil {
				b.Fatal(err)
			}
			tree, err := c.snaps.Tree(ctx, base)
			if err != nil {
				b.Fatal(err)
			}
			req := Request{Workspace: "/home/dev/big", Module: "pkg00/f001.go"}
			changed := func(b *testing.B, i int) string {
				content := fmt.Appendf(nil, "package pkg01\n\n// F20 changed %d times.\nfunc F20(x int) int { return x }\n", i)
				id := snapstore.BlobID(content)
				if err := c.snaps.PutBlob(ctx, id, content); err != nil {
					b.Fatal(err)
				}
				t := snapstore.Tree{Entries: slices.Clone(tree.Entries)}
				for k, e := range t.Entries {
					if e.Path == "pkg01/f020.go" {
						t.Entries[k].ID = id
					}
				}
				tid, missing, err := c.snaps.PutTree(ctx, t)
				if err != nil || len(missing) > 0 {
					b.Fatal(err, missing)
				}
				return tid
			}
			run := func(b *testing.B, next func(b *testing.B, i int) string) {
				var l latencies
				for i := 0; b.Loop(); i++ {
					tid := next(b, i)
					t0 := time.Now()
					if _, err := c.SubmitTree(ctx, tid, []Request{req}); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			}
			b.Run("changed", func(b *testing.B) { run(b, changed) })
			b.Run("same", func(b *testing.B) { run(b, func(*testing.B, int) string { return base }) })
			b.Run("tree-read", func(b *testing.B) {
				var l latencies
				for i := 0; b.Loop(); i++ {
					tid := changed(b, i)
					t0 := time.Now()
					if _, err := c.snaps.Tree(ctx, tid); err != nil {
						b.Fatal(err)
					}
					l = append(l, time.Since(t0))
				}
				l.report(b, "")
			})
		})
	}
}

// BenchmarkCompletionToResults measures how long after a task's result is
// recorded a waiter returns: in the process that ran it (woken by a signal)
// and in another client that only polls the database (poll interval 100ms).
func BenchmarkCompletionToResults(b *testing.B) {
	ws := bigWorkspace(b, 20)
	for name, dbURL := range benchDatabases(b) {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			c := benchClient(b, ws, dbURL)
			// Swap in an engine whose attempts return at once, so only the
			// engine's own path is measured.
			eng, err := engine.New(engine.Config{DB: c.db, Workers: 4, FetchInterval: 20 * time.Millisecond,
				Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
					return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
				}})
			if err != nil {
				b.Fatal(err)
			}
			c.eng = eng
			if err := c.StartWorker(ctx); err != nil {
				b.Fatal(err)
			}
			other, err := Open(ctx, Config{Workspace: ws, DatabaseURL: c.db.URL, Agents: []agent.Agent{idleAgent{}}})
			if err != nil {
				b.Fatal(err)
			}
			defer other.Close(context.Background())
			measure := func(b *testing.B, waiter *Client, poll time.Duration) {
				var l latencies
				for b.Loop() {
					id, err := c.Submit(ctx, Request{Module: "pkg00/f001.go"})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := waiter.Wait(ctx, id, WaitOptions{PollInterval: poll, Timeout: time.Minute}); err != nil {
						b.Fatal(err)
					}
					back := time.Now()
					rec, err := c.store.Get(ctx, id)
					if err != nil {
						b.Fatal(err)
					}
					l = append(l, back.Sub(rec.CompletedAt))
				}
				l.report(b, "")
			}
			b.Run("in-process", func(b *testing.B) { measure(b, c, time.Hour) })
			b.Run("other-client-poll-100ms", func(b *testing.B) { measure(b, other, 100*time.Millisecond) })
		})
	}
}

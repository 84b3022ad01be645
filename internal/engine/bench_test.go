package engine_test

import (
	"bytes"
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// BenchmarkThroughput measures tasks per second through the engine (fetch,
// mark running, run, record the result, complete the job) with an attempt
// that returns at once:
//
//	go test -run '^$' -bench Throughput -benchtime 2000x ./internal/engine/
func BenchmarkThroughput(b *testing.B) {
	dbs := map[string]func() string{"sqlite": func() string { return b.TempDir() + "/h.db" }}
	if os.Getenv("HANDOFF_TEST_POSTGRES_URL") != "" {
		dbs["postgres"] = func() string { return testenv.PostgresSchema(b) }
	}
	for name, mk := range dbs {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db, err := database.Open(ctx, mk(), database.Options{Workers: 100})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var done atomic.Int64
			all := make(chan struct{})
			n := int64(b.N)
			eng, err := engine.New(engine.Config{DB: db, Workers: 100, FetchInterval: 10 * time.Millisecond,
				Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
					return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
				}})
			if err != nil {
				b.Fatal(err)
			}
			cov := 80.0
			for i := range b.N {
				rec := &store.Record{ID: fmt.Sprintf("tp-%d", i), RequestHash: "h", Language: "go",
					State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
					Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Coverage: &cov}}
				if err := eng.Insert(ctx, rec, 3, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
			go func() {
				for {
					if left, err := eng.Store().CountLive(ctx); err == nil && left == 0 {
						done.Store(n)
						close(all)
						return
					}
					// Polling the database (an index read of the tasks left): the
					// completion is in another goroutine pool.
					time.Sleep(10 * time.Millisecond)
				}
			}()
			b.ResetTimer()
			start := time.Now()
			if err := eng.Start(ctx, engine.Serving{}); err != nil {
				b.Fatal(err)
			}
			<-all
			elapsed := time.Since(start)
			b.StopTimer()
			var notCompleted int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_task WHERE state <> 'COMPLETED'`).Scan(&notCompleted); err != nil || notCompleted > 0 {
				b.Fatalf("%d tasks ended otherwise than COMPLETED (%v)", notCompleted, err)
			}
			_ = eng.Stop(ctx, time.Second)
			eng.Close()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
		})
	}
}

// postgresBench returns a fresh PostgreSQL schema, or skips b without
// HANDOFF_TEST_POSTGRES_URL: these benchmarks measure notifications, which
// SQLite has not.
func postgresBench(b *testing.B) string {
	if os.Getenv("HANDOFF_TEST_POSTGRES_URL") == "" {
		b.Skip("skipped: set HANDOFF_TEST_POSTGRES_URL to measure PostgreSQL's notifications")
	}
	return testenv.PostgresSchema(b)
}

// percentiles reports the p50 and p99 of ls in milliseconds.
func percentiles(b *testing.B, ls []time.Duration) {
	if len(ls) == 0 {
		return
	}
	slices.Sort(ls)
	q := func(p float64) float64 {
		return float64(ls[min(len(ls)-1, int(p*float64(len(ls))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkThroughputProcesses measures tasks per second on PostgreSQL
// through 1 and 2 worker processes (100 worker slots each) with attempts
// that return at once, from the moment the workers start on b.N queued
// tasks until the last is recorded:
//
//	go test -run '^$' -bench ThroughputProcesses -benchtime 4000x ./internal/engine/
func BenchmarkThroughputProcesses(b *testing.B) {
	url := postgresBench(b)
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("processes-%d", procs), func(b *testing.B) {
			ctx := context.Background()
			db, err := database.Open(ctx, url, database.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			eng, err := engine.New(engine.Config{DB: db})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			cov := 80.0
			for start := 0; start < b.N; start += 500 {
				var ins []engine.Insertion
				for i := start; i < min(start+500, b.N); i++ {
					rec := &store.Record{ID: fmt.Sprintf("tp%d-%d-%d", procs, time.Now().UnixNano(), i), RequestHash: "h",
						Language: "go", State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
						Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Coverage: &cov}}
					ins = append(ins, engine.Insertion{Record: rec, Priority: 3, Timeout: time.Minute})
				}
				if err := eng.InsertMany(ctx, ins); err != nil {
					b.Fatal(err)
				}
			}
			// The workers' connections carry a name of their own, so that
			// their server processes' CPU time can be read.
			app := fmt.Sprintf("handoff_bench_%d_%d", os.Getpid(), procs)
			wurl, err := neturl.Parse(url)
			if err != nil {
				b.Fatal(err)
			}
			q := wurl.Query()
			q.Set("application_name", app)
			wurl.RawQuery = q.Encode()
			workers := make([]*child, procs)
			for i := range workers {
				workers[i] = startChild(b, childConfig{URL: wurl.String(), Role: "worker", Run: "instant", Workers: 100, Hold: true})
				workers[i].expect("ready")
			}
			b.ResetTimer()
			start := time.Now()
			for _, w := range workers {
				w.send("go")
			}
			for {
				left, err := eng.Store().CountLive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if left == 0 {
					break
				}
				// Polling the database (an index read of the tasks left): the
				// work is in other processes.
				time.Sleep(10 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			var notCompleted int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_task WHERE state <> 'COMPLETED'`).Scan(&notCompleted); err != nil || notCompleted > 0 {
				b.Fatalf("%d tasks ended otherwise than COMPLETED (%v)", notCompleted, err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
			// Where the time goes: CPU per task in the workers and in their
			// PostgreSQL server processes (2 cores make 1 ms of CPU per task
			// a ceiling of 2,000 tasks/s).
			server := serverCPU(b, db, app)
			var own time.Duration
			for _, w := range workers {
				if err := w.stop(); err != nil {
					b.Fatal(err)
				}
				own += w.cpu()
			}
			perTask := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(perTask(own), "worker-cpu-ms/task")
			b.ReportMetric(perTask(server), "server-cpu-ms/task")
		})
	}
}

// serverCPU adds up the CPU time of the PostgreSQL server processes serving
// connections named app (they run on this machine: the benchmarks run
// against a local server). Processes whose connection already ended are
// not counted.
func serverCPU(b *testing.B, db *database.DB, app string) time.Duration {
	rows, err := db.SQL.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Skipf("skipped: the PostgreSQL server's processes are not readable here: %v", err)
		}
		// utime and stime are the 14th and 15th fields, in clock ticks
		// (100 a second on Linux), counted after the parenthesised name.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		for _, v := range f[11:13] {
			n, err := strconv.Atoi(v)
			if err != nil {
				b.Fatal(err)
			}
			total += time.Duration(n) * 10 * time.Millisecond
		}
	}
	return total
}

// BenchmarkWakeAcrossProcesses measures how long after a task's completion
// is committed a waiter in another process, which never polls, sees it
// final (woken by the notification, then reading the task as Wait does):
//
//	go test -run '^$' -bench WakeAcrossProcesses -benchtime 200x ./internal/engine/
func BenchmarkWakeAcrossProcesses(b *testing.B) {
	url := postgresBench(b)
	ctx := context.Background()
	db, err := database.Open(ctx, url, database.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	gate := make(chan struct{})
	started := make(chan string, 1)
	eng, err := engine.New(engine.Config{DB: db, Workers: 1, FetchInterval: 10 * time.Millisecond,
		Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			started <- rec.ID
			<-gate
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Start(ctx, engine.Serving{}); err != nil {
		b.Fatal(err)
	}
	defer eng.Stop(ctx, time.Second) //nolint:errcheck // the benchmark is over
	waiter := startChild(b, childConfig{URL: url, Role: "waiter"})
	waiter.expect("ready")
	cov := 80.0
	var ls []time.Duration
	for i := 0; b.Loop(); i++ {
		rec := &store.Record{ID: fmt.Sprintf("wake-%d-%d", time.Now().UnixNano(), i), RequestHash: "h",
			Language: "go", State: handofftype.StateQueued, MaxAttempts: 1, CreatedAt: time.Now(),
			Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Coverage: &cov}}
		if err := eng.Insert(ctx, rec, 3, time.Minute); err != nil {
			b.Fatal(err)
		}
		<-started
		waiter.send(rec.ID)
		waiter.expect("waiting")
		// The worker's own engine signals its waiters right after the
		// commit; that is the moment measured from.
		final, release := eng.Done(rec.ID)
		gate <- struct{}{}
		<-final
		done := time.Now()
		release()
		ls = append(ls, unixNano(b, waiter.expect("final")[2]).Sub(done))
	}
	percentiles(b, ls)
}

// BenchmarkCancelAcrossProcesses measures how long after Cancel is called
// the attempt that a worker in another process runs is stopped, with that
// worker's heartbeat an hour apart:
//
//	go test -run '^$' -bench CancelAcrossProcesses -benchtime 200x ./internal/engine/
func BenchmarkCancelAcrossProcesses(b *testing.B) {
	url := postgresBench(b)
	ctx := context.Background()
	db, err := database.Open(ctx, url, database.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Config{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	worker := startChild(b, childConfig{URL: url, Role: "worker", Run: "block", Workers: 4, Heartbeat: time.Hour})
	worker.expect("started")
	cov := 80.0
	var ls []time.Duration
	for i := 0; b.Loop(); i++ {
		rec := &store.Record{ID: fmt.Sprintf("cancel-%d-%d", time.Now().UnixNano(), i), RequestHash: "h",
			Language: "go", State: handofftype.StateQueued, MaxAttempts: 1, CreatedAt: time.Now(),
			Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Coverage: &cov}}
		if err := eng.Insert(ctx, rec, 3, time.Hour); err != nil {
			b.Fatal(err)
		}
		worker.expect("running")
		asked := time.Now()
		if _, err := eng.Cancel(ctx, rec.ID); err != nil {
			b.Fatal(err)
		}
		ls = append(ls, unixNano(b, worker.expect("stopped")[2]).Sub(asked))
	}
	percentiles(b, ls)
}

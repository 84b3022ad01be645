package engine_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
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
			db, err := engine.Open(ctx, mk())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var done atomic.Int64
			all := make(chan struct{})
			n := int64(b.N)
			eng, err := engine.New(engine.Config{DB: db, Workers: 100, FetchInterval: 10 * time.Millisecond,
				Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*task.Result, error) {
					return &task.Result{TaskID: rec.ID, Success: true}, nil
				}})
			if err != nil {
				b.Fatal(err)
			}
			cov := 80.0
			for i := range b.N {
				rec := &store.Record{ID: fmt.Sprintf("tp-%d", i), RequestHash: "h", Snapshot: []byte(`{}`), Language: "go",
					State: task.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
					Request: task.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Coverage: &cov}}
				if err := eng.Insert(ctx, rec, 3, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
			go func() {
				for {
					var left int
					if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_task WHERE state <> 'COMPLETED'`).Scan(&left); err == nil && left == 0 {
						done.Store(n)
						close(all)
						return
					}
					time.Sleep(5 * time.Millisecond) // polling the database: the completion is in another goroutine pool
				}
			}()
			b.ResetTimer()
			start := time.Now()
			if err := eng.Start(ctx); err != nil {
				b.Fatal(err)
			}
			<-all
			elapsed := time.Since(start)
			b.StopTimer()
			_ = eng.Stop(ctx, time.Second)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
		})
	}
}

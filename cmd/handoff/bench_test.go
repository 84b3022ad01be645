package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// BenchmarkWorkerProcesses: 40 tasks, each an exec agent taking 2 s and
// then real Go verification, worked by 1, 2 and 4 `handoff worker`
// processes of --concurrency 4 on one PostgreSQL database. It reports the
// wall time from the first worker's start to the last task's end, and
// tasks per second. Run:
//
//	HANDOFF_TEST_POSTGRES_URL=postgres://… go test -run '^$' -bench BenchmarkWorkerProcesses -benchtime 1x ./cmd/handoff/
func BenchmarkWorkerProcesses(b *testing.B) {
	const tasks = 40
	for _, procs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", procs), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dbURL := testenv.PostgresSchema(b)
				files := map[string]string{"go.mod": "module example.com/many\n\ngo 1.22\n"}
				for i := range tasks {
					files[fmt.Sprintf("p%02d/calc.go", i)] = strings.Replace(agenttest.GoModule, "package calc", fmt.Sprintf("package p%02d", i), 1)
				}
				ws := testenv.GitRepo(b, files)
				// The tests the agent writes name the package of the module it is given.
				agentCmd := "sleep 2; pkg=$(basename \"$(dirname \"$HANDOFF_OUTPUT_PATH\")\"); " +
					"sed \"s/^package calc/package $pkg/\" > \"$HANDOFF_OUTPUT_PATH\" <<'GO'\n" + agenttest.GoModuleTests + "GO\n"
				env := append(os.Environ(), "HANDOFF_DATABASE_URL="+dbURL, "HANDOFF_NO_AUTOSTART=1",
					"HANDOFF_EXEC_COMMAND="+agentCmd, "HANDOFF_WORK_DIR="+b.TempDir())
				run := func(args ...string) string {
					cmd := exec.Command(binary, args...)
					cmd.Dir, cmd.Env = ws, env
					var out, errb bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &errb
					if err := cmd.Run(); err != nil {
						b.Fatalf("handoff %v: %v\n%s", args, err, errb.String())
					}
					return out.String()
				}
				ids := make([]string, tasks)
				for i := range tasks {
					ids[i] = strings.TrimSpace(run("submit", "--no-worker", "--agent", "exec", "--module", fmt.Sprintf("p%02d/calc.go", i)))
				}
				b.StartTimer()
				start := time.Now()
				var workers []*exec.Cmd
				for range procs {
					cmd := exec.Command(binary, "worker", "--concurrency", "4")
					cmd.Dir, cmd.Env = ws, env
					cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					workers = append(workers, cmd)
				}
				for _, id := range ids {
					out := run("wait", id, "--json", "--wait-timeout", "10m")
					if !strings.Contains(out, `"success": true`) {
						b.Fatalf("task %s did not succeed:\n%s", id, out)
					}
				}
				wall := time.Since(start)
				b.StopTimer()
				for _, w := range workers {
					_ = w.Process.Signal(syscall.SIGTERM)
					_ = w.Wait()
				}
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(float64(tasks)/wall.Seconds(), "tasks/s")
			}
		})
	}
}

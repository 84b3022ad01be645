package handoff_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/server"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// reportLatencies reports the p50 and p99 of l in milliseconds.
func reportLatencies(b *testing.B, l []time.Duration) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	q := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkRemoteSubmit measures Remote.Submit of a 1,000-file git
// workspace with one file rewritten before each submit, against the HTTP
// API on loopback (an httptest server around internal/server, its
// database real): the client snapshots and hashes the workspace, posts the
// tree, puts the one blob the server lacks, posts the tree again and
// posts the task, which the server validates against the stored tree.
func BenchmarkRemoteSubmit(b *testing.B) {
	files := map[string]string{"go.mod": "module example.com/big\n\ngo 1.22\n"}
	for i := range 999 {
		files[fmt.Sprintf("pkg%02d/f%03d.go", i/20, i)] = fmt.Sprintf("package pkg%02d\n\n// F%d returns its input.\nfunc F%d(x int) int { return x + %d }\n", i/20, i, i, i)
	}
	ws := testenv.GitRepo(b, files)
	ctx := context.Background()
	for name, mk := range testenv.Databases() {
		if name == "postgres" && os.Getenv("HANDOFF_TEST_POSTGRES_URL") == "" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			c, err := handoff.Open(ctx, handoff.Config{Workspace: b.TempDir(), DatabaseURL: mk(b), Agents: []agent.Agent{idle{}}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close(context.Background()) })
			tok, _, err := c.TaskStore().CreateToken(ctx, "bench", []string{"admin"})
			if err != nil {
				b.Fatal(err)
			}
			srv := server.New(server.Config{Client: c, Rate: rate.Inf})
			hs := httptest.NewServer(srv)
			b.Cleanup(func() { hs.Close(); srv.Close() })
			r, err := handoff.OpenRemote(handoff.RemoteConfig{Server: hs.URL, Token: tok, Workspace: ws,
				Agents: []agent.Agent{idle{}}, DefaultAgent: "idle"})
			if err != nil {
				b.Fatal(err)
			}
			req := handoff.Request{Module: "pkg00/f001.go"}
			if _, err := r.Submit(ctx, req); err != nil { // the first submit uploads every file
				b.Fatal(err)
			}
			var l []time.Duration
			for i := 0; b.Loop(); i++ {
				body := fmt.Appendf(nil, "package pkg01\n\n// F20 changed %d times.\nfunc F20(x int) int { return x }\n", i)
				if err := os.WriteFile(filepath.Join(ws, "pkg01/f020.go"), body, 0o644); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if _, err := r.Submit(ctx, req); err != nil {
					b.Fatal(err)
				}
				l = append(l, time.Since(t0))
			}
			reportLatencies(b, l)
		})
	}
}

// idle is an agent that is never run: the benchmarks only submit.
type idle struct{}

func (idle) Name() string        { return "idle" }
func (idle) Languages() []string { return []string{"go", "python"} }
func (idle) Run(ctx context.Context, _ *agent.Task) (*agent.Report, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// BenchmarkLongPolls holds 100 long polls (GET /v1/tasks/{id}/result?wait=60s)
// on one real `handoff serve` process and reports its resident memory
// (VmRSS) while they are held, then cancels the task, which ends all 100.
func BenchmarkLongPolls(b *testing.B) {
	const polls = 100
	bin := filepath.Join(b.TempDir(), "handoff")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/handoff").CombinedOutput(); err != nil {
		b.Fatalf("building handoff: %v\n%s", err, out)
	}
	dir := b.TempDir()
	b.Setenv("HANDOFF_EXEC_COMMAND", "true") // the exec agent is ready; nothing runs it
	env := append(os.Environ(), "HANDOFF_NO_AUTOSTART=1", "HANDOFF_DATABASE_URL="+filepath.Join(dir, "handoff.db"))
	if u := os.Getenv("HANDOFF_TEST_POSTGRES_URL"); u != "" {
		env = append(env, "HANDOFF_DATABASE_URL="+testenv.PostgresSchema(b))
	}
	tokCmd := exec.Command(bin, "token", "create", "--name", "bench", "--scope", "admin")
	tokCmd.Dir, tokCmd.Env = dir, env
	out, err := tokCmd.Output()
	if err != nil {
		b.Fatalf("token create: %v", err)
	}
	tok := strings.TrimSpace(string(out))

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--rate", "10000", "--burst", "10000")
	cmd.Dir, cmd.Env = dir, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(30 * time.Second):
		b.Fatal("handoff serve never said where it listens")
	}
	ws := testenv.GitRepo(b, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
	r, err := handoff.OpenRemote(handoff.RemoteConfig{Server: url, Token: tok, Workspace: ws, DefaultAgent: "exec"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: polls}}
	idleRSS := rss(b, cmd.Process.Pid)
	var peak float64
	for b.Loop() {
		id, err := r.Submit(ctx, handoff.Request{Module: "calc.go"}) // queued: no worker runs it
		if err != nil {
			b.Fatal(err)
		}
		before := fds(b, cmd.Process.Pid)
		var wg sync.WaitGroup
		codes := make(chan int, polls)
		for range polls {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", url+"/v1/tasks/"+id+"/result?wait=60s", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := hc.Do(req)
				if err != nil {
					codes <- 0
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			})
		}
		// Every poll is held once the server has a connection open for each.
		for deadline := time.Now().Add(30 * time.Second); fds(b, cmd.Process.Pid) < before+polls; {
			if time.Now().After(deadline) {
				b.Fatalf("the server holds %d connections of %d", fds(b, cmd.Process.Pid)-before, polls)
			}
			time.Sleep(10 * time.Millisecond) // polling /proc, not waiting on the server
		}
		peak = max(peak, rss(b, cmd.Process.Pid))
		if _, err := r.Cancel(ctx, id); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusOK {
				b.Fatalf("a long poll answered %d, not 200 with the cancelled task's result", code)
			}
		}
	}
	b.ReportMetric(idleRSS, "idle-rss-MiB")
	b.ReportMetric(peak, "rss-MiB")
}

// rss reads a process's resident memory from /proc, in MiB.
func rss(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}

// fds counts a process's open file descriptors.
func fds(b *testing.B, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		b.Fatal(err)
	}
	return len(entries)
}

package builtin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// statusCrashed marks a case during which the probe process died (os.Exit,
// a fatal runtime error, a panic in another goroutine).
const statusCrashed = "crashed"

// maxRestarts bounds how often one batch restarts the probe after a case
// that ended it.
const maxRestarts = 30

// runBoth runs the cases twice at once, in order and in reverse order, so
// that calls whose results depend on time, randomness, map order or on the
// calls made before them show up as differences.
func (p *probe) runBoth(ctx context.Context, cases []*proberuntime.HpCase) (fwd, rev map[int]*proberuntime.HpOutcome, err error) {
	reversed := make([]*proberuntime.HpCase, len(cases))
	for i, c := range cases {
		reversed[len(cases)-1-i] = c
	}
	var wg sync.WaitGroup
	var errF, errR error
	p.runs += 2
	n := strconv.Itoa(p.runs)
	wg.Add(2)
	go func() { defer wg.Done(); fwd, errF = p.run(ctx, cases, "f"+n) }()
	go func() { defer wg.Done(); rev, errR = p.run(ctx, reversed, "r"+n) }()
	wg.Wait()
	if errF != nil {
		return nil, nil, errF
	}
	return fwd, rev, errR
}

// run runs a batch of cases in one probe process, restarting it after a
// case that ended it, and returns the outcome of every case by ID.
func (p *probe) run(ctx context.Context, cases []*proberuntime.HpCase, name string) (map[int]*proberuntime.HpOutcome, error) {
	return p.runCases(ctx, cases, name, p.callTimeout, maxRestarts, nil)
}

// runCases is run with a time limit per call, a bound on restarts, and
// resume, which, given the index of the case that ended the process, says
// where to start again (nil: the case after it).
func (p *probe) runCases(ctx context.Context, cases []*proberuntime.HpCase, name string, callTimeout time.Duration,
	maxRestarts int, resume func(ended int) int) (map[int]*proberuntime.HpOutcome, error) {
	in := filepath.Join(p.dir, "in-"+name+".json")
	out := filepath.Join(p.dir, "out-"+name+".jsonl")
	data, err := json.Marshal(cases)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(in, data, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(in)
	defer os.Remove(out)
	results := map[int]*proberuntime.HpOutcome{}
	from := 0
	for restart := 0; from < len(cases); restart++ {
		if restart > maxRestarts {
			for _, c := range cases[from:] {
				results[c.ID] = &proberuntime.HpOutcome{ID: c.ID, Status: statusCrashed, Detail: "not run: the probe crashed too often"}
			}
			break
		}
		var stderr bytes.Buffer
		res, err := sandbox.Run(ctx, sandbox.Cmd{
			Args: []string{p.bin, "-test.run=^" + probeTest + "$", "-test.count=1"},
			Dir:  p.dir,
			Env: []string{
				proberuntime.HpEnvIn + "=" + in,
				proberuntime.HpEnvOut + "=" + out,
				proberuntime.HpEnvFrom + "=" + strconv.Itoa(from),
				proberuntime.HpEnvTimeout + "=" + strconv.FormatInt(callTimeout.Milliseconds(), 10),
				proberuntime.HpEnvChdir + "=" + p.m.dir,
			},
			Stderr:  &limitedBuffer{buf: &stderr, max: 16 << 10},
			Timeout: time.Duration(len(cases)-from)*callTimeout + time.Minute,
			Isolate: true,
			// As in verification, the task directory is the one place
			// the code under test may write; functions that do I/O are
			// not probed at all.
			Writable: []string{p.m.taskDir},
		})
		if err != nil {
			return nil, fmt.Errorf("running the probe: %w", err)
		}
		if res.Cancelled || ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := readOutcomes(out, results); err != nil {
			return nil, err
		}
		next := from
		for next < len(cases) && results[cases[next].ID] != nil {
			next++
		}
		if next == len(cases) {
			break
		}
		if res.ExitCode == proberuntime.HpExitTimeout && next > from && results[cases[next-1].ID].Status == proberuntime.HpStatusTimeout {
			// The probe stopped after the call that timed out, whose
			// outcome it wrote; the case at next has not run.
			from = next
			if resume != nil {
				from = resume(next - 1)
			}
			continue
		}
		// The case at next ended the process without an outcome.
		detail := "the probe process ended during this call"
		if res.TimedOut {
			detail = "the probe process timed out during this call"
		}
		if s := tail(stderr.String(), 300); s != "" {
			detail += ": " + s
		}
		results[cases[next].ID] = &proberuntime.HpOutcome{ID: cases[next].ID, Status: statusCrashed, Detail: detail}
		from = next + 1
		if resume != nil {
			from = resume(next)
		}
	}
	return results, nil
}

// readOutcomes reads the probe's output file; a torn last line is ignored.
func readOutcomes(path string, into map[int]*proberuntime.HpOutcome) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var o proberuntime.HpOutcome
		if json.Unmarshal(sc.Bytes(), &o) != nil {
			continue
		}
		into[o.ID] = &o
	}
	return sc.Err()
}

// limitedBuffer keeps the last max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	if l.buf.Len() > l.max {
		keep := l.buf.Bytes()[l.buf.Len()-l.max:]
		nb := bytes.NewBuffer(append([]byte(nil), keep...))
		*l.buf = *nb
	}
	return len(b), nil
}

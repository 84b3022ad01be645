package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// memTasks stands in for the task engine (internal/engine, not yet written)
// in this package's unit tests, following the Tasks contract: Submit returns
// at once, a bounded pool of workers runs tasks, Wait returns final results
// or ErrWaitTimeout, Cancel stops a task. What a task does is the test's
// work function; end-to-end tests with the real engine live with the CLI.
type memTasks struct {
	work  func(ctx context.Context, r handofftype.Request) *handofftype.Result
	slots chan struct{}
	root  context.Context

	mu     sync.Mutex
	tasks  map[string]*memTask
	order  []string // event log: "submit <module>", "done <module>"
	nextID int
}

type memTask struct {
	req    handofftype.Request
	status handofftype.Status
	result *handofftype.Result
	done   chan struct{}
	cancel context.CancelFunc
}

// newMemTasks runs at most concurrency tasks at once (0: no limit).
func newMemTasks(t *testing.T, concurrency int, work func(ctx context.Context, r handofftype.Request) *handofftype.Result) *memTasks {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := &memTasks{work: work, root: ctx, tasks: map[string]*memTask{}}
	if concurrency > 0 {
		m.slots = make(chan struct{}, concurrency)
	}
	return m
}

func (m *memTasks) Submit(ctx context.Context, r handofftype.Request) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	m.nextID++
	id := fmt.Sprintf("task-%d", m.nextID)
	tctx, cancel := context.WithCancel(m.root)
	mt := &memTask{req: r, done: make(chan struct{}), cancel: cancel, status: handofftype.Status{
		ID: id, State: handofftype.StateQueued, Module: r.Module, Output: r.Output, Workspace: r.Workspace,
		Agent: r.Agent, CreatedAt: time.Now(), Labels: r.Labels,
	}}
	m.tasks[id] = mt
	m.order = append(m.order, "submit "+r.Module)
	m.mu.Unlock()
	go m.execute(tctx, id, mt)
	return id, nil
}

func (m *memTasks) SubmitMany(ctx context.Context, rs []handofftype.Request) ([]string, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		id, err := m.Submit(ctx, r)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

func (m *memTasks) execute(ctx context.Context, id string, mt *memTask) {
	if m.slots != nil {
		select {
		case m.slots <- struct{}{}:
			defer func() { <-m.slots }()
		case <-ctx.Done():
			m.finish(mt, &handofftype.Result{TaskID: id, State: handofftype.StateCancelled, Module: mt.req.Module})
			return
		}
	}
	now := time.Now()
	m.mu.Lock()
	if mt.status.State == handofftype.StateCancelled {
		m.mu.Unlock()
		return
	}
	mt.status.State, mt.status.StartedAt, mt.status.Attempt = handofftype.StateRunning, &now, 1
	m.mu.Unlock()
	res := m.work(ctx, mt.req)
	if ctx.Err() != nil {
		res = &handofftype.Result{State: handofftype.StateCancelled, Error: "cancelled"}
	}
	res.TaskID, res.Module = id, mt.req.Module
	m.finish(mt, res)
}

func (m *memTasks) finish(mt *memTask, res *handofftype.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mt.result != nil {
		return
	}
	now := time.Now()
	mt.result = res
	mt.status.State, mt.status.CompletedAt = res.State, &now
	if res.State == handofftype.StateCompleted {
		ok := res.Success
		mt.status.Success = &ok
	}
	mt.status.LastError = res.Error
	m.order = append(m.order, "done "+mt.req.Module)
	close(mt.done)
}

func (m *memTasks) get(id string) (*memTask, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.tasks[id]
	if mt == nil {
		return nil, fmt.Errorf("no task %s", id)
	}
	return mt, nil
}

func (m *memTasks) Status(_ context.Context, id string) (*handofftype.Status, error) {
	mt, err := m.get(id)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := mt.status
	return &st, nil
}

func (m *memTasks) Wait(ctx context.Context, id string, timeout time.Duration) (*handofftype.Result, error) {
	mt, err := m.get(id)
	if err != nil {
		return nil, err
	}
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-mt.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		return mt.result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer:
		return nil, fmt.Errorf("task %s: %w", id, pipeline.ErrWaitTimeout)
	}
}

func (m *memTasks) Cancel(_ context.Context, id string) error {
	mt, err := m.get(id)
	if err != nil {
		return err
	}
	mt.cancel()
	m.finish(mt, &handofftype.Result{TaskID: id, State: handofftype.StateCancelled, Module: mt.req.Module, Error: "cancelled"})
	return nil
}

// state returns a task's state by module.
func (m *memTasks) state(module string) (handofftype.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mt := range m.tasks {
		if mt.req.Module == module {
			return mt.status.State, nil
		}
	}
	return "", errors.New("no task for " + module)
}

// workspaces lists the workspaces tasks were submitted from, each once.
func (m *memTasks) workspaces() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := map[string]bool{}
	for _, mt := range m.tasks {
		ws[mt.req.Workspace] = true
	}
	return ws
}

func (m *memTasks) events() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// succeed is a work function: the task completes with success at once.
func succeed(_ context.Context, r handofftype.Request) *handofftype.Result {
	return &handofftype.Result{
		State: handofftype.StateCompleted, Success: true,
		Coverage: handofftype.Coverage{Before: 10, After: 90, Threshold: 80},
		Tests:    handofftype.Tests{Kept: []string{"TestA", "TestB"}},
	}
}

// block is a work function: the task runs until cancelled.
func block(ctx context.Context, _ handofftype.Request) *handofftype.Result {
	<-ctx.Done()
	return &handofftype.Result{State: handofftype.StateCancelled}
}

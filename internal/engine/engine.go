// Package engine runs handoff tasks on River: it inserts a task's record and
// its job in one transaction, works jobs with a bounded number of workers,
// keeps a heartbeat for every running task, rescues tasks whose worker died,
// retries only transient failures, and records every final state in
// handoff's own table, where River's job retention never reaches.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
)

// MaxTaskTimeout is the longest timeout a task may ask for. River's own
// rescuer is set beyond it, so it never rescues a task that is still working.
const MaxTaskTimeout = 24 * time.Hour

// RunFunc carries out one attempt of a task: materialise, agent, verify,
// apply. A nil error means a verdict was reached.
type RunFunc func(ctx context.Context, rec *store.Record, env *Env) (*task.Result, error)

// Env is what the engine gives a running attempt.
type Env struct {
	Attempt  int
	Progress func(text string)
	State    agent.StateStore
}

// Config configures an Engine. The zero value of every duration has a
// working default.
type Config struct {
	DB      *DB
	Run     RunFunc // required to work tasks
	Workers int     // parallel tasks in this process; zero means 4
	Logger  *slog.Logger

	HeartbeatInterval time.Duration // how often a running task proves its worker alive; default 2s
	HeartbeatTimeout  time.Duration // silence after which a running task's worker counts as dead; default 30s
	RetryBase         time.Duration // first retry delay, doubled each attempt, with jitter; default 10s
	RetryMax          time.Duration // cap on the retry delay; default 5m
	FetchInterval     time.Duration // how often idle workers look for new tasks; default 50ms

	// OnFinal, when set, is called once a task's final state is recorded by
	// this process, to release what the task held (its workspace snapshot).
	OnFinal func(ctx context.Context, rec *store.Record)
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 2 * time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 10 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Minute
	}
	if c.FetchInterval <= 0 {
		c.FetchInterval = 50 * time.Millisecond
	}
}

// Engine inserts and works tasks.
type Engine struct {
	cfg      Config
	db       *DB
	store    *store.Store
	river    *river.Client[*sql.Tx]
	workerID string

	mu       sync.Mutex
	waiters  map[string][]chan struct{}
	running  map[string]context.CancelCauseFunc
	stopping bool
	stop     context.CancelFunc
	loops    sync.WaitGroup
}

// jobArgs is the River job of one task.
type jobArgs struct {
	TaskID    string `json:"task_id"`
	TimeoutMS int64  `json:"timeout_ms"`
}

func (jobArgs) Kind() string { return "handoff_task" }

// New builds an engine on an open database. It does not start working.
func New(cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{
		cfg:     cfg,
		db:      cfg.DB,
		store:   &store.Store{DB: cfg.DB.SQL},
		waiters: map[string][]chan struct{}{},
		running: map[string]context.CancelCauseFunc{},
	}
	host, _ := os.Hostname()
	e.workerID = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano())

	rc := &river.Config{
		Logger:               cfg.Logger,
		JobTimeout:           -1, // every task carries its own timeout; River's 1-minute default must not apply
		RescueStuckJobsAfter: MaxTaskTimeout + 10*time.Minute,
		RetryPolicy:          &retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax},
		PollOnly:             true, // neither driver here has LISTEN/NOTIFY; fetch on an interval
		FetchPollInterval:    cfg.FetchInterval,
		FetchCooldown:        min(cfg.FetchInterval, 20*time.Millisecond),
		MaxAttempts:          3,
	}
	if cfg.Run != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &jobWorker{e: e})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	client, err := river.NewClient(cfg.DB.Driver, rc)
	if err != nil {
		return nil, fmt.Errorf("starting River: %w", err)
	}
	e.river = client
	return e, nil
}

// Store returns the task store.
func (e *Engine) Store() *store.Store { return e.store }

// Insert records a new task and enqueues its job in one transaction.
func (e *Engine) Insert(ctx context.Context, rec *store.Record, priority int, timeout time.Duration) error {
	return e.InsertMany(ctx, []Insertion{{Record: rec, Priority: priority, Timeout: timeout}})
}

// Insertion is one task for InsertMany.
type Insertion struct {
	Record   *store.Record
	Priority int
	Timeout  time.Duration
}

// InsertMany queues several tasks in one transaction: all of them or, on
// error, none.
func (e *Engine) InsertMany(ctx context.Context, ins []Insertion) error {
	tx, err := e.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, in := range ins {
		// The job first, so the task row is written once, with its job ID;
		// both become visible to workers together at commit.
		res, err := e.river.InsertTx(ctx, tx, jobArgs{TaskID: in.Record.ID, TimeoutMS: in.Timeout.Milliseconds()},
			&river.InsertOpts{MaxAttempts: in.Record.MaxAttempts, Priority: in.Priority})
		if err != nil {
			return fmt.Errorf("enqueueing task: %w", err)
		}
		in.Record.JobID = res.Job.ID
		if err := e.store.Insert(ctx, tx, in.Record); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Done returns a channel closed when this process records a final state for
// the task (in-process waiters wake at once; others poll the database).
func (e *Engine) Done(id string) (ch <-chan struct{}, release func()) {
	c := make(chan struct{})
	e.mu.Lock()
	e.waiters[id] = append(e.waiters[id], c)
	e.mu.Unlock()
	return c, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		list := e.waiters[id]
		for i, w := range list {
			if w == c {
				e.waiters[id] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(e.waiters[id]) == 0 {
			delete(e.waiters, id)
		}
	}
}

// finished wakes the task's in-process waiters, then releases what the task
// held: the clean-up (a git call) stays off the waiter's path.
func (e *Engine) finished(ctx context.Context, rec *store.Record) {
	e.notify(rec.ID)
	if e.cfg.OnFinal != nil {
		e.cfg.OnFinal(context.WithoutCancel(ctx), rec)
	}
}

func (e *Engine) notify(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.waiters[id] {
		close(c)
	}
	delete(e.waiters, id)
}

// ErrCancelRequested is the cause given to a running task's context when a
// user cancels it.
var ErrCancelRequested = errors.New("cancelled by request")

// Cancel stops a task: a queued one never runs, a running one has its agent
// stopped (by this process at once, by another at its next heartbeat).
// It returns the task's record after the request.
func (e *Engine) Cancel(ctx context.Context, id string) (*store.Record, error) {
	rec, err := e.store.Get(ctx, id)
	if err != nil || rec.State.Final() {
		return rec, err
	}
	if err := e.store.RequestCancel(ctx, id); err != nil {
		return nil, err
	}
	e.mu.Lock()
	cancel := e.running[id]
	e.mu.Unlock()
	if cancel != nil {
		cancel(ErrCancelRequested)
	}
	job, err := e.river.JobCancel(ctx, rec.JobID)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return nil, fmt.Errorf("cancelling the queued job: %w", err)
	}
	// A job that never started, or whose worker is gone, has nobody to
	// record the cancellation: do it here.
	noWorker := rec.State == task.StateRunning && time.Since(rec.HeartbeatAt) > e.cfg.HeartbeatTimeout
	if (job != nil && job.State == rivertype.JobStateCancelled) || noWorker || errors.Is(err, river.ErrNotFound) {
		res := &task.Result{TaskID: id, Status: task.StateCancelled, ModulePath: rec.Request.Module,
			OutputPath: rec.Request.Output, Language: rec.Language, Error: "cancelled by request",
			Attempts: rec.Attempt, Agent: task.AgentInfo{Name: rec.Request.Agent, Model: rec.Request.Model}}
		if _, err := e.store.Finish(ctx, id, task.StateCancelled, res, time.Now()); err != nil {
			return nil, err
		}
		e.finished(ctx, rec)
	}
	return e.store.Get(ctx, id)
}

// Start begins working tasks in the background until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Run == nil {
		return errors.New("engine: no RunFunc configured; this engine can only insert")
	}
	now := time.Now()
	if err := e.store.RegisterWorker(ctx, e.workerID, os.Getpid(), hostname(), now); err != nil {
		return fmt.Errorf("registering worker: %w", err)
	}
	if err := e.river.Start(ctx); err != nil {
		return fmt.Errorf("starting River: %w", err)
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = stop
	e.loops.Add(1)
	go e.maintain(lctx)
	return nil
}

// Stop stops fetching tasks, gives running ones grace to finish, then
// interrupts them; interrupted tasks go back to the queue for another worker.
func (e *Engine) Stop(ctx context.Context, grace time.Duration) error {
	// Mark the shutdown first: whatever cancels a running attempt from here
	// on (River at the end of the grace, or StopAndCancel), the attempt is
	// requeued, not failed.
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	gctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	err := e.river.Stop(gctx)
	if err != nil {
		err = e.river.StopAndCancel(ctx)
	}
	if e.stop != nil {
		e.stop()
		e.loops.Wait()
	}
	_ = e.store.RemoveWorker(context.WithoutCancel(ctx), e.workerID, time.Now().Add(-10*e.cfg.HeartbeatTimeout))
	return err
}

// Active returns how many tasks this process is running.
func (e *Engine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running)
}

// maintain keeps the worker's heartbeat and rescues tasks of dead workers.
func (e *Engine) maintain(ctx context.Context) {
	defer e.loops.Done()
	beat := time.NewTicker(e.cfg.HeartbeatInterval)
	defer beat.Stop()
	rescueEvery := max(e.cfg.HeartbeatTimeout/2, 100*time.Millisecond)
	rescue := time.NewTicker(rescueEvery)
	defer rescue.Stop()
	e.rescue(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if err := e.store.WorkerHeartbeat(ctx, e.workerID, time.Now()); err != nil && ctx.Err() == nil {
				e.cfg.Logger.Warn("worker heartbeat failed", "error", err)
			}
		case <-rescue.C:
			e.rescue(ctx)
		}
	}
}

// rescue puts back in the queue the tasks whose worker stopped beating.
func (e *Engine) rescue(ctx context.Context) {
	stale, err := e.store.Stale(ctx, time.Now().Add(-e.cfg.HeartbeatTimeout))
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Warn("looking for lost tasks failed", "error", err)
		}
		return
	}
	for _, rec := range stale {
		e.mu.Lock()
		_, mine := e.running[rec.ID]
		e.mu.Unlock()
		if mine {
			continue
		}
		if err := e.rescueOne(ctx, rec); err != nil {
			e.cfg.Logger.Warn("rescuing a lost task failed", "task_id", rec.ID, "error", err)
		}
	}
}

func (e *Engine) rescueOne(ctx context.Context, rec *store.Record) error {
	silence := time.Since(rec.HeartbeatAt).Round(time.Second)
	if rec.Attempt >= rec.MaxAttempts {
		if _, err := e.river.JobCancel(ctx, rec.JobID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return err
		}
		msg := fmt.Sprintf("worker lost (no heartbeat for %s) on the last attempt (%d of %d)", silence, rec.Attempt, rec.MaxAttempts)
		res := failedResult(rec, msg)
		if _, err := e.store.Finish(ctx, rec.ID, task.StateFailed, res, time.Now()); err != nil {
			return err
		}
		e.finished(ctx, rec)
		return nil
	}
	// The job row still says running; make it available again. Guarded by
	// the state so a worker that came back to life meanwhile keeps it.
	r, err := e.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE id = $1 AND state = 'running'`, rec.JobID)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil
	}
	e.cfg.Logger.Info("rescued a task whose worker died", "task_id", rec.ID, "silence", silence)
	return e.store.MarkRetrying(ctx, rec.ID, fmt.Sprintf("worker lost (no heartbeat for %s); task requeued", silence))
}

func failedResult(rec *store.Record, msg string) *task.Result {
	return &task.Result{TaskID: rec.ID, Status: task.StateFailed, ModulePath: rec.Request.Module,
		OutputPath: rec.Request.Output, Language: rec.Language, Error: msg, Attempts: rec.Attempt,
		Agent: task.AgentInfo{Name: rec.Request.Agent, Model: rec.Request.Model}}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// retryPolicy backs off exponentially with jitter, capped.
type retryPolicy struct{ base, max time.Duration }

func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	d := p.base << max(job.Attempt-1, 0)
	if d <= 0 || d > p.max {
		d = p.max
	}
	jitter := 0.5 + rand.Float64() // 50 % to 150 %
	return time.Now().Add(time.Duration(float64(d) * jitter))
}

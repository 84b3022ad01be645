// Package engine runs handoff tasks on River: it inserts a task's record and
// its job in one transaction, works jobs with a bounded number of workers,
// keeps a heartbeat for every running task, rescues tasks whose worker died,
// retries only transient failures, and records every final state in
// handoff's own table, where River's job retention never reaches. On
// PostgreSQL it tells other processes of final states, cancel requests and
// progress by notification, and hears theirs (events.go). The database
// itself is opened and migrated by internal/database.
package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/store"
)

// MaxTaskTimeout is the longest timeout a task may ask for. River's own
// rescuer is set beyond it, so it never rescues a task that is still working.
const MaxTaskTimeout = 24 * time.Hour

// RunFunc carries out one attempt of a task: materialise, agent, verify,
// apply. A nil error means a verdict was reached.
type RunFunc func(ctx context.Context, rec *store.Record, env *Env) (*handofftype.Result, error)

// ErrGiveBack, wrapped in a RunFunc's error, returns the task to the queue
// without using up an attempt: this worker must not run it, another may. The
// error's text becomes the task's last error.
var ErrGiveBack = errors.New("task given back to the queue")

// giveBackFor is how long a given-back task waits before a worker may take
// it again.
const giveBackFor = 2 * time.Second

// Env is what the engine gives a running attempt. Its writes count only
// while the attempt owns its task.
type Env struct {
	Attempt  int
	Progress func(text string)
	State    agent.StateStore
	// Confirm renews the attempt's hold on its task right before a step
	// that cannot be taken back (writing to the user's workspace). It
	// returns ErrLeaseLost when the attempt no longer owns the task and
	// ErrCancelRequested when the task is being cancelled; either also
	// cancels the attempt's context.
	Confirm func(ctx context.Context) error
}

// Config configures an Engine. The zero value of every duration has a
// working default.
type Config struct {
	DB      *database.DB
	Run     RunFunc // required to work tasks
	Workers int     // parallel tasks in this process; zero means DefaultWorkers
	Logger  *slog.Logger

	HeartbeatInterval time.Duration // how often a running task proves its worker alive; default Liveness.Interval
	HeartbeatTimeout  time.Duration // the liveness timeout (see Liveness); default DefaultHeartbeatTimeout
	RetryBase         time.Duration // first retry delay, doubled each attempt, with jitter; default DefaultRetryBase
	RetryMax          time.Duration // cap on the retry delay; default DefaultRetryMax
	FetchInterval     time.Duration // how often idle workers look for new tasks; default DefaultFetchInterval

	// AgentLimits caps the tasks running at once per agent name; a task
	// over its agent's cap waits in the queue. Absent or zero: Workers.
	AgentLimits map[string]int
}

// Serving says what a starting worker serves.
type Serving struct {
	// Queues are the River queues it works, besides the default queue,
	// each with its MaxWorkers (capped at Workers). Whatever the queues,
	// at most Workers tasks run at once.
	Queues map[string]int
	// Capabilities describe what it can serve, recorded with its
	// heartbeat (as JSON) for whoever lists the workers.
	Capabilities any
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.HeartbeatTimeout = Liveness{Timeout: c.HeartbeatTimeout}.timeout()
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.liveness().Interval()
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.FetchInterval <= 0 {
		c.FetchInterval = DefaultFetchInterval
	}
}

func (c *Config) liveness() Liveness { return Liveness{Timeout: c.HeartbeatTimeout} }

// Liveness returns the liveness figures this engine works by.
func (e *Engine) Liveness() Liveness { return e.cfg.liveness() }

// Engine inserts and works tasks.
type Engine struct {
	cfg      Config
	db       *database.DB
	store    *store.Store
	river    *river.Client[*sql.Tx]
	workerID string

	events *listener  // PostgreSQL only: other processes' finals and cancels
	tell   *publisher // PostgreSQL only: this process's finals, cancels and progress
	subs   subscribers

	mu       sync.Mutex
	waiters  map[string][]chan struct{}
	running  map[string]context.CancelCauseFunc
	admitted int            // tasks holding a slot (Workers)
	byAgent  map[string]int // of which per agent, for AgentLimits
	stopping bool
	stop     context.CancelFunc
	loops    sync.WaitGroup
}

// jobArgs is the River job of one task.
type jobArgs struct {
	TaskID    string `json:"task_id"`
	TimeoutMS int64  `json:"timeout_ms"`
	Agent     string `json:"agent,omitempty"` // for AgentLimits, without reading the task
}

func (jobArgs) Kind() string { return "handoff_task" }

// New builds an engine on an open database. It does not start working.
func New(cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{
		cfg:     cfg,
		db:      cfg.DB,
		store:   &store.Store{DB: cfg.DB.SQL, Postgres: cfg.DB.Postgres},
		waiters: map[string][]chan struct{}{},
		running: map[string]context.CancelCauseFunc{},
		byAgent: map[string]int{},
	}
	if cfg.DB.Postgres {
		e.events = &listener{pool: cfg.DB.Pool, logger: cfg.Logger, handle: e.event, listening: e.wakeAll}
		e.tell = &publisher{store: e.store, logger: cfg.Logger}
	}
	host, _ := os.Hostname()
	e.workerID = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano())

	rc := &river.Config{
		Logger:               cfg.Logger,
		JobTimeout:           -1, // every task carries its own timeout; River's 1-minute default must not apply
		RescueStuckJobsAfter: MaxTaskTimeout + 10*time.Minute,
		RetryPolicy:          &retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax},
		// On PostgreSQL River's notifier tells workers of a new job at once
		// (and a running job's worker of its cancel); FetchInterval is then
		// the fallback. SQLite has no notifications: workers poll.
		PollOnly:          !cfg.DB.Postgres,
		FetchPollInterval: cfg.FetchInterval,
		FetchCooldown:     min(cfg.FetchInterval, 20*time.Millisecond),
		MaxAttempts:       3,
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
	Queue    string // the River queue: only workers working it take the task; empty means the default queue
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
		res, err := e.river.InsertTx(ctx, tx, jobArgs{TaskID: in.Record.ID, TimeoutMS: in.Timeout.Milliseconds(), Agent: in.Record.Request.Agent},
			&river.InsertOpts{MaxAttempts: in.Record.MaxAttempts, Priority: in.Priority, Queue: in.Queue})
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

// Done returns a channel closed when the task may have reached a final
// state: read it again, and call Done again to go on waiting. It closes at
// once when this process records the final state and, on PostgreSQL, when
// another process does (its notification), or when the engine's listener
// (re)connects, since notifications sent meanwhile are lost. On SQLite a
// final state recorded by another process is seen only by reading the
// database: waiters poll as well.
func (e *Engine) Done(id string) (ch <-chan struct{}, release func()) {
	c := make(chan struct{})
	e.mu.Lock()
	e.waiters[id] = append(e.waiters[id], c)
	e.mu.Unlock()
	if e.events != nil {
		// After the waiter is in place: the listener's first connection
		// wakes it, so nothing sent before then goes unread.
		e.events.start()
	}
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

// finished wakes the task's waiters, in this process and (on PostgreSQL)
// in others, then releases the workspace snapshot the task held since
// Submit took it (a git ref, or a copy of a non-git workspace): no later
// attempt will need it. The clean-up (a git call) stays off the waiters'
// path. The final state is committed.
func (e *Engine) finished(ctx context.Context, rec *store.Record) {
	e.notify(rec.ID)
	e.publish(store.EventFinal, rec.ID)
	if rec.Snapshot.ID != "" {
		_ = rec.Snapshot.Release(context.WithoutCancel(ctx))
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

// publish tells other processes of a committed change (PostgreSQL). A
// failure only leaves them to their polls.
func (e *Engine) publish(kind, id string) {
	e.subs.changed()
	if e.tell != nil {
		e.tell.publish(kind, id)
	}
}

// wakeAll wakes every waiter to read its task again, and has every attempt
// this process runs read its cancel request: the listener calls it each
// time it starts listening, since events sent before were lost to it.
func (e *Engine) wakeAll() {
	e.subs.changed()
	e.mu.Lock()
	for id, list := range e.waiters {
		for _, c := range list {
			close(c)
		}
		delete(e.waiters, id)
	}
	running := make([]string, 0, len(e.running))
	for id := range e.running {
		running = append(running, id)
	}
	e.mu.Unlock()
	// A cancel published while the listener was not listening (at start,
	// or between a lost connection and this one) is read now, not at the
	// attempt's next heartbeat.
	for _, id := range running {
		e.event(store.EventCancel, id)
	}
}

// event handles one of handoff's events from any process: a final state
// wakes the task's waiters; a cancel request stops the attempt if this
// process runs it, at once rather than at its next heartbeat, once the
// database confirms the request (anyone may NOTIFY).
func (e *Engine) event(kind, id string) {
	e.subs.changed()
	switch kind {
	case store.EventFinal:
		e.notify(id)
	case store.EventCancel:
		e.mu.Lock()
		cancel := e.running[id]
		e.mu.Unlock()
		if cancel == nil {
			return
		}
		go func() { // off the listener's path
			ctx, done := context.WithTimeout(context.Background(), e.cfg.HeartbeatTimeout)
			defer done()
			if requested, _, err := e.store.CancelRequest(ctx, id); err == nil && requested {
				cancel(ErrCancelRequested)
			}
		}()
	}
}

// Close stops the engine's listener and publisher, if it has them, after
// sending the events it has queued; call it after Stop and before closing
// the database.
func (e *Engine) Close() {
	if e.events != nil {
		e.events.close()
		e.tell.close()
	}
}

// ErrCancelRequested is the cause given to a running task's context when a
// user cancels it.
var ErrCancelRequested = store.ErrCancelRequested

// ErrLeaseLost is the cause given to a running attempt's context when it no
// longer owns its task: another worker rescued it after its heartbeat went
// silent for the heartbeat timeout, or its worker could not renew the
// heartbeat for that long.
var ErrLeaseLost = store.ErrLeaseLost

// Cancel stops a task: a queued one never runs, a running one has its agent
// stopped and ends CANCELLED. The process running it stops it at once when
// that is this process or, on PostgreSQL, any process (the cancel's
// notification); otherwise at its next heartbeat. It returns the task's record
// after the request.
func (e *Engine) Cancel(ctx context.Context, id string) (*store.Record, error) {
	rec, err := e.store.Get(ctx, id)
	if err != nil || rec.State.Final() {
		return rec, err
	}
	by := Requester()
	if err := e.store.RequestCancel(ctx, id, by); err != nil {
		return nil, err
	}
	e.publish(store.EventCancel, id)
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
	res := Result(rec, nil, Outcome{State: handofftype.StateCancelled, Error: ErrCancelRequested.Error(), CancelledBy: by})
	switch {
	case errors.Is(err, river.ErrNotFound) || job.State == rivertype.JobStateCancelled:
		// It never started: nobody else will record the cancellation.
		if ok, err := e.store.Finish(ctx, id, handofftype.StateCancelled, res, time.Now()); err != nil {
			return nil, err
		} else if ok {
			e.finished(ctx, rec)
		}
	case rec.State == handofftype.StateRunning && time.Since(rec.HeartbeatAt) > e.Liveness().TaskSilentAfter():
		// Its worker is gone: end it here, unless the worker beats again meanwhile.
		if err := e.endSilent(ctx, rec, time.Now().Add(-e.Liveness().TaskSilentAfter()), handofftype.StateCancelled, res); err != nil {
			return nil, err
		}
	}
	return e.store.Get(ctx, id)
}

// Requester names this process where a record says who did something (asked
// for a cancel, applied kept tests): the program, its process and host.
func Requester() string {
	return fmt.Sprintf("%s (pid %d on %s)", filepath.Base(os.Args[0]), os.Getpid(), Hostname())
}

// Start begins working tasks in the background until Stop: those of the
// default queue and of s's queues.
func (e *Engine) Start(ctx context.Context, s Serving) error {
	if e.cfg.Run == nil {
		return errors.New("engine: no RunFunc configured; this engine can only insert")
	}
	now := time.Now()
	caps := []byte("{}")
	if s.Capabilities != nil {
		var err error
		if caps, err = json.Marshal(s.Capabilities); err != nil {
			return fmt.Errorf("recording the worker's capabilities: %w", err)
		}
	}
	for q, n := range s.Queues {
		if q == river.QueueDefault {
			continue
		}
		var added *river.QueueAlreadyAddedError
		if err := e.river.Queues().Add(q, river.QueueConfig{MaxWorkers: min(max(n, 1), e.cfg.Workers)}); err != nil && !errors.As(err, &added) {
			return fmt.Errorf("working queue %q: %w", q, err)
		}
	}
	if err := e.store.RegisterWorker(ctx, e.workerID, os.Getpid(), Hostname(), string(caps), now); err != nil {
		return fmt.Errorf("registering worker: %w", err)
	}
	if err := e.river.Start(ctx); err != nil {
		return fmt.Errorf("starting River: %w", err)
	}
	if e.events != nil {
		e.events.start()
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
	_ = e.store.RemoveWorker(context.WithoutCancel(ctx), e.workerID, time.Now().Add(-e.Liveness().ForgetWorkerAfter()))
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
	rescue := time.NewTicker(e.Liveness().RescueEvery())
	defer rescue.Stop()
	e.rescue(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if err := e.store.WorkerHeartbeat(ctx, e.workerID, e.Active(), time.Now()); err != nil && ctx.Err() == nil {
				e.cfg.Logger.Warn("worker heartbeat failed", "error", err)
			}
		case <-rescue.C:
			e.rescue(ctx)
		}
	}
}

// rescue puts back in the queue the tasks whose worker stopped beating.
func (e *Engine) rescue(ctx context.Context) {
	stale, err := e.store.Stale(ctx, time.Now().Add(-e.Liveness().TaskSilentAfter()))
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

// rescueOne takes a task away from its silent attempt. On the last attempt
// the task fails; otherwise the next attempt goes on a new River job, and
// the lost attempt's job is retired, so that its worker, should it come
// back, can neither complete nor fail a job the next attempt runs (River
// finishes a job whatever attempt it is on).
func (e *Engine) rescueOne(ctx context.Context, rec *store.Record) error {
	silentBefore := time.Now().Add(-e.Liveness().TaskSilentAfter())
	silence := time.Since(rec.HeartbeatAt).Round(time.Second)
	if rec.Attempt >= rec.MaxAttempts {
		msg := fmt.Sprintf("worker lost (no heartbeat for %s) on the last attempt (%d of %d)", silence, rec.Attempt, rec.MaxAttempts)
		return e.endSilent(ctx, rec, silentBefore, handofftype.StateFailed, Result(rec, nil, Outcome{State: handofftype.StateFailed, Error: msg, Class: handofftype.FailureWorkerLost}))
	}
	tx, err := e.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	lost := store.Lease{TaskID: rec.ID, Attempt: rec.Attempt}
	msg := fmt.Sprintf("worker lost (no heartbeat for %s); task requeued", silence)
	if ok, err := e.store.Requeue(ctx, tx, lost, silentBefore, msg); err != nil || !ok {
		return err // !ok: the worker beat again, or another worker rescued the task first
	}
	retired, err := e.retireJob(ctx, tx, rec.JobID, rivertype.JobStateDiscarded)
	if err != nil {
		return err
	}
	old, err := e.river.JobGetTx(ctx, tx, rec.JobID)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return err
	}
	if retired || old == nil || old.FinalizedAt != nil {
		if err := e.requeueOnNewJob(ctx, tx, rec, old); err != nil {
			return err
		}
	} // else the job is queued again already (its worker returned an error): it runs the next attempt
	if err := tx.Commit(); err != nil {
		return err
	}
	e.cfg.Logger.Info("rescued a task whose worker fell silent", "task_id", rec.ID, "attempt", rec.Attempt, "silence", silence)
	return nil
}

// requeueOnNewJob enqueues the task's next attempt on a new River job that
// carries on the old one's attempt count, and points the task at it; in tx.
func (e *Engine) requeueOnNewJob(ctx context.Context, tx *sql.Tx, rec *store.Record, old *rivertype.JobRow) error {
	args := jobArgs{TaskID: rec.ID, TimeoutMS: rec.Request.Timeout.Milliseconds()}
	opts := &river.InsertOpts{MaxAttempts: rec.MaxAttempts}
	attempt := rec.Attempt
	if old != nil {
		if err := json.Unmarshal(old.EncodedArgs, &args); err != nil {
			return fmt.Errorf("reading the job of task %s: %w", rec.ID, err)
		}
		opts.MaxAttempts, opts.Priority, opts.Queue = old.MaxAttempts, old.Priority, old.Queue
		attempt = max(attempt, old.Attempt)
	}
	res, err := e.river.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return fmt.Errorf("requeueing task %s: %w", rec.ID, err)
	}
	// River counts an attempt at each fetch; start from the attempts used.
	if _, err := tx.ExecContext(ctx, `UPDATE river_job SET attempt = $1 WHERE id = $2`, attempt, res.Job.ID); err != nil {
		return err
	}
	return e.store.SetJob(ctx, tx, rec.ID, res.Job.ID)
}

// retireJob finishes a running job in River with state (discarded or
// cancelled) when its worker is gone; in q. It reports whether the job was
// still running.
func (e *Engine) retireJob(ctx context.Context, q store.Querier, jobID int64, state rivertype.JobState) (bool, error) {
	if state != rivertype.JobStateDiscarded && state != rivertype.JobStateCancelled {
		return false, fmt.Errorf("retiring a job as %s: not a final state", state)
	}
	now := `datetime('now', 'subsec')` // River's own format on SQLite
	if e.db.Postgres {
		now = `now()`
	}
	r, err := q.ExecContext(ctx, `UPDATE river_job SET state = '`+string(state)+`', finalized_at = `+now+`
		WHERE id = $1 AND state = 'running'`, jobID)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// endSilent records the final state of a task whose attempt fell silent
// before the heartbeat timeout, and retires its job; a worker that beats
// again meanwhile keeps the task.
func (e *Engine) endSilent(ctx context.Context, rec *store.Record, silentBefore time.Time, state handofftype.State, res *handofftype.Result) error {
	tx, err := e.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	lost := store.Lease{TaskID: rec.ID, Attempt: rec.Attempt}
	ok, err := e.store.FinishSilent(ctx, tx, lost, silentBefore, state, res, time.Now())
	if err != nil || !ok {
		return err
	}
	jobState := rivertype.JobStateDiscarded
	if state == handofftype.StateCancelled {
		jobState = rivertype.JobStateCancelled
	}
	if _, err := e.retireJob(ctx, tx, rec.JobID, jobState); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	e.finished(ctx, rec)
	return nil
}

// Hostname is this machine's name, or "" when the system gives none.
func Hostname() string {
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

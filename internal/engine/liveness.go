package engine

import "time"

// The defaults of a worker: what Config fills in for a field left zero.
// They are the one home of these figures; the public Config documents them
// through package handoff's Default* names.
const (
	// DefaultWorkers is how many tasks a process works at once.
	DefaultWorkers = 4
	// DefaultHeartbeatTimeout is the one liveness timeout; see Liveness.
	DefaultHeartbeatTimeout = 30 * time.Second
	// DefaultRetryBase is the first retry delay after a transient failure,
	// doubled each attempt, with jitter.
	DefaultRetryBase = 10 * time.Second
	// DefaultRetryMax caps the retry delay.
	DefaultRetryMax = 5 * time.Minute
	// DefaultFetchInterval is how often idle workers look for new tasks.
	DefaultFetchInterval = 50 * time.Millisecond
)

// Liveness is how handoff tells a live worker from a dead one. One figure
// decides, the heartbeat timeout; every other liveness figure derives from
// it here and nowhere else, so that the worker that beats, the worker that
// rescues and the client that reports agree.
type Liveness struct {
	// Timeout is the silence after which a running task's worker counts as
	// dead: any live worker rescues the task, and a worker whose beats did
	// not get through for that long stops the attempt itself. Zero means
	// DefaultHeartbeatTimeout.
	Timeout time.Duration
}

// timeout is l.Timeout, or the default.
func (l Liveness) timeout() time.Duration {
	if l.Timeout <= 0 {
		return DefaultHeartbeatTimeout
	}
	return l.Timeout
}

// Interval is the default heartbeat interval: a third of the timeout, at
// most 2 s, so that two beats may be lost before the timeout passes.
func (l Liveness) Interval() time.Duration { return min(2*time.Second, l.timeout()/3) }

// TaskSilentAfter is how long a running task's heartbeat may be silent
// before its worker counts as dead: the timeout. Status says "worker
// silent" from then on, and the next live worker rescues the task.
func (l Liveness) TaskSilentAfter() time.Duration { return l.timeout() }

// WorkerAliveWithin is how recent a worker process's own heartbeat must be
// for it to count as alive: a third of the timeout (10 s by default). A
// submit starts a background worker, and a wait says no worker is alive,
// on this figure: sooner than a task is rescued, since nothing is taken
// from anyone.
func (l Liveness) WorkerAliveWithin() time.Duration { return l.timeout() / 3 }

// RescueEvery is how often a worker looks for tasks whose worker fell
// silent: half the timeout, at least every 100 ms.
func (l Liveness) RescueEvery() time.Duration { return max(l.timeout()/2, 100*time.Millisecond) }

// ForgetWorkerAfter is how long a worker process's record outlives its
// last heartbeat before a stopping worker deletes it: ten timeouts.
func (l Liveness) ForgetWorkerAfter() time.Duration { return 10 * l.timeout() }

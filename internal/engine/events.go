package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/handoff-dev/handoff/internal/store"
)

// Events on PostgreSQL: the engine's listener hears other processes'
// events, its publisher tells them of its own.

// Listener timings.
const (
	listenPing       = 5 * time.Second // a quiet connection is pinged this often, so a dead one is noticed
	listenRetryFirst = 100 * time.Millisecond
	listenRetryMax   = 5 * time.Second
)

// listener holds the engine's one PostgreSQL connection that LISTENs to
// handoff's events (see store.EventFinal) and hands each to handle, in
// the order they come. River's notifier cannot carry them: its topics are
// River's own.
//
// A notification sent while the connection is down is lost, so each time
// the listener starts listening it calls listening: whoever waits reads
// the database again. Until then waiters and workers rely on their polls
// (Wait's poll interval, the heartbeat). A lost connection is replaced
// with backoff.
type listener struct {
	pool      *pgxpool.Pool
	logger    *slog.Logger
	handle    func(kind, taskID string)
	listening func()

	once sync.Once
	stop context.CancelFunc
	done chan struct{}
}

// start begins listening in the background; later calls do nothing.
func (l *listener) start() {
	l.once.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		l.stop, l.done = stop, make(chan struct{})
		go l.run(ctx)
	})
}

// close stops listening and closes the connection; it waits for both.
func (l *listener) close() {
	l.once.Do(func() {}) // a listener never started stays so
	if l.stop != nil {
		l.stop()
		<-l.done
	}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	wait := listenRetryFirst
	for {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = listenRetryFirst
		}
		l.logger.Warn("listening for handoff's events failed; waiters and workers poll until it is back",
			"error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listen takes a connection of its own out of the pool, LISTENs, and
// delivers notifications until ctx ends or the connection fails. It
// reports whether it got as far as listening.
func (l *listener) listen(ctx context.Context) (listened bool, err error) {
	pc, err := l.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	conn := pc.Hijack() // never back to the pool: it stays LISTENing
	defer func() {
		cctx, done := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer done()
		_ = conn.Close(cctx)
	}()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+store.EventChannelSQL).Scan(&channel); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, err
	}
	l.listening()
	for {
		wctx, done := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		done()
		switch {
		case ctx.Err() != nil:
			return true, nil
		case err == nil:
			l.handle(store.ParseEvent(n.Payload))
		case errors.Is(err, context.DeadlineExceeded):
			pctx, done := context.WithTimeout(ctx, listenPing)
			err := conn.Ping(pctx)
			done()
			if err != nil && ctx.Err() == nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// publisher sends the engine's events, once their changes are committed,
// from a goroutine of its own: the events that come while a send is under
// way go together in the next, so a busy worker spends a statement on many
// events rather than one each, and a quiet one sends each at once.
type publisher struct {
	store  *store.Store
	logger *slog.Logger

	mu    sync.Mutex
	queue []string
	wake  chan struct{} // holds one token while the queue has events

	once sync.Once
	stop context.CancelFunc
	done chan struct{}
}

// publish queues an event of the task for sending.
func (p *publisher) publish(kind, taskID string) {
	p.once.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		p.stop, p.done, p.wake = stop, make(chan struct{}), make(chan struct{}, 1)
		go p.run(ctx)
	})
	p.mu.Lock()
	p.queue = append(p.queue, store.Event(kind, taskID))
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a token waits already
	}
}

func (p *publisher) run(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			// What is queued still goes, within a bound.
			fctx, done := context.WithTimeout(context.Background(), 5*time.Second)
			p.send(fctx)
			done()
			return
		case <-p.wake:
			p.send(ctx)
		}
	}
}

func (p *publisher) send(ctx context.Context) {
	p.mu.Lock()
	events := p.queue
	p.queue = nil
	p.mu.Unlock()
	if err := p.store.Publish(ctx, events); err != nil && ctx.Err() == nil {
		p.logger.Warn("publishing events failed; other processes will poll", "events", len(events), "error", err)
	}
}

// close sends what is queued and stops.
func (p *publisher) close() {
	p.once.Do(func() {}) // a publisher never started stays so
	if p.stop != nil {
		p.stop()
		<-p.done
	}
}

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/handoff-dev/handoff"
)

// keepalive is how often a quiet event stream gets a comment line.
const keepalive = 15 * time.Second

// feed is the server's one reader of task changes (one database poll per
// server, not per stream): it counts the tasks that end in the metrics and
// hands every change to each event stream.
type feed struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	done <-chan struct{}
}

// subscriber is one event stream's mailbox: the latest status of each
// task changed since it last read, in the order they first changed. A
// stream that falls behind gets each task's latest status, not every step.
type subscriber struct {
	mu      sync.Mutex
	pending map[string]*handoff.Status
	order   []string
	wake    chan struct{}
}

func (s *Server) startFeed(ctx context.Context) *feed {
	f := &feed{subs: map[*subscriber]struct{}{}, done: ctx.Done()}
	changes := s.c.Events(ctx, s.cfg.EventPoll)
	go func() {
		for st := range changes {
			if st.State.Final() {
				s.countFinal(ctx, st.ID)
			}
			f.publish(st)
		}
	}()
	return f
}

// countFinal reads a task that became final and counts it in the metrics.
func (s *Server) countFinal(ctx context.Context, id string) {
	res, err := s.c.Wait(ctx, id, handoff.WaitOptions{Timeout: time.Millisecond})
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("reading a final task for the metrics", "task_id", id, "error", err)
		}
		return
	}
	s.metrics.final(res)
}

func (f *feed) publish(st *handoff.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		sub.mu.Lock()
		if _, ok := sub.pending[st.ID]; !ok {
			sub.order = append(sub.order, st.ID)
		}
		sub.pending[st.ID] = st
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

func (f *feed) subscribe() (*subscriber, func()) {
	sub := &subscriber{pending: map[string]*handoff.Status{}, wake: make(chan struct{}, 1)}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	return sub, func() {
		f.mu.Lock()
		delete(f.subs, sub)
		f.mu.Unlock()
	}
}

// take empties the mailbox.
func (sub *subscriber) take() []*handoff.Status {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	out := make([]*handoff.Status, len(sub.order))
	for i, id := range sub.order {
		out[i] = sub.pending[id]
	}
	clear(sub.pending)
	sub.order = sub.order[:0]
	return out
}

// events streams every task's changes as server-sent events.
func (s *Server) events(hctx huma.Context) {
	ctx := hctx.Context()
	sub, unsubscribe := s.feed.subscribe()
	defer unsubscribe()
	hctx.SetHeader("Content-Type", "text/event-stream")
	hctx.SetHeader("Cache-Control", "no-cache")
	hctx.SetHeader("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	hctx.SetStatus(http.StatusOK)
	w := hctx.BodyWriter()
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	_, _ = fmt.Fprint(w, ": handoff events\n\n")
	flush()
	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.feed.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
		case <-sub.wake:
			for _, st := range sub.take() {
				b, _ := json.Marshal(st)
				if _, err := fmt.Fprintf(w, "event: task\ndata: %s\n\n", b); err != nil {
					return
				}
			}
		}
		flush()
	}
}

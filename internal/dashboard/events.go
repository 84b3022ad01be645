package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/handoff-dev/handoff"
)

// hub reads the task feed once for every open page: it follows
// Client.Events while a page listens, and for idleStop after the last one
// left (a page that loads the next one comes back at once), and hands each
// change to them all.
type hub struct {
	c    *handoff.Client
	poll time.Duration

	mu   sync.Mutex
	subs map[chan *handoff.Status]struct{}
	stop context.CancelFunc
	idle *time.Timer
}

// idleStop is how long the feed is followed with no page listening.
const idleStop = 30 * time.Second

func newHub(c *handoff.Client, poll time.Duration) *hub {
	return &hub{c: c, poll: poll, subs: map[chan *handoff.Status]struct{}{}}
}

// subscribe returns a channel of changes and its release. A listener that
// falls behind misses changes, never the fact that something changed: the
// page reads the tasks again on any change.
func (h *hub) subscribe() (<-chan *handoff.Status, func()) {
	ch := make(chan *handoff.Status, 16)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	if h.stop == nil {
		ctx, stop := context.WithCancel(context.Background())
		h.stop = stop
		go h.follow(h.c.Events(ctx, h.poll))
	}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, ch)
		if len(h.subs) == 0 && h.stop != nil && h.idle == nil {
			h.idle = time.AfterFunc(idleStop, func() {
				h.mu.Lock()
				defer h.mu.Unlock()
				if len(h.subs) == 0 && h.stop != nil {
					h.stop()
					h.stop = nil
				}
				h.idle = nil
			})
		}
	}
}

func (h *hub) follow(changes <-chan *handoff.Status) {
	for st := range changes {
		h.mu.Lock()
		for ch := range h.subs {
			select {
			case ch <- st:
			default: // full: it has a change to act on already
			}
		}
		h.mu.Unlock()
	}
}

// keepalive is how often a quiet feed gets a comment line.
const keepalive = 15 * time.Second

// events is the pages' live feed: the server-sent events of /v1/events
// (an event `task` with the task's Status), on the session's cookie, which
// a browser's EventSource sends and a bearer header it cannot.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, _ *viewer) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "this connection cannot stream", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	changes, release := d.hub.subscribe()
	defer release()
	_, _ = fmt.Fprint(w, "retry: 2000\n: handoff events\n\n")
	flusher.Flush()
	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
		case st := <-changes:
			b, _ := json.Marshal(st)
			if _, err := fmt.Fprintf(w, "event: task\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		flusher.Flush()
	}
}

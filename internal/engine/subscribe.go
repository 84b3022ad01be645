package engine

import "sync"

// subscribers are told when any task may have changed: for a feed of
// every task's changes (the HTTP API's events), which reads the database
// again when told, and polls besides, since not every change is an event
// (a new task; on SQLite, anything another process does).
type subscribers struct {
	mu   sync.Mutex
	subs map[chan struct{}]bool
}

// Changes returns a channel that receives when a task may have changed:
// this process published an event (final, cancel, progress), or, on
// PostgreSQL, any process did, or the listener (re)connected. Signals
// coalesce: one waiting means "read again". Call release when done.
func (e *Engine) Changes() (ch <-chan struct{}, release func()) {
	if e.events != nil {
		e.events.start()
	}
	c := make(chan struct{}, 1)
	s := &e.subs
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]bool{}
	}
	s.subs[c] = true
	s.mu.Unlock()
	return c, func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}
}

// changed tells every subscriber to read again.
func (s *subscribers) changed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // one waits already
		}
	}
}

package handoff

import (
	"context"
	"fmt"
	"time"

	"github.com/handoff-dev/handoff/internal/store"
)

// Events sends the status of each task whose state, attempt or progress
// changes, from the call on, until ctx ends (then it closes the channel).
// Changes this process makes, and on PostgreSQL those of any process, come
// at once; others (a new task from another process; on SQLite, another
// process's worker) at the next poll, every poll (zero means one second).
// A reader that falls behind gets each task's latest status, not every
// step.
func (c *Client) Events(ctx context.Context, poll time.Duration) <-chan *Status {
	if poll <= 0 {
		poll = time.Second
	}
	out := make(chan *Status, 64)
	go func() {
		defer close(out)
		changes, release := c.eng.Changes()
		defer release()
		tick := time.NewTicker(poll)
		defer tick.Stop()
		seen := map[string]string{} // task ID → what was last sent of it
		first := true
		since := time.Now()
		for {
			now := time.Now()
			// A margin for clocks and for commits that land after the read
			// began; seen keeps a task seen twice from being sent twice.
			recs, err := c.eng.List(ctx, store.Filter{ChangedSince: since.Add(-2 * poll), Limit: 10000})
			if err == nil {
				since = now
				present := make(map[string]bool, len(recs))
				for _, rec := range recs {
					st := c.statusOf(rec)
					present[st.ID] = true
					key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", st.State, st.Attempt, st.Progress, st.LastError)
					if seen[st.ID] == key {
						continue
					}
					seen[st.ID] = key
					if first {
						continue // what was before the call is no change
					}
					select {
					case out <- st:
					case <-ctx.Done():
						return
					}
				}
				first = false
				for id := range seen {
					if !present[id] {
						delete(seen, id) // final and out of the window: it changes no more
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-changes:
			case <-tick.C:
			}
		}
	}()
	return out
}

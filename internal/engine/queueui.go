package engine

import (
	"context"
	"fmt"
	"net/http"

	"riverqueue.com/riverui"
)

// QueueUI is River's own UI (riverqueue.com/riverui) on this engine's
// River client, serving requests whose path starts with prefix
// ("/riverui"): River's view of the jobs behind the tasks, queues by
// language and agent, for administrators. Its background services run
// until ctx ends. Changing jobs there bypasses handoff's own records: the
// dashboard and the API are the way to act on tasks.
func (e *Engine) QueueUI(ctx context.Context, prefix string) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(e.river, nil),
		Logger:    e.cfg.Logger,
		Prefix:    prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("building River's UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting River's UI: %w", err)
	}
	return h, nil
}

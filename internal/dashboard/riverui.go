package dashboard

import (
	"context"
	"net/http"
)

// newRiverUI builds River's own UI for /riverui/ (its background work
// lives as long as the process), or returns nil when it cannot be served
// here, saying why in the log.
func (d *Dashboard) newRiverUI() http.Handler {
	h, err := d.c.QueueUI(context.Background(), "/riverui")
	if err != nil {
		d.logger.Warn("River's UI is not served", "error", err)
		return nil
	}
	return h
}

func (d *Dashboard) riverUI(w http.ResponseWriter, r *http.Request, v *viewer) {
	if d.riverui == nil {
		d.render(w, r, http.StatusNotImplemented, "riverui", page{Title: "River UI", Nav: "riverui", Viewer: v})
		return
	}
	d.riverui.ServeHTTP(w, r)
}

package dashboard

import (
	"net/http"
	"time"

	"github.com/handoff-dev/handoff"
)

type workersData struct {
	Workers []handoff.Worker
	Now     time.Time
	Error   string
}

func (d *Dashboard) workersPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	data := workersData{Now: time.Now()}
	ws, err := d.c.Workers(r.Context())
	if err != nil {
		d.logger.Error("listing workers", "error", err)
		data.Error = "The workers could not be read: " + err.Error()
	}
	data.Workers = ws
	d.render(w, r, http.StatusOK, "workers", page{Title: "Workers", Nav: "workers", Viewer: v, Data: data})
}

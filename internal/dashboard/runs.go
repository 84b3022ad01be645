package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/store"
)

type runsData struct {
	Runs  []store.Run
	Next  string
	Error string
}

func (d *Dashboard) runsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	var data runsData
	runs, err := d.store.Runs(r.Context(), d.cfg.PageSize, r.URL.Query().Get("before"))
	if err != nil {
		d.logger.Error("listing pipeline runs", "error", err)
		data.Error = "The runs could not be read: " + err.Error()
	}
	data.Runs = runs
	if len(runs) == d.cfg.PageSize {
		data.Next = "/runs?before=" + runs[len(runs)-1].ID
	}
	d.render(w, r, http.StatusOK, "runs", page{Title: "Pipeline runs", Nav: "runs", Viewer: v, Data: data})
}

type stageLog struct {
	Stage, Text string
}

type runData struct {
	Run    *store.Run
	Report pipeline.Report
	Logs   []stageLog
}

func (d *Dashboard) runPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	run, err := d.store.Run(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrRunNotFound) {
		d.fail(w, r, v, http.StatusNotFound, "No pipeline run "+r.PathValue("id")+" is recorded. Runs are recorded when `handoff run` ends, in local mode.")
		return
	}
	if err != nil {
		d.logger.Error("reading a pipeline run", "error", err)
		d.fail(w, r, v, http.StatusInternalServerError, "The run could not be read: "+err.Error())
		return
	}
	data := runData{Run: run}
	if err := json.Unmarshal(run.Report, &data.Report); err != nil {
		d.fail(w, r, v, http.StatusInternalServerError, "The run's report could not be read: "+err.Error())
		return
	}
	for _, s := range data.Report.Stages {
		if text, ok := run.Logs[s.Name]; ok {
			data.Logs = append(data.Logs, stageLog{Stage: s.Name, Text: text})
		}
	}
	for name, text := range run.Logs { // a stage the report does not list
		if !slices.ContainsFunc(data.Logs, func(l stageLog) bool { return l.Stage == name }) {
			data.Logs = append(data.Logs, stageLog{Stage: name, Text: text})
		}
	}
	d.render(w, r, http.StatusOK, "run", page{Title: "Run " + run.Pipeline, Nav: "runs", Viewer: v, Data: data})
}

// runTimeline serves the run's timeline picture, for an <img>: a picture
// so loaded runs no script, whatever it holds.
func (d *Dashboard) runTimeline(w http.ResponseWriter, r *http.Request, _ *viewer) {
	run, err := d.store.Run(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrRunNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "the run could not be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(run.Timeline)
}

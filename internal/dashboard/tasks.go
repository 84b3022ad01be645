package dashboard

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff"
)

// taskRow is one line of the tasks table.
type taskRow struct {
	ID, Short, Module, Agent string
	State                    handoff.State
	Success                  *bool
	Progress, Waiting, Error string
	HasCoverage              bool
	Before, After, Threshold float64
	HasTests                 bool
	Kept, Dropped            int
	Created                  time.Time
}

// Live says the task may still change (and be cancelled).
func (t taskRow) Live() bool { return !t.State.Final() }

// tasksData is the tasks page.
type tasksData struct {
	Filter     taskFilter
	Rows       []taskRow
	Next       string // the next page's URL; empty on the last
	First      bool   // the newest page
	States     []handoff.State
	Agents     []string
	CanCancel  bool
	Here       string // this page's URL, for forms to come back to
	RowsURL    string // its rows alone, for the live script
	Error      string
	Generated  time.Time
	PageSize   int
	FilterNote string
}

type taskFilter struct {
	State, Agent, Label, Module, Cursor string
}

func (f taskFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"state": f.State, "agent": f.Agent, "label": f.Label, "module": f.Module, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

var allStates = []handoff.State{handoff.StateQueued, handoff.StateRunning, handoff.StateCompleted, handoff.StateFailed, handoff.StateCancelled}

// tasks reads one page of the table.
func (d *Dashboard) tasks(r *http.Request, v *viewer) tasksData {
	q := r.URL.Query()
	f := taskFilter{State: strings.ToUpper(q.Get("state")), Agent: q.Get("agent"), Label: strings.TrimSpace(q.Get("label")),
		Module: strings.TrimSpace(q.Get("module")), Cursor: q.Get("cursor")}
	data := tasksData{Filter: f, States: allStates, Agents: d.c.AgentNames(), CanCancel: v.Can("cancel"),
		First: f.Cursor == "", Generated: time.Now(), PageSize: d.cfg.PageSize}
	here := f.query()
	data.Here, data.RowsURL = "/", "/tasks/rows"
	if len(here) > 0 {
		data.Here += "?" + here.Encode()
		data.RowsURL += "?" + here.Encode()
	}
	lf := handoff.ListFilter{Agent: f.Agent, Label: f.Label, Module: f.Module, Limit: d.cfg.PageSize}
	if f.State != "" {
		if !slices.Contains(allStates, handoff.State(f.State)) {
			data.Error = "State " + f.State + " is not one of QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED."
			return data
		}
		lf.States = []handoff.State{handoff.State(f.State)}
	}
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil {
			data.Error = "That page link is broken; start from the newest tasks."
			return data
		}
		lf.Before = string(b)
	}
	sts, err := d.c.List(r.Context(), lf)
	if errors.Is(err, handoff.ErrInvalidRequest) {
		data.Error = strings.TrimPrefix(err.Error(), "invalid request: ListFilter.")
		return data
	}
	if err != nil {
		d.logger.Error("listing tasks", "error", err)
		data.Error = "The tasks could not be read: " + err.Error()
		return data
	}
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	results, err := d.store.Results(r.Context(), ids)
	if err != nil {
		d.logger.Error("reading tasks' results", "error", err)
	}
	for _, st := range sts {
		row := taskRow{ID: st.ID, Short: handoff.ShortID(st.ID), Module: st.Module, Agent: st.Agent, State: st.State,
			Success: st.Success, Progress: st.Progress, Waiting: st.Waiting, Error: st.LastError, Created: st.CreatedAt}
		if res := results[st.ID]; res != nil && st.State.Final() {
			row.Error = res.Error
			if res.Baseline.Passed || res.Coverage.After > 0 || res.Coverage.Before > 0 {
				row.HasCoverage, row.Before, row.After, row.Threshold = true, res.Coverage.Before, res.Coverage.After, res.Coverage.Threshold
			}
			row.HasTests, row.Kept, row.Dropped = res.Funnel.Generated > 0 || len(res.Tests.Kept)+len(res.Tests.Dropped) > 0,
				len(res.Tests.Kept), len(res.Tests.Dropped)
		}
		data.Rows = append(data.Rows, row)
	}
	if len(sts) == d.cfg.PageSize {
		nf := f
		nf.Cursor = base64.RawURLEncoding.EncodeToString([]byte(sts[len(sts)-1].ID))
		data.Next = "/?" + nf.query().Encode()
	}
	return data
}

func (d *Dashboard) tasksPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.render(w, r, http.StatusOK, "tasks", page{Title: "Tasks", Nav: "tasks", Viewer: v, Data: d.tasks(r, v)})
}

// taskRows is the table's body alone, for the live script.
func (d *Dashboard) taskRows(w http.ResponseWriter, r *http.Request, v *viewer) {
	p := page{Viewer: v, Data: d.tasks(r, v)}
	if v.session != nil {
		p.CSRF = v.session.csrf
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := d.pages["tasks"].ExecuteTemplate(w, "rows", p); err != nil {
		d.logger.Error("rendering the tasks' rows", "error", err)
	}
}

// cancel cancels a task and goes back where the form was.
func (d *Dashboard) cancel(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	if _, err := d.c.Cancel(r.Context(), id); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, handoff.ErrNotFound) {
			status = http.StatusNotFound
		}
		d.fail(w, r, v, status, "The task could not be cancelled: "+err.Error())
		return
	}
	d.logger.Info("task cancelled from the dashboard", "task", id, "token", v.Name())
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

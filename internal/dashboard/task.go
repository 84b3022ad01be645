package dashboard

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
)

// maxLogShown is how much of the end of an agent's log a page shows at
// first, and how much one read of the live log returns.
const maxLogShown = 64 << 10

// maxFileShown bounds a kept test file shown on a page.
const maxFileShown = 256 << 10

type keptFile struct {
	Path string
	Code template.HTML
	Note string
}

type phase struct {
	Name string
	D    time.Duration
}

type taskData struct {
	St        *handoff.Status
	Res       *handoff.Result
	Short     string
	Funnel    template.HTML
	Functions []functionRow
	Dropped   []agent.Dropped
	Files     []keptFile
	FilesNote string
	Phases    []phase
	Log       string
	LogSize   int64
	LogNote   string
	CanCancel bool
}

type functionRow struct {
	Name          string
	Before, After float64
	Bars          template.HTML
}

func (d *Dashboard) taskPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	st, res, err := d.c.Inspect(ctx, r.PathValue("id"))
	if errors.Is(err, handoff.ErrNotFound) {
		d.fail(w, r, v, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		d.logger.Error("reading a task", "error", err)
		d.fail(w, r, v, http.StatusInternalServerError, "The task could not be read: "+err.Error())
		return
	}
	data := taskData{St: st, Res: res, Short: handoff.ShortID(st.ID), CanCancel: v.Can("cancel") && !st.State.Final()}
	if res != nil {
		data.Funnel = funnelSVG(res.Funnel)
		for _, f := range res.Functions {
			data.Functions = append(data.Functions, functionRow{Name: f.Name, Before: f.Before, After: f.After, Bars: coverageBars(f.Before, f.After)})
		}
		data.Dropped = res.Tests.Dropped
		data.Phases = []phase{{"queued", res.Timings.Queued}, {"baseline", res.Timings.Baseline}, {"agent", res.Timings.Agent},
			{"verify", res.Timings.Verify}, {"run (whole attempt)", res.Timings.Run}}
		data.Files, data.FilesNote = d.keptFiles(r, st, res)
	}
	data.Log, data.LogSize, data.LogNote = d.logTail(r, st.ID)
	d.render(w, r, http.StatusOK, "task", page{Title: "Task " + data.Short, Nav: "tasks", Viewer: v, Data: data})
}

// keptFiles returns the kept test files: from the database while they wait
// for the submitter, else from the workspace when a worker on this machine
// wrote them there.
func (d *Dashboard) keptFiles(r *http.Request, st *handoff.Status, res *handoff.Result) ([]keptFile, string) {
	lang := res.Language
	if res.Apply.Pending {
		files, err := d.store.KeptFiles(r.Context(), st.ID)
		if err != nil {
			return nil, "The kept tests could not be read from the database: " + err.Error()
		}
		names := make([]string, 0, len(files))
		for p := range files {
			names = append(names, p)
		}
		slices.Sort(names)
		var out []keptFile
		for _, p := range names {
			out = append(out, shownFile(p, files[p], lang))
		}
		return out, "These kept tests wait in the database for the submitter to apply them."
	}
	if len(res.Files) == 0 {
		return nil, ""
	}
	// Only files a worker wrote itself into a workspace it saw: the files
	// a submitter reports having written are its own word, on its machine.
	if res.Apply.Where != "worker" || !res.Apply.Applied {
		return nil, "The kept tests were written where the task was submitted (" + strings.Join(res.Files, ", ") + "); this server does not see them."
	}
	root, err := os.OpenRoot(st.Workspace)
	if err != nil {
		return nil, "The workspace " + st.Workspace + " is not on this machine; the kept tests are there: " + strings.Join(res.Files, ", ") + "."
	}
	defer root.Close()
	var out []keptFile
	for _, p := range res.Files {
		if !isTestFile(p) {
			continue
		}
		f, err := root.Open(filepath.FromSlash(p))
		if err != nil {
			out = append(out, keptFile{Path: p, Note: "not readable here: " + err.Error()})
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, maxFileShown+1))
		f.Close()
		if err != nil {
			out = append(out, keptFile{Path: p, Note: "not readable here: " + err.Error()})
			continue
		}
		out = append(out, shownFile(p, b, lang))
	}
	return out, "As written in the workspace " + st.Workspace + " (it may have changed since)."
}

func shownFile(p string, b []byte, lang string) keptFile {
	kf := keptFile{Path: p}
	if len(b) > maxFileShown {
		b, kf.Note = b[:maxFileShown], "only its first "+strconv.Itoa(maxFileShown>>10)+" KiB"
	}
	kf.Code = highlight(string(b), lang)
	return kf
}

// isTestFile says p names a test file handoff writes: Go's _test.go,
// pytest's test_*.py and *_test.py.
func isTestFile(p string) bool {
	base := filepath.Base(p)
	return strings.HasSuffix(base, "_test.go") || (strings.HasSuffix(base, ".py") &&
		(strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py")))
}

// logFile opens the task's agent log when this machine has it (the worker
// shares the machine).
func (d *Dashboard) logFile(r *http.Request, id string) (*os.File, int64, error) {
	p, err := d.c.LogPath(r.Context(), id)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, errors.New("not a regular file")
	}
	return f, fi.Size(), nil
}

// logTail is the end of the task's log, its size, and a note when there is
// none to show.
func (d *Dashboard) logTail(r *http.Request, id string) (string, int64, string) {
	f, size, err := d.logFile(r, id)
	if err != nil {
		return "", 0, "No agent log on this machine (yet): it is kept where the worker ran the task."
	}
	defer f.Close()
	from := max(0, size-maxLogShown)
	b := make([]byte, size-from)
	n, _ := f.ReadAt(b, from)
	note := ""
	if from > 0 {
		note = "Only the last " + strconv.Itoa(maxLogShown>>10) + " KiB of the log."
	}
	return string(b[:n]), from + int64(n), note
}

// taskLog returns the log from byte ?from on (at most maxLogShown), for the
// live script; X-Log-Size says where the next read starts, X-Task-State the
// task's state (the page is drawn again once it is final).
func (d *Dashboard) taskLog(w http.ResponseWriter, r *http.Request, _ *viewer) {
	from, _ := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if st, err := d.c.Status(r.Context(), r.PathValue("id")); err == nil {
		w.Header().Set("X-Task-State", string(st.State))
	}
	f, size, err := d.logFile(r, r.PathValue("id"))
	if err != nil {
		w.Header().Set("X-Log-Size", strconv.FormatInt(from, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer f.Close()
	if from < 0 || from > size {
		from = 0 // the log was replaced: start again
	}
	n := min(size-from, maxLogShown)
	b := make([]byte, n)
	got, _ := f.ReadAt(b, from)
	w.Header().Set("X-Log-Size", strconv.FormatInt(from+int64(got), 10))
	_, _ = w.Write(b[:got])
}

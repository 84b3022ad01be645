package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/snapstore"
)

// op is an operation needing scope.
func op(id, method, path, scope, summary string) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary,
		Security:     []map[string][]string{{"bearer": {scope}}},
		Metadata:     map[string]any{scopeKey: scope},
		MaxBodyBytes: MaxJSONBody,
		Errors:       []int{400, 401, 403, 404, 413, 422, 429},
	}
}

type treeEntry struct {
	Path string `json:"path" doc:"slash-separated, relative to the workspace root"`
	Mode string `json:"mode" enum:"100644,100755,120000" doc:"100644 file, 100755 executable, 120000 symbolic link (the blob holds its target)"`
	ID   string `json:"id" doc:"the content's git blob ID (git hash-object)"`
	Size int64  `json:"size,omitempty" doc:"bytes of content (informative: the stored blob's size counts)"`
}

type treesIn struct {
	Body struct {
		Entries []treeEntry `json:"entries"`
	}
}

type treesOut struct {
	Body struct {
		Tree    string   `json:"tree" doc:"the stored tree's ID; empty while blobs are missing"`
		Missing []string `json:"missing" doc:"blob IDs to upload with PUT /v1/blobs/{id} before posting the tree again"`
	}
}

type blobIn struct {
	ID      string `path:"id" doc:"the content's git blob ID"`
	RawBody []byte `contentType:"application/octet-stream"`
}

type snapshotIn struct {
	RawBody []byte `contentType:"application/gzip"`
}

type snapshotOut struct {
	Body struct {
		Tree  string `json:"tree"`
		Files int    `json:"files"`
		Bytes int64  `json:"bytes"`
	}
}

type taskIn struct {
	Body struct {
		Tree    string          `json:"tree" doc:"a tree ID from POST /v1/trees or /v1/snapshots"`
		Request handoff.Request `json:"request"`
	}
}

type taskOut struct {
	Body struct {
		TaskID string          `json:"task_id"`
		Status *handoff.Status `json:"status"`
	}
}

type batchIn struct {
	Body struct {
		Tree     string            `json:"tree"`
		Requests []handoff.Request `json:"requests" minItems:"1"`
	}
}

type batchOut struct {
	Body struct {
		TaskIDs []string `json:"task_ids"`
	}
}

type idIn struct {
	ID string `path:"id" doc:"a task ID, or a unique start or end of one (at least 4 characters)"`
}

type statusOut struct {
	Body *handoff.Status
}

type resultIn struct {
	ID   string `path:"id"`
	Wait string `query:"wait" doc:"how long to wait for the final result, like 30s (at most 60s; default 0: no wait)"`
}

type resultOut struct {
	Status int
	Body   any `doc:"the Result when the task is final (200), else its Status (202)"`
}

type keptFile struct {
	Path    string `json:"path"`
	Content []byte `json:"content" doc:"base64"`
}

type filesOut struct {
	Body struct {
		Files   []keptFile `json:"files"`
		Pending bool       `json:"pending"`
	}
}

type appliedIn struct {
	ID   string `path:"id"`
	Body struct {
		Applied   bool     `json:"applied" required:"false" doc:"the kept tests were written"`
		Reason    string   `json:"reason,omitempty" doc:"why they were not, or what was skipped"`
		Stale     bool     `json:"stale" required:"false" doc:"the module or output changed since the snapshot; the tests were verified again"`
		Redropped []string `json:"redropped,omitempty" doc:"kept tests that failed that second verification"`
		Files     []string `json:"files" required:"false" doc:"the files the client wrote, relative to the workspace"`
	}
}

type resultBody struct {
	Body *handoff.Result
}

type listIn struct {
	State  []string `query:"state" doc:"QUEUED, RUNNING, COMPLETED, FAILED or CANCELLED; repeat or comma-separate for several"`
	Agent  string   `query:"agent"`
	Label  string   `query:"label" doc:"key=value"`
	Module string   `query:"module" doc:"a part of the module path"`
	Limit  int      `query:"limit" minimum:"0" maximum:"500" doc:"default 50"`
	Cursor string   `query:"cursor" doc:"next_cursor of the page before"`
}

type workersOut struct {
	Body struct {
		Workers []handoff.Worker `json:"workers"`
	}
}

type listOut struct {
	Body struct {
		Tasks      []*handoff.Status `json:"tasks"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}
}

func (s *Server) routes() {
	api := s.api
	limits := s.snaps.Limits
	maxFile, maxTotal := limits.MaxFile, limits.MaxTotal
	if maxFile <= 0 {
		maxFile = snapstore.DefaultMaxFile
	}
	if maxTotal <= 0 {
		maxTotal = snapstore.DefaultMaxTotal
	}

	o := op("put-tree", http.MethodPost, "/v1/trees", "submit", "Store a workspace tree whose blobs the server holds")
	huma.Register(api, o, func(ctx context.Context, in *treesIn) (*treesOut, error) {
		t := snapstore.Tree{Entries: make([]snapstore.Entry, len(in.Body.Entries))}
		for i, e := range in.Body.Entries {
			t.Entries[i] = snapstore.Entry(e)
		}
		id, missing, err := s.snaps.PutTree(ctx, t)
		if err != nil {
			return nil, problem(err)
		}
		out := &treesOut{}
		out.Body.Tree, out.Body.Missing = id, missing
		if out.Body.Missing == nil {
			out.Body.Missing = []string{}
		}
		return out, nil
	})

	o = op("put-blob", http.MethodPut, "/v1/blobs/{id}", "submit", "Upload one file's content under its git blob ID")
	o.DefaultStatus = http.StatusNoContent
	o.MaxBodyBytes = maxFile + 1
	huma.Register(api, o, func(ctx context.Context, in *blobIn) (*struct{}, error) {
		return nil, problem(s.snaps.PutBlob(ctx, in.ID, in.RawBody))
	})

	o = op("put-snapshot", http.MethodPost, "/v1/snapshots", "submit", "Store a workspace sent whole, as a tar.gz of its root")
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = maxTotal + 1<<20
	o.BodyReadTimeout = 5 * time.Minute
	huma.Register(api, o, func(ctx context.Context, in *snapshotIn) (*snapshotOut, error) {
		src := &snapstore.TarGz{R: bytes.NewReader(in.RawBody), Limits: limits}
		id, _, err := s.snaps.Put(ctx, src)
		if err != nil {
			return nil, problem(err)
		}
		t, err := s.snaps.Tree(ctx, id)
		if err != nil {
			return nil, problem(err)
		}
		out := &snapshotOut{}
		out.Body.Tree, out.Body.Files, out.Body.Bytes = id, len(t.Entries), t.Size()
		return out, nil
	})

	o = op("submit-task", http.MethodPost, "/v1/tasks", "submit", "Submit a task on a stored tree")
	o.DefaultStatus = http.StatusCreated
	o.Errors = append(o.Errors, 409)
	huma.Register(api, o, func(ctx context.Context, in *taskIn) (*taskOut, error) {
		ids, err := s.c.SubmitTree(ctx, in.Body.Tree, []handoff.Request{in.Body.Request})
		if err != nil {
			return nil, problem(err)
		}
		st, err := s.c.Status(ctx, ids[0])
		if err != nil {
			return nil, problem(err)
		}
		out := &taskOut{}
		out.Body.TaskID, out.Body.Status = ids[0], st
		return out, nil
	})

	o = op("submit-batch", http.MethodPost, "/v1/task-batches", "submit", "Submit several tasks on one stored tree: all or none")
	o.DefaultStatus = http.StatusCreated
	o.Errors = append(o.Errors, 409)
	huma.Register(api, o, func(ctx context.Context, in *batchIn) (*batchOut, error) {
		ids, err := s.c.SubmitTree(ctx, in.Body.Tree, in.Body.Requests)
		if err != nil {
			return nil, problem(err)
		}
		out := &batchOut{}
		out.Body.TaskIDs = ids
		return out, nil
	})

	huma.Register(api, op("get-task", http.MethodGet, "/v1/tasks/{id}", "read", "A task's status"),
		func(ctx context.Context, in *idIn) (*statusOut, error) {
			st, err := s.c.Status(ctx, in.ID)
			if err != nil {
				return nil, problem(err)
			}
			return &statusOut{Body: st}, nil
		})

	o = op("get-result", http.MethodGet, "/v1/tasks/{id}/result", "read", "A task's result, waiting for it up to ?wait")
	o.Responses = map[string]*huma.Response{"202": {Description: "the task is still live after the wait: its Status"}}
	huma.Register(api, o, func(ctx context.Context, in *resultIn) (*resultOut, error) {
		var wait time.Duration
		if in.Wait != "" {
			d, err := time.ParseDuration(in.Wait)
			if err != nil || d < 0 {
				return nil, huma.Error400BadRequest(fmt.Sprintf("wait=%q is not a duration; give one like 30s (at most %s)", in.Wait, MaxWait))
			}
			wait = min(d, MaxWait)
		}
		// A wait of zero still reads the task once. A server that stops
		// ends the wait: the client asks again, of it or its successor.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.stopped, cancel)()
		res, err := s.c.Wait(ctx, in.ID, handoff.WaitOptions{Timeout: max(wait, time.Millisecond), PollInterval: 500 * time.Millisecond})
		if err != nil && s.stopped.Err() != nil {
			return nil, huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("the server is stopping; ask again"),
				http.Header{"Retry-After": []string{"1"}})
		}
		if errors.Is(err, handoff.ErrWaitTimeout) {
			st, err := s.c.Status(ctx, in.ID)
			if err != nil {
				return nil, problem(err)
			}
			return &resultOut{Status: http.StatusAccepted, Body: st}, nil
		}
		if err != nil {
			return nil, problem(err)
		}
		return &resultOut{Status: http.StatusOK, Body: res}, nil
	})

	huma.Register(api, op("get-files", http.MethodGet, "/v1/tasks/{id}/files", "read", "The kept test files that wait to be applied"),
		func(ctx context.Context, in *idIn) (*filesOut, error) {
			st, err := s.c.Status(ctx, in.ID)
			if err != nil {
				return nil, problem(err)
			}
			files, err := s.tasks.KeptFiles(ctx, st.ID)
			if err != nil {
				return nil, problem(err)
			}
			out := &filesOut{}
			out.Body.Files = []keptFile{}
			for p, content := range files {
				out.Body.Files = append(out.Body.Files, keptFile{Path: p, Content: content})
			}
			out.Body.Pending = len(files) > 0
			return out, nil
		})

	huma.Register(api, op("record-applied", http.MethodPost, "/v1/tasks/{id}/applied", "submit", "Record that the client wrote the kept tests into its workspace"),
		func(ctx context.Context, in *appliedIn) (*resultBody, error) {
			b := in.Body
			res, err := s.c.RecordApplied(ctx, in.ID, handofftype.ApplyInfo{Applied: b.Applied, Reason: b.Reason, Stale: b.Stale, Redropped: b.Redropped}, b.Files)
			if err != nil {
				return nil, problem(err)
			}
			return &resultBody{Body: res}, nil
		})

	huma.Register(api, op("cancel-task", http.MethodPost, "/v1/tasks/{id}/cancel", "cancel", "Cancel a task"),
		func(ctx context.Context, in *idIn) (*statusOut, error) {
			st, err := s.c.Cancel(ctx, in.ID)
			if err != nil {
				return nil, problem(err)
			}
			return &statusOut{Body: st}, nil
		})

	huma.Register(api, op("list-tasks", http.MethodGet, "/v1/tasks", "read", "Tasks, newest first"),
		func(ctx context.Context, in *listIn) (*listOut, error) {
			f := handoff.ListFilter{Agent: in.Agent, Label: in.Label, Module: in.Module, Limit: in.Limit}
			if f.Limit == 0 {
				f.Limit = 50
			}
			for _, v := range in.State {
				for _, st := range strings.Split(v, ",") {
					state := handoff.State(strings.ToUpper(strings.TrimSpace(st)))
					switch state {
					case handoff.StateQueued, handoff.StateRunning, handoff.StateCompleted, handoff.StateFailed, handoff.StateCancelled:
					default:
						return nil, huma.Error422UnprocessableEntity(fmt.Sprintf("state %q is not one of QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED", st))
					}
					f.States = append(f.States, state)
				}
			}
			if in.Cursor != "" {
				b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
				if err != nil {
					return nil, huma.Error400BadRequest("cursor is not one this server gave; pass next_cursor as it came")
				}
				f.Before = string(b)
			}
			tasks, err := s.c.List(ctx, f)
			if err != nil {
				return nil, problem(err)
			}
			out := &listOut{}
			out.Body.Tasks = tasks
			if out.Body.Tasks == nil {
				out.Body.Tasks = []*handoff.Status{}
			}
			if len(tasks) == f.Limit {
				out.Body.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(tasks[len(tasks)-1].ID))
			}
			return out, nil
		})

	huma.Register(api, op("list-workers", http.MethodGet, "/v1/workers", "read", "The live workers and what each serves"),
		func(ctx context.Context, _ *struct{}) (*workersOut, error) {
			ws, err := s.c.Workers(ctx)
			if err != nil {
				return nil, problem(err)
			}
			out := &workersOut{}
			out.Body.Workers = ws
			if out.Body.Workers == nil {
				out.Body.Workers = []handoff.Worker{}
			}
			return out, nil
		})

	o = op("events", http.MethodGet, "/v1/events", "read", "Every task's changes, as server-sent events")
	o.Description = "text/event-stream: an event `task` with the task's Status as data on every state change or progress; a comment line every 15 s as keepalive."
	o.Responses = map[string]*huma.Response{"200": {Description: "the event stream", Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(api, o, func(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
		return &huma.StreamResponse{Body: s.events}, nil
	})
}

package openhandstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// serveFiles serves the git, file and bash routes, in both the query-style
// (path=...) and the path-style (/route/<absolute path>) forms.
func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api/bash/execute_bash_command" && r.Method == http.MethodPost {
		s.executeBash(w, r)
		return
	}
	for _, route := range []string{"/api/git/changes", "/api/git/diff", "/api/file/download", "/api/file/upload"} {
		var target string
		switch {
		case p == route:
			if s.opts.PathStyleOnly {
				notFound(w)
				return
			}
			target = r.URL.Query().Get("path")
			if target == "" {
				writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"query", "path"},
					"msg": "Field required", "type": "missing"}}})
				return
			}
		case strings.HasPrefix(p, route+"/"):
			if s.opts.QueryStyleOnly {
				notFound(w)
				return
			}
			target = strings.TrimPrefix(p, route+"/")
		default:
			continue
		}
		if !path.IsAbs(target) {
			writeJSON(w, 400, map[string]any{"detail": "Path must be absolute"})
			return
		}
		switch {
		case route == "/api/git/changes" && r.Method == http.MethodGet:
			ch, err := s.changes(target, r.URL.Query().Get("ref"))
			if err != nil {
				writeJSON(w, 500, map[string]any{"detail": err.Error()})
				return
			}
			writeJSON(w, 200, ch)
		case route == "/api/git/diff" && r.Method == http.MethodGet:
			b, err := os.ReadFile(target)
			var modified any
			if err == nil {
				modified = string(b)
			}
			writeJSON(w, 200, map[string]any{"modified": modified, "original": nil})
		case route == "/api/file/download" && r.Method == http.MethodGet:
			download(w, target)
		case route == "/api/file/upload" && r.Method == http.MethodPost:
			upload(w, r, target)
		default:
			writeJSON(w, 405, map[string]any{"detail": "Method Not Allowed"})
		}
		return
	}
	notFound(w)
}

// emptyTree is git's empty tree object.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// changes lists, as GitChanges relative to dir, what git reports changed
// in dir against ref, as the real server does: git diff --name-status plus
// the untracked files. Without ref the server chooses the base: releases
// before 1.35 the empty tree (every file is ADDED), later ones HEAD (so
// committed work is not listed). A repository without a valid base gives
// no changes.
func (s *Server) changes(dir, ref string) ([]map[string]any, error) {
	if ref == "" {
		ref = "HEAD"
		if versionBefore(s.opts.Version, 1, 35) {
			ref = emptyTree
		}
		if _, err := gitOutput(dir, "rev-parse", "--verify", "--quiet", ref+"^{tree}"); err != nil {
			return []map[string]any{}, nil
		}
	}
	diff, err := gitOutput(dir, "--no-pager", "diff", "--name-status", ref)
	if err != nil {
		return nil, err
	}
	untracked, err := gitOutput(dir, "ls-files", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	status := map[string]string{"M": "UPDATED", "A": "ADDED", "D": "DELETED", "U": "UPDATED"}
	for _, line := range strings.Split(diff, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && strings.HasPrefix(f[0], "R"):
			out = append(out, map[string]any{"status": "DELETED", "path": f[1]}, map[string]any{"status": "ADDED", "path": f[2]})
		case len(f) == 2 && status[f[0]] != "":
			out = append(out, map[string]any{"status": status[f[0]], "path": f[1]})
		}
	}
	for _, p := range strings.Fields(untracked) {
		out = append(out, map[string]any{"status": "ADDED", "path": p})
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["path"].(string), b["path"].(string)) })
	return out, nil
}

// versionBefore reports whether release v (such as "1.34.2") is older than
// major.minor.
func versionBefore(v string, major, minor int) bool {
	var ma, mi int
	fmt.Sscanf(v, "%d.%d", &ma, &mi) //nolint:errcheck // an unparsable version counts as 0.0
	return ma < major || (ma == major && mi < minor)
}

func download(w http.ResponseWriter, target string) {
	fi, err := os.Stat(target)
	switch {
	case err != nil:
		writeJSON(w, 404, map[string]any{"detail": "File not found"})
	case !fi.Mode().IsRegular():
		writeJSON(w, 400, map[string]any{"detail": "Path is not a file"})
	default:
		b, err := os.ReadFile(target)
		if err != nil {
			writeJSON(w, 500, map[string]any{"detail": "Failed to download file"})
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(200)
		w.Write(b) //nolint:errcheck // recorder
	}
}

func upload(w http.ResponseWriter, r *http.Request, target string) {
	f, _, err := r.FormFile("file")
	if err != nil {
		validationError(w, "Field required: file")
		return
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		writeJSON(w, 500, map[string]any{"detail": "Failed to upload file"})
		return
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		writeJSON(w, 500, map[string]any{"detail": "Failed to upload file: " + err.Error()})
		return
	}
	if err := os.WriteFile(target, buf.Bytes(), 0o644); err != nil {
		writeJSON(w, 500, map[string]any{"detail": "Failed to upload file: " + err.Error()})
		return
	}
	writeJSON(w, 200, map[string]any{"success": true})
}

// executeBash really runs the command with bash, as the agent server does.
func (s *Server) executeBash(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Command *string `json:"command"`
		Cwd     *string `json:"cwd"`
		Timeout *int    `json:"timeout"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Command == nil {
		validationError(w, "Field required: command")
		return
	}
	timeout := 300
	if req.Timeout != nil && *req.Timeout > 0 {
		timeout = *req.Timeout
	}
	dir := ""
	if req.Cwd != nil {
		dir = *req.Cwd
	}
	var stdout, stderr bytes.Buffer
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"bash", "-c", *req.Command}, Dir: dir,
		Stdout: &stdout, Stderr: &stderr, Timeout: time.Duration(timeout) * time.Second})
	code := res.ExitCode
	if err != nil {
		code = 127
		stderr.WriteString(err.Error())
	}
	writeJSON(w, 200, map[string]any{"id": uuid.NewString(), "timestamp": time.Now().UTC().Format(time.RFC3339),
		"command_id": uuid.NewString(), "order": 0, "exit_code": code, "stdout": stdout.String(), "stderr": stderr.String(),
		"kind": "BashOutput"})
}

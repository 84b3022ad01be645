package openhands

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// serverPath maps a local task directory to the path the server sees in
// shared mode.
func (c Config) serverPath(local string) (string, error) {
	if c.LocalPrefix == "" {
		return filepath.ToSlash(local), nil
	}
	rel, err := filepath.Rel(c.LocalPrefix, local)
	if err != nil || (rel != "." && !filepath.IsLocal(rel)) {
		return "", fmt.Errorf("openhands: the task directory %s is not under %s, the local side of OPENHANDS_PATH_MAP; "+
			"point HANDOFF's task directories into the folder the agent server mounts, or fix the map", local, c.LocalPrefix)
	}
	return path.Join(c.ServerPrefix, filepath.ToSlash(rel)), nil
}

// snapshotRef names the commit of an uploaded snapshot in its repository
// on the server: the base the agent's changes are listed against.
const snapshotRef = "refs/handoff/base"

// uploadDir is the server-side directory an uploaded snapshot unpacks into.
func uploadDir(c Config, id string) string { return path.Join(c.UploadDir, id) }

// upload sends the task directory as a tarball with the file-upload route,
// unpacks it with the bash route into a fresh git repository (so the git
// routes can report the agent's changes) and returns that directory.
func upload(ctx context.Context, s *agentServer, id, local string) (string, error) {
	dir := uploadDir(s.cfg, id)
	archive := dir + ".tar.gz"
	data, err := tarball(local)
	if err != nil {
		return "", fmt.Errorf("openhands: packing the task directory for upload: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "snapshot.tar.gz")
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(data); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	if _, err := s.fileRoute(ctx, http.MethodPost, "/api/file/upload", archive, nil, body.Bytes(), mw.FormDataContentType()); err != nil {
		return "", fmt.Errorf("openhands: uploading the snapshot to %s: %w", archive, err)
	}
	script := strings.Join([]string{
		"set -e",
		"mkdir -p " + shellQuote(dir),
		"tar -xzf " + shellQuote(archive) + " -C " + shellQuote(dir),
		"rm -f " + shellQuote(archive),
		"cd " + shellQuote(dir),
		"if [ ! -d .git ]; then git init -q && git add -A && " +
			"git -c user.name=handoff -c user.email=handoff@localhost commit -q --allow-empty -m 'handoff snapshot' && " +
			"git update-ref " + snapshotRef + " HEAD; fi",
	}, "\n")
	a, err := s.cl.do(ctx, call{method: http.MethodPost, path: "/api/bash/execute_bash_command",
		json: executeBashRequest{Command: script, Timeout: 300}})
	if err != nil {
		return "", fmt.Errorf("openhands: unpacking the snapshot on the server: %w", err)
	}
	var out bashOutput
	if err := a.decode(&out); err != nil {
		return "", err
	}
	if out.ExitCode == nil || *out.ExitCode != 0 {
		return "", fmt.Errorf("openhands: unpacking the snapshot in %s on the server exited %s: %s "+
			"(the server needs tar and git; or use OPENHANDS_WORKSPACE=shared)",
			dir, bashExitCode(out.ExitCode), s.cl.redact(oneLine(out.Stderr+" "+out.Stdout, 300)))
	}
	return dir, nil
}

// tarball packs the regular files and directories under root, without .git.
func tarball(root string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // symlinks and devices stay home
		}
		rel, _ := filepath.Rel(root, p)
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// applyChanges writes the files a remote conversation changed into the task
// directory, through an os.Root so no path can escape it, and returns the
// slash-separated paths it touched. fetch downloads one absolute remote
// file; a file it answers errUnreadable for is left alone and reported.
func applyChanges(taskDir, remoteDir string, changes []gitChange, fetch func(remote string) ([]byte, error)) (harvested, error) {
	var h harvested
	root, err := os.OpenRoot(taskDir)
	if err != nil {
		return h, fmt.Errorf("openhands: opening the task directory: %w", err)
	}
	defer root.Close()
	touched := []string{}
	for _, ch := range changes {
		rel := strings.TrimPrefix(ch.Path, strings.TrimSuffix(remoteDir, "/")+"/")
		if _, after, ok := strings.Cut(rel, " -> "); ok { // MOVED may spell "old -> new"
			rel = after
		}
		local := filepath.FromSlash(rel)
		if !filepath.IsLocal(local) {
			return harvested{files: touched, unreadable: h.unreadable}, fmt.Errorf("openhands: the server reported a change outside the workspace: %q", ch.Path)
		}
		if ch.Status == "DELETED" {
			if err := root.Remove(local); err != nil && !os.IsNotExist(err) {
				return harvested{files: touched, unreadable: h.unreadable}, fmt.Errorf("openhands: removing %s: %w", rel, err)
			}
			touched = append(touched, filepath.ToSlash(local))
			continue
		}
		data, err := fetch(path.Join(remoteDir, filepath.ToSlash(local)))
		if errors.Is(err, errUnreadable) {
			h.unreadable = append(h.unreadable, filepath.ToSlash(local))
			continue
		}
		if err != nil {
			return harvested{files: touched, unreadable: h.unreadable}, fmt.Errorf("openhands: downloading %s: %w", rel, err)
		}
		if dir := filepath.Dir(local); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return harvested{files: touched, unreadable: h.unreadable}, fmt.Errorf("openhands: creating %s: %w", dir, err)
			}
		}
		if err := root.WriteFile(local, data, 0o644); err != nil {
			return harvested{files: touched, unreadable: h.unreadable}, fmt.Errorf("openhands: writing %s: %w", rel, err)
		}
		touched = append(touched, filepath.ToSlash(local))
	}
	h.files = touched
	return h, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// syncChanged copies into dst every regular file of src that dst lacks or
// holds with other contents (.git and .handoff skipped), through an os.Root,
// and returns their slash-separated paths.
func syncChanged(src, dst string) ([]string, error) {
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, fmt.Errorf("openhands: opening the task directory: %w", err)
	}
	defer root.Close()
	var copied []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != src && (d.Name() == ".git" || d.Name() == ".handoff") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if old, err := root.ReadFile(rel); err == nil && bytes.Equal(old, data) {
			return nil
		}
		if dir := filepath.Dir(rel); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err := root.WriteFile(rel, data, 0o644); err != nil {
			return err
		}
		copied = append(copied, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return copied, fmt.Errorf("openhands: bringing the agent's changes over from %s: %w", src, err)
	}
	return copied, nil
}

package workspace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Reusing the last snapshot's tree.
//
// A git snapshot costs three git processes (add, write-tree, update-ref).
// When nothing git add would read was written since the last snapshot's git
// started reading, the last tree is this snapshot's tree, and only
// update-ref runs. The file system's own clock tells: every write to a file,
// and every entry added to or removed from a directory, sets its ctime to
// that clock, which no program can set back. So a full snapshot records the
// clock's time just before git reads anything (the marker: the temporary
// index's creation time), and the next snapshot reuses its tree when every
// entry of the work tree (.git and .handoff at the root aside) and every file
// outside it that steers git add (the user's index and HEAD, config, ignore
// and attribute files) is older than the marker and is still the same file
// (device and inode), or still absent. That is git's own rule for racy index
// entries applied to the whole tree; like git, it trusts the clock not to
// step back.
//
// The recorded tree is pinned by one ref per workspace (cacheRef), so gc
// cannot take its objects after the tasks that used it release theirs, and a
// reuse verifies that ref in the same ref transaction that pins the new
// tasks: a tree another process recorded meanwhile is never taken on trust.

// reuseStateName is the file under .handoff that records the last full
// snapshot for the next one.
const reuseStateName = "snapshot-reuse.json"

// reuseVersion changes whenever what the state means changes, so a state
// from another version is never trusted.
const reuseVersion = 2

// errNotStampable: the work tree cannot be checked (a nested repository, an
// entry on another file system, too many entries, or a platform without
// ctimes); its snapshots are always written in full.
var errNotStampable = errors.New("workspace cannot be checked for writes")

// reuseState is what the last full snapshot of a workspace recorded.
type reuseState struct {
	Version int    `json:"version"`
	Tree    string `json:"tree,omitempty"`    // pinned by cacheRef
	Marker  int64  `json:"marker,omitempty"`  // the file system's time before git read anything for Tree
	Tracked int    `json:"tracked,omitempty"` // entries in the user's index then: sizes the walk
	Repo    string `json:"repo,omitempty"`    // identify of the user's index and HEAD
	// Inputs are the config, ignore and attribute files outside the work
	// tree that git reads, as `git config` listed them, and InputsID their
	// identify; the list is asked for again when one of them changed.
	Inputs   []string `json:"inputs,omitempty"`
	InputsID string   `json:"inputs_id,omitempty"`
	// Hot are the directories where the last write was found, looked at
	// first: the next write is likeliest there.
	Hot []string `json:"hot,omitempty"`
	// Skip is Repo while the work tree cannot be checked: no walk until
	// the user's index or HEAD change.
	Skip string `json:"skip,omitempty"`
}

func reuseStatePath(root string) string { return filepath.Join(root, StateDirName, reuseStateName) }

// loadReuseState returns the recorded state, or the zero state when there is
// none or it cannot be used.
func loadReuseState(root string) reuseState {
	var s reuseState
	data, err := os.ReadFile(reuseStatePath(root))
	if err != nil || json.Unmarshal(data, &s) != nil || s.Version != reuseVersion {
		return reuseState{}
	}
	return s
}

// store replaces the recorded state. Concurrent snapshots may each store
// theirs; whichever is last wins, and each is true on its own.
func (s reuseState) store(root string) error {
	s.Version = reuseVersion
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Join(root, StateDirName), "."+reuseStateName+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // nothing is left after the rename
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), reuseStatePath(root))
}

// cacheRef is the ref that keeps the recorded tree's objects from gc: one per
// workspace root, since the linked worktrees of a repository share its refs.
func cacheRef(root string) string {
	sum := sha256.Sum256([]byte(root))
	return "refs/handoff-cache/" + hex.EncodeToString(sum[:8])
}

// walkLimit caps the work tree entries a check walks: a tree of ignored
// files far larger than what git tracks (node_modules, a virtualenv) would
// cost more to walk than the snapshot it could spare.
func walkLimit(tracked int) int { return 10_000 + 2*tracked }

// identify digests which files of files exist and which files they are
// (device, inode), after seed; newest is the latest time among them.
func identify(seed string, files []string) (id string, newest int64, err error) {
	h := sha256.New()
	h.Write([]byte(seed))
	var b [17]byte
	for _, p := range files {
		s, ok, err := statFile(p)
		if err != nil {
			return "", 0, err
		}
		h.Write([]byte(p))
		if ok {
			b[0] = 1
			dev := s.identity()
			binary.LittleEndian.PutUint64(b[1:], dev[0])
			binary.LittleEndian.PutUint64(b[9:], dev[1])
			newest = max(newest, s.newest())
		} else {
			b = [17]byte{}
		}
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil)), newest, nil
}

// inputsSeed is the part of the environment that decides which files git
// reads (gitCmd drops every GIT_* variable).
func inputsSeed() string {
	return fmt.Sprintf("inputs %d\x00HOME=%s\x00XDG_CONFIG_HOME=%s\x00", reuseVersion, os.Getenv("HOME"), os.Getenv("XDG_CONFIG_HOME"))
}

// repoFiles are the user's index and HEAD: they change with every add,
// commit or checkout, which is no reason to ask git for its inputs again.
func repoFiles(gitDirPath string) []string {
	return []string{filepath.Join(gitDirPath, "index"), filepath.Join(gitDirPath, "HEAD")}
}

// gitInputs lists the files outside the work tree, besides the user's index
// and HEAD, whose content can change what git add records: the repository's
// config, info/exclude and info/attributes, the global and system configs and
// ignore and attribute files, and every file `git config` reports reading or
// naming (includes, core.excludesFile, core.attributesFile). Only paths are
// kept, never a config value.
func gitInputs(ctx context.Context, root, gitDirPath string) ([]string, error) {
	common := commonDir(gitDirPath)
	home := os.Getenv("HOME")
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	set := map[string]bool{}
	add := func(p string) { set[filepath.Clean(p)] = true }
	add(filepath.Join(gitDirPath, "config.worktree"))
	add(filepath.Join(common, "config"))
	add(filepath.Join(common, "info", "exclude"))
	add(filepath.Join(common, "info", "attributes"))
	add("/etc/gitconfig")
	if home != "" {
		add(filepath.Join(home, ".gitconfig"))
	}
	if xdg != "" {
		for _, name := range []string{"config", "ignore", "attributes"} {
			add(filepath.Join(xdg, "git", name))
		}
	}
	out, err := gitCmd{dir: root, args: []string{"config", "--list", "--show-origin", "-z"}}.run(ctx)
	if err != nil {
		return nil, err
	}
	// -z --show-origin: origin NUL key [LF value] NUL, for every entry.
	fields := bytes.Split(out, []byte{0})
	for i := 0; i+1 < len(fields); i += 2 {
		origin, entry := string(fields[i]), string(fields[i+1])
		file, isFile := strings.CutPrefix(origin, "file:")
		base := root
		if isFile {
			if !filepath.IsAbs(file) {
				file = filepath.Join(root, file)
			}
			add(file)
			base = filepath.Dir(file)
		}
		key, value, _ := strings.Cut(entry, "\n")
		key = strings.ToLower(key)
		switch {
		case key == "core.excludesfile" || key == "core.attributesfile":
			base = root // git opens these from the top of the work tree
		case key == "include.path" || strings.HasPrefix(key, "includeif.") && strings.HasSuffix(key, ".path"):
		default:
			continue
		}
		p, ok := configPath(value, base, home)
		if !ok {
			return nil, errNotStampable
		}
		add(p)
	}
	inputs := make([]string, 0, len(set))
	for p := range set {
		inputs = append(inputs, p)
	}
	slices.Sort(inputs)
	return inputs, nil
}

// configPath resolves a path-valued config entry as git does, for the forms
// it can resolve without git: "~/…", absolute, or relative to base.
func configPath(value, base, home string) (string, bool) {
	switch {
	case value == "":
		return "", false
	case strings.HasPrefix(value, "~/"):
		if home == "" {
			return "", false
		}
		return filepath.Join(home, value[2:]), true
	case strings.HasPrefix(value, "~") || strings.HasPrefix(value, "%("):
		return "", false // another user's home, git's install prefix
	case filepath.IsAbs(value):
		return value, true
	default:
		return filepath.Join(base, value), true
	}
}

// commonDir is the directory holding the config, info/ and refs that linked
// worktrees share: gitDir itself, or what its commondir file names.
func commonDir(gitDirPath string) string {
	data, err := os.ReadFile(filepath.Join(gitDirPath, "commondir"))
	if err != nil {
		return gitDirPath
	}
	dir := strings.TrimSpace(string(data))
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(gitDirPath, dir)
	}
	return filepath.Clean(dir)
}

// reuser decides, for one snapshot, whether the last tree can be reused,
// and what the next snapshot needs to decide when it cannot.
type reuser struct {
	root, gitDir string
	stamps       bool // this platform can tell writes
	prev         reuseState
	hot          []string // where try found a write
	skip         string   // Repo, when try found the work tree cannot be checked
}

func newReuser(root, gitDirPath string) *reuser {
	r := &reuser{root: root, gitDir: gitDirPath, stamps: stampsSupported}
	if r.stamps {
		r.prev = loadReuseState(root)
	}
	return r
}

// try pins the recorded tree under ids when nothing git would read was
// written since its marker and the cache ref still holds it. ok false with a
// nil error means the snapshot must be written.
func (r *reuser) try(ctx context.Context, ids []string) (tree string, ok bool, err error) {
	p := r.prev
	if p.Tree == "" || p.Marker == 0 {
		return "", false, nil
	}
	repo, newest, err := identify("repo", repoFiles(r.gitDir))
	if err != nil || repo == p.Skip || repo != p.Repo || newest >= p.Marker {
		return "", false, nil
	}
	inputs, newest, err := identify(inputsSeed(), p.Inputs)
	if err != nil || inputs != p.InputsID || newest >= p.Marker {
		return "", false, nil
	}
	dir, found, err := findNewer(r.root, p.Marker, walkLimit(p.Tracked), p.Hot)
	switch {
	case errors.Is(err, errNotStampable):
		r.skip = repo
		return "", false, nil
	case err != nil:
		return "", false, nil
	case found:
		r.hot = []string{dir}
		return "", false, nil
	}
	err = pinTree(ctx, r.root, p.Tree, ids, "verify "+cacheRef(r.root)+" "+p.Tree)
	if err == nil {
		return p.Tree, true, nil
	}
	if ctx.Err() != nil {
		return "", false, fmt.Errorf("snapshot %s: %w", r.root, err)
	}
	// Another process recorded another tree meanwhile, or the cache ref
	// is locked: write the tree.
	return "", false, nil
}

// record returns the state the next snapshot decides from, to be stored
// with this snapshot's tree. It runs beside git, after the marker: marker is
// the file system's time before git read anything, tracked the number of
// entries in the user's index.
func (r *reuser) record(ctx context.Context, marker int64, tracked int) reuseState {
	if !r.stamps || marker == 0 {
		return reuseState{}
	}
	next := reuseState{Marker: marker, Tracked: tracked, Hot: r.hot, Skip: r.skip}
	repo, _, err := identify("repo", repoFiles(r.gitDir))
	if err != nil {
		return reuseState{}
	}
	next.Repo = repo
	if next.Skip == "" && r.prev.Skip == repo {
		next.Skip = repo
	}
	// The list of inputs holds while none of them was written since the
	// last snapshot: checked now, after the marker, so that a write from
	// here on shows as newer than it.
	inputs := r.prev.Inputs
	id, newest, err := identify(inputsSeed(), inputs)
	if r.prev.InputsID == "" || err != nil || id != r.prev.InputsID || newest >= r.prev.Marker {
		if inputs, err = gitInputs(ctx, r.root, r.gitDir); err != nil {
			return reuseState{}
		}
		if id, _, err = identify(inputsSeed(), inputs); err != nil {
			return reuseState{}
		}
	}
	next.Inputs, next.InputsID = inputs, id
	return next
}

package snapstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// ErrBadEntry is returned for a snapshot that names a file it may not:
// a path with "..", an absolute path, a symbolic link out of the
// workspace, a device file or a fifo, an unknown mode, a malformed blob
// ID, or content that does not match the ID it is sent under. The message
// names the entry and what to do. Nothing is stored.
var ErrBadEntry = errors.New("snapshot entry refused")

// blobIDPattern is a git (SHA-1) object ID as git prints it.
var blobIDPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Missing returns those of ids the database holds no blob for, sorted,
// each once: what an uploader must send before PutTree can store a tree.
func (s *Store) Missing(ctx context.Context, ids []string) ([]string, error) {
	uniq := map[string]bool{}
	for _, id := range ids {
		if !blobIDPattern.MatchString(id) {
			return nil, fmt.Errorf("%w: %q is not a git blob ID (40 lowercase hex digits, as `git hash-object` prints)", ErrBadEntry, id)
		}
		uniq[id] = true
	}
	ks := mapKeys(uniq)
	sizes, err := s.blobSizes(ctx, s.DB, ks)
	if err != nil {
		return nil, err
	}
	missing := []string{}
	for _, id := range ks {
		if _, ok := sizes[id]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// PutBlob stores one content under its git blob ID, for a tree uploaded
// blob by blob (PutTree). Content that does not hash to id is ErrBadEntry;
// content over the one-file limit is ErrTooLarge. Storing a blob the
// database holds already changes nothing.
func (s *Store) PutBlob(ctx context.Context, id string, content []byte) error {
	if !blobIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q is not a git blob ID (40 lowercase hex digits, as `git hash-object` prints)", ErrBadEntry, id)
	}
	if got := BlobID(content); got != id {
		return fmt.Errorf("%w: the content sent as blob %s hashes to %s; send each file's content under its own `git hash-object` ID", ErrBadEntry, id, got)
	}
	limits := s.Limits.withDefaults()
	if n := int64(len(content)); n > limits.MaxFile {
		return fmt.Errorf("%w: blob %s is %s, over the limit of %s for one file; leave the file out, or raise HANDOFF_SNAPSHOT_MAX_FILE on the server",
			ErrTooLarge, id, mib(n), mib(limits.MaxFile))
	}
	z, err := deflate(content)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO handoff_blob (id, size, data, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, id, len(content), z, time.Now().UnixMilli())
	return err
}

// PutTree stores a tree whose blobs the database holds: it returns the
// tree's ID, or, when blobs are missing, no ID and the missing blobs'
// IDs, storing nothing. Entries are checked as Materialize would (clean
// relative paths, known modes, blob IDs) and their sizes taken from the
// stored blobs; the snapshot limits apply.
func (s *Store) PutTree(ctx context.Context, t Tree) (id string, missing []string, err error) {
	if err := t.Check(); err != nil {
		return "", nil, err
	}
	// A declared size over the limits is refused before any content is
	// sent, with the file and the setting to raise; the sizes that count
	// in the end are the stored blobs'.
	l := s.Limits.withDefaults()
	var total int64
	for _, e := range t.Entries {
		if e.Size > l.MaxFile {
			return "", nil, l.fileErr(e)
		}
		total += max(e.Size, 0)
	}
	if total > l.MaxTotal {
		return "", nil, l.totalErr(total)
	}
	t = Tree{Entries: slices.Clone(t.Entries)}
	for i := range t.Entries {
		t.Entries[i].Size = 0
	}
	// One look at the blobs, inside Put's transaction: those it lacks
	// come back as storedMissing, and nothing is stored.
	id, _, err = s.Put(ctx, stored{t})
	var gone storedMissing
	if errors.As(err, &gone) {
		missing = slices.Clone(gone)
		slices.Sort(missing)
		return "", slices.Compact(missing), nil
	}
	return id, nil, err
}

// Check reports the first entry Materialize would refuse, or two entries
// with one path, as ErrBadEntry.
func (t Tree) Check() error {
	seen := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		if err := checkPath(e.Path); err != nil {
			return err
		}
		switch e.Mode {
		case ModeFile, ModeExecutable, ModeSymlink:
		default:
			return fmt.Errorf("%w: %s has mode %q; give 100644 (file), 100755 (executable) or 120000 (symbolic link)", ErrBadEntry, e.Path, e.Mode)
		}
		if !blobIDPattern.MatchString(e.ID) {
			return fmt.Errorf("%w: %s has blob ID %q, not 40 lowercase hex digits as `git hash-object` prints", ErrBadEntry, e.Path, e.ID)
		}
		if seen[e.Path] {
			return fmt.Errorf("%w: %s is listed twice; list each file once", ErrBadEntry, e.Path)
		}
		seen[e.Path] = true
	}
	return nil
}

// checkPath refuses a path that is not clean, relative, slash-separated
// and inside the workspace.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: an entry has an empty path; give each file's path relative to the workspace root", ErrBadEntry)
	case p[0] == '/':
		return fmt.Errorf("%w: %s is an absolute path; give paths relative to the workspace root", ErrBadEntry, p)
	case !localPath(p):
		return fmt.Errorf("%w: %s is not a clean path inside the workspace (no \"..\", \".\", \"//\" or backslashes); give it relative to the workspace root", ErrBadEntry, p)
	}
	return nil
}

// stored is a Source over a tree whose blobs the database holds.
type stored struct{ t Tree }

func (s stored) Tree(context.Context) (Tree, error) { return s.t, nil }

func (s stored) Read(_ context.Context, ids []string, _ func(string, []byte) error) error {
	return storedMissing(ids)
}

// storedMissing: the blobs of a tree given to PutTree the database lacks.
type storedMissing []string

func (m storedMissing) Error() string { return fmt.Sprintf("%d blob(s) not in the database", len(m)) }

package snapstore

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrCorrupt is returned when a blob read back does not match its ID,
	// or a tree its entries: the stored snapshot cannot be trusted.
	ErrCorrupt = errors.New("stored snapshot fails its hash check")
	// ErrTooLarge is returned by Put for a snapshot over a size limit; the
	// message names the file or the total, the limit and how to raise it.
	ErrTooLarge = errors.New("snapshot too large")
	// ErrNotFound is returned for a tree or blob the database does not hold.
	ErrNotFound = errors.New("snapshot not in the database")
)

// Git modes of a tree entry.
const (
	ModeFile       = "100644"
	ModeExecutable = "100755"
	ModeSymlink    = "120000" // the blob holds the link's target
)

// Entry is one file of a snapshot.
type Entry struct {
	Path string `json:"path"` // slash-separated, relative to the workspace root
	Mode string `json:"mode"` // ModeFile, ModeExecutable or ModeSymlink
	ID   string `json:"id"`   // the content's git object ID (BlobID)
	Size int64  `json:"size"` // bytes of content
}

// Tree is a snapshot: its entries sorted by path.
type Tree struct {
	Entries []Entry
}

// ID identifies the tree by its content: the SHA-256 of its canonical
// encoding. Equal trees have equal IDs.
func (t Tree) ID() string {
	sum := sha256.Sum256(t.encode())
	return hex.EncodeToString(sum[:])
}

// Size is the bytes of content the tree holds.
func (t Tree) Size() int64 {
	var n int64
	for _, e := range t.Entries {
		n += e.Size
	}
	return n
}

func (t Tree) encode() []byte {
	b, _ := json.Marshal(t.Entries) // plain strings and numbers: cannot fail
	return b
}

// BlobID is the git object ID of content: the SHA-1 of "blob <size>\x00"
// followed by the content, as `git hash-object` prints it.
func BlobID(content []byte) string {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(content)) + "\x00"))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// Limits bound what Put accepts.
type Limits struct {
	// MaxFile is the largest single file, in bytes. Zero means 16 MiB.
	MaxFile int64
	// MaxTotal is the largest snapshot, all files together, in bytes.
	// Zero means 256 MiB.
	MaxTotal int64
}

// The default limits.
const (
	DefaultMaxFile  = 16 << 20
	DefaultMaxTotal = 256 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxFile <= 0 {
		l.MaxFile = DefaultMaxFile
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	return l
}

func (l Limits) fileErr(e Entry) error {
	return fmt.Errorf("%w: %s is %s, over the limit of %s for one file; leave it out with .gitignore, or raise HANDOFF_SNAPSHOT_MAX_FILE",
		ErrTooLarge, e.Path, mib(e.Size), mib(l.MaxFile))
}

func (l Limits) totalErr(n int64) error {
	return fmt.Errorf("%w: the workspace's files come to %s, over the limit of %s for a snapshot; leave large files out with .gitignore, or raise HANDOFF_SNAPSHOT_MAX_TOTAL",
		ErrTooLarge, mib(n), mib(l.MaxTotal))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Source is a snapshot to store: its tree, and the contents of the blobs
// the database lacks.
type Source interface {
	// Tree lists the snapshot's files.
	Tree(ctx context.Context) (Tree, error)
	// Read calls fn with the content of each blob in ids, in any order.
	Read(ctx context.Context, ids []string, fn func(id string, content []byte) error) error
}

// Store keeps snapshots in a database migrated by handoff (its
// handoff_blob and handoff_tree tables).
type Store struct {
	DB *sql.DB
	// Postgres selects PostgreSQL's locking where the dialects differ;
	// false means SQLite.
	Postgres bool
	Limits   Limits
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// PutStats says what a Put stored.
type PutStats struct {
	Files    int   // files in the tree
	NewBlobs int   // blobs the database did not hold
	NewBytes int64 // their uncompressed bytes
	Reused   bool  // the source's tree was stored already: nothing was listed or read
}

// Sourced is a Source that names what it reads (a git tree's ID): a tree
// stored from the same source before is the same tree, found without
// listing the source again.
type Sourced interface {
	Source
	SourceID() string
}

// Put stores the snapshot src and returns its tree's ID. Blobs the
// database holds already are not read from src again. Every content read
// is checked against its ID; a mismatch is ErrCorrupt and stores nothing.
// A snapshot over the limits is ErrTooLarge and stores nothing.
func (s *Store) Put(ctx context.Context, src Source) (string, PutStats, error) {
	var st PutStats
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return "", st, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	// Prune excludes this transaction: on SQLite every transaction holds
	// the write lock from its start (_txlock=immediate); on PostgreSQL this
	// lock conflicts with Prune's. So a blob found present here stays until
	// the tree that needs it is stored.
	if s.Postgres {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE handoff_tree, handoff_blob IN ROW EXCLUSIVE MODE`); err != nil {
			return "", st, err
		}
	}
	now := time.Now().UnixMilli()
	source := ""
	if sd, ok := src.(Sourced); ok {
		source = sd.SourceID()
		var id string
		var files int
		err := tx.QueryRowContext(ctx, `SELECT id, files FROM handoff_tree WHERE source = $1 LIMIT 1`, source).Scan(&id, &files)
		switch {
		case err == nil:
			// Stamped anew: Prune spares a tree stored lately, which a task
			// being submitted may not name yet.
			if _, err := tx.ExecContext(ctx, `UPDATE handoff_tree SET created_at = $1 WHERE id = $2`, now, id); err != nil {
				return "", st, err
			}
			st.Files, st.Reused = files, true
			return id, st, tx.Commit()
		case !errors.Is(err, sql.ErrNoRows):
			return "", st, err
		}
	}
	t, err := src.Tree(ctx)
	if err != nil {
		return "", st, err
	}
	slices.SortFunc(t.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	st.Files = len(t.Entries)
	limits := s.Limits.withDefaults()
	byID := map[string][]int{} // blob ID → its entries
	for i, e := range t.Entries {
		byID[e.ID] = append(byID[e.ID], i)
	}
	sizes, err := s.blobSizes(ctx, tx, mapKeys(byID))
	if err != nil {
		return "", st, err
	}
	var missing []string
	for _, bid := range mapKeys(byID) {
		if n, ok := sizes[bid]; ok {
			setSize(t, byID[bid], n)
		} else {
			missing = append(missing, bid)
		}
	}
	// Sizes a source knows before reading are checked before reading.
	for _, e := range t.Entries {
		if e.Size > limits.MaxFile {
			return "", st, limits.fileErr(e)
		}
	}
	if len(missing) > 0 {
		err = src.Read(ctx, missing, func(bid string, content []byte) error {
			idx, ok := byID[bid]
			if !ok {
				return fmt.Errorf("snapshot source returned blob %s, which its tree does not name", bid)
			}
			e := t.Entries[idx[0]]
			if got := BlobID(content); got != bid {
				return fmt.Errorf("%w: %s read back as blob %s, not %s", ErrCorrupt, e.Path, got, bid)
			}
			if _, done := sizes[bid]; done {
				return nil
			}
			e.Size = int64(len(content))
			if e.Size > limits.MaxFile {
				return limits.fileErr(e)
			}
			z, err := deflate(content)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO handoff_blob (id, size, data, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, bid, len(content), z, now); err != nil {
				return fmt.Errorf("storing %s: %w", e.Path, err)
			}
			sizes[bid] = e.Size
			setSize(t, idx, e.Size)
			st.NewBlobs++
			st.NewBytes += e.Size
			return nil
		})
		if err != nil {
			return "", st, err
		}
		for _, bid := range missing {
			if _, ok := sizes[bid]; !ok {
				return "", st, fmt.Errorf("snapshot source did not return the content of %s (blob %s)", t.Entries[byID[bid][0]].Path, bid)
			}
		}
	}
	if n := t.Size(); n > limits.MaxTotal {
		return "", st, limits.totalErr(n)
	}
	id := t.ID()
	entries, err := deflate(t.encode())
	if err != nil {
		return "", st, err
	}
	var src2 any
	if source != "" {
		src2 = source
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO handoff_tree (id, files, size, entries, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, source = COALESCE(handoff_tree.source, excluded.source)`,
		id, len(t.Entries), t.Size(), entries, src2, now); err != nil {
		return "", st, fmt.Errorf("storing the snapshot's tree: %w", err)
	}
	return id, st, tx.Commit()
}

func setSize(t Tree, idx []int, n int64) {
	for _, i := range idx {
		t.Entries[i].Size = n
	}
}

// blobSizes returns the sizes of those of ids the database holds, in one
// statement whose one parameter is the IDs as a JSON array: a thousand
// placeholders cost SQLite more to prepare than the lookup itself.
func (s *Store) blobSizes(ctx context.Context, q querier, ids []string) (map[string]int64, error) {
	sizes := map[string]int64{}
	if len(ids) == 0 {
		return sizes, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	each := `SELECT value FROM json_each($1)`
	if s.Postgres {
		each = `SELECT json_array_elements_text(CAST($1 AS json))`
	}
	rows, err := q.QueryContext(ctx, `SELECT id, size FROM handoff_blob WHERE id IN (`+each+`)`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		sizes[id] = n
	}
	return sizes, rows.Err()
}

// Tree reads a stored tree.
func (s *Store) Tree(ctx context.Context, id string) (Tree, error) {
	return readTree(ctx, s.DB, id)
}

func readTree(ctx context.Context, q querier, id string) (Tree, error) {
	var z []byte
	err := q.QueryRowContext(ctx, `SELECT entries FROM handoff_tree WHERE id = $1`, id).Scan(&z)
	if errors.Is(err, sql.ErrNoRows) {
		return Tree{}, fmt.Errorf("%w: tree %s", ErrNotFound, id)
	}
	if err != nil {
		return Tree{}, err
	}
	raw, err := inflate(z)
	if err != nil {
		return Tree{}, fmt.Errorf("%w: tree %s: %v", ErrCorrupt, id, err)
	}
	var t Tree
	if err := json.Unmarshal(raw, &t.Entries); err != nil {
		return Tree{}, fmt.Errorf("%w: tree %s: %v", ErrCorrupt, id, err)
	}
	if t.ID() != id {
		return Tree{}, fmt.Errorf("%w: tree %s reads back as %s", ErrCorrupt, id, t.ID())
	}
	return t, nil
}

// Blobs calls fn with the content of each blob in ids, each checked
// against its ID.
func (s *Store) Blobs(ctx context.Context, ids []string, fn func(id string, content []byte) error) error {
	seen := map[string]bool{}
	for chunk := range slices.Chunk(ids, chunkSize) {
		rows, err := s.DB.QueryContext(ctx, `SELECT id, data FROM handoff_blob WHERE id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var z []byte
			if err := rows.Scan(&id, &z); err != nil {
				rows.Close()
				return err
			}
			content, err := inflate(z)
			if err == nil && BlobID(content) != id {
				err = errors.New("content does not match")
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("%w: blob %s: %v", ErrCorrupt, id, err)
			}
			seen[id] = true
			if err := fn(id, content); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if !seen[id] {
			return fmt.Errorf("%w: blob %s", ErrNotFound, id)
		}
	}
	return nil
}

// chunkSize bounds the parameters of one query, well under SQLite's and
// PostgreSQL's limits.
const chunkSize = 500

func placeholders(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	return b.String()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Pack encodes v as JSON, compressed as the store compresses blobs: for
// other data kept beside the snapshots (a task's waiting kept tests).
func Pack(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return deflate(raw)
}

// Unpack decodes what Pack encoded into v.
func Unpack(z []byte, v any) error {
	raw, err := inflate(z)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(z []byte) ([]byte, error) {
	return io.ReadAll(flate.NewReader(bytes.NewReader(z)))
}

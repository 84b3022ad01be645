package snapstore

import (
	"context"
	"slices"
	"time"
)

// PruneStats says what Prune removed.
type PruneStats struct {
	Trees int
	Blobs int
	Bytes int64 // uncompressed bytes of the removed blobs
}

// Prune removes the trees not in keep that were last stored before
// before (a tree stored since may belong to a task being submitted), then
// the blobs stored before before that no remaining tree names (a blob
// stored since may be one of a tree being uploaded blob by blob). It runs in one transaction, which a
// concurrent Put waits for, so a blob that a Put has found present stays
// until that Put's tree names it.
func (s *Store) Prune(ctx context.Context, keep []string, before time.Time) (PruneStats, error) {
	var st PruneStats
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return st, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	// On SQLite every transaction takes the write lock at its start
	// (_txlock=immediate), a Put's too; on PostgreSQL this lock conflicts
	// with a Put's inserts.
	if s.Postgres {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE handoff_tree, handoff_blob IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return st, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, created_at FROM handoff_tree`)
	if err != nil {
		return st, err
	}
	kept := map[string]bool{}
	for _, id := range keep {
		kept[id] = true
	}
	var drop []string
	var live []string
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return st, err
		}
		if kept[id] || at >= before.UnixMilli() {
			live = append(live, id)
		} else {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	for chunk := range slices.Chunk(drop, chunkSize) {
		r, err := tx.ExecContext(ctx, `DELETE FROM handoff_tree WHERE id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return st, err
		}
		n, _ := r.RowsAffected()
		st.Trees += int(n)
	}
	needed := map[string]bool{}
	for _, id := range live {
		t, err := readTree(ctx, tx, id)
		if err != nil {
			return st, err
		}
		for _, e := range t.Entries {
			needed[e.ID] = true
		}
	}
	brows, err := tx.QueryContext(ctx, `SELECT id, size FROM handoff_blob WHERE created_at < $1`, before.UnixMilli())
	if err != nil {
		return st, err
	}
	var gone []string
	for brows.Next() {
		var id string
		var size int64
		if err := brows.Scan(&id, &size); err != nil {
			brows.Close()
			return st, err
		}
		if !needed[id] {
			gone = append(gone, id)
			st.Bytes += size
		}
	}
	brows.Close()
	if err := brows.Err(); err != nil {
		return st, err
	}
	for chunk := range slices.Chunk(gone, chunkSize) {
		r, err := tx.ExecContext(ctx, `DELETE FROM handoff_blob WHERE id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return st, err
		}
		n, _ := r.RowsAffected()
		st.Blobs += int(n)
	}
	return st, tx.Commit()
}

package store

import (
	"context"
	"strings"
)

// IDsMatching returns up to limit task IDs that start or end with part, so
// a user can name a task by a unique piece of its ID, as git does commits.
// Task IDs are UUIDv7: the start is the submit time (tasks submitted
// together share it), the end is random, so the end is the short form.
func (s *Store) IDsMatching(ctx context.Context, part string, limit int) ([]string, error) {
	p := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(part))
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM handoff_task WHERE id LIKE $1 ESCAPE '\' OR id LIKE $2 ESCAPE '\'
		ORDER BY id LIMIT $3`, p+"%", "%"+p, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

package workspace

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// Value stores the snapshot in its task's record, as JSON: the task keeps
// its snapshot from Submit, which takes it, to the final state, when the
// engine releases it.
func (s Snapshot) Value() (driver.Value, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// Scan reads a snapshot that Value stored. An empty value, or one that is
// not a stored snapshot (a damaged record), reads as none (ID ""), so that
// the task can still be listed; whoever needs the snapshot says it is
// missing.
func (s *Snapshot) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("a stored snapshot is text, not %T; the task record is damaged", src)
	}
	*s = Snapshot{}
	if len(b) == 0 {
		return nil
	}
	if json.Unmarshal(b, s) != nil {
		*s = Snapshot{}
	}
	return nil
}

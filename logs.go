package handoff

import (
	"context"

	"github.com/handoff-dev/handoff/internal/workspace"
)

// LogPath returns the path of a task's agent log: what the agent and
// verification said, across its attempts. The file may not exist yet while
// the task is queued.
func (c *Client) LogPath(ctx context.Context, id string) (string, error) {
	rec, err := c.get(ctx, id)
	if err != nil {
		return "", err
	}
	if rec.Result != nil && rec.Result.LogPath != "" {
		return rec.Result.LogPath, nil
	}
	return workspace.TaskLog(rec.Request.Workspace, rec.ID)
}

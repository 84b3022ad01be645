package handoff

import (
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// Config configures a Client. Its zero value works: the database is
// <workspace root>/.handoff/handoff.db, the workspace is the working
// directory's git root, and the agents are those FromEnv finds.
type Config struct {
	// DatabaseURL selects the database: a SQLite file path ("sqlite://path"
	// also works) or a postgres:// URL. Empty means HANDOFF_DATABASE_URL,
	// else <workspace root>/.handoff/handoff.db.
	DatabaseURL string
	// Workspace is the default workspace for requests and for the default
	// database location. Empty means the working directory.
	Workspace string
	// Agents are the backends this client can submit to and work with.
	Agents []agent.Agent
	// DefaultAgent is used when a request names none. Empty means
	// HANDOFF_AGENT, else "builtin" for Go modules.
	DefaultAgent string
	// Workers is how many tasks this process works at once when it works.
	// Zero means HANDOFF_WORKERS, else 4.
	Workers int
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger

	// HeartbeatInterval, HeartbeatTimeout and RetryBase tune the engine;
	// zero means the defaults (2s, 30s, 10s). Tests shorten them.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	RetryBase         time.Duration
}

// FromEnv fills the fields left empty from HANDOFF_* variables.
func (c Config) FromEnv() Config {
	if c.DatabaseURL == "" {
		c.DatabaseURL = os.Getenv("HANDOFF_DATABASE_URL")
	}
	if c.DefaultAgent == "" {
		c.DefaultAgent = os.Getenv("HANDOFF_AGENT")
	}
	if c.Workers == 0 {
		c.Workers, _ = strconv.Atoi(os.Getenv("HANDOFF_WORKERS"))
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout, _ = time.ParseDuration(os.Getenv("HANDOFF_HEARTBEAT_TIMEOUT"))
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval, _ = time.ParseDuration(os.Getenv("HANDOFF_HEARTBEAT_INTERVAL"))
	}
	if c.RetryBase == 0 {
		c.RetryBase, _ = time.ParseDuration(os.Getenv("HANDOFF_RETRY_BASE"))
	}
	return c
}

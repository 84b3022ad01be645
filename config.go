package handoff

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/engine"
)

// Config configures a Client. Its zero value works: the workspace is the
// working directory's git root, the database is
// <workspace root>/.handoff/handoff.db, and the agents are every backend
// handoff ships. The zero value reads no HANDOFF_* variable of its own;
// FromEnv fills the fields left empty from them, as the command line does.
type Config struct {
	// DatabaseURL selects the database: a SQLite file path ("sqlite://path"
	// also works) or a postgres:// URL. Empty means
	// <workspace root>/.handoff/handoff.db. FromEnv: HANDOFF_DATABASE_URL.
	DatabaseURL string
	// Workspace is the default workspace for requests and for the default
	// database location. Empty means the working directory.
	Workspace string
	// Agents are the backends this client can submit to and work with. Nil
	// means DefaultAgents(): every backend handoff ships, each configured
	// from its own environment variables (HANDOFF_EXEC_COMMAND,
	// OPENHANDS_URL, LLM_BASE_URL, ...). An empty, non-nil slice means none.
	Agents []agent.Agent
	// DefaultAgent is used when a request names none. Empty means
	// "builtin" for Go modules and none for Python. FromEnv: HANDOFF_AGENT.
	DefaultAgent string
	// Workers is how many tasks this process works at once when it works.
	// Zero means DefaultWorkers (4). FromEnv: HANDOFF_WORKERS.
	Workers int
	// SnapshotMaxFile and SnapshotMaxTotal bound what Submit stores of a
	// workspace in the database, in bytes: one file, and all files
	// together. Zero means 16 MiB and 256 MiB. FromEnv:
	// HANDOFF_SNAPSHOT_MAX_FILE and HANDOFF_SNAPSHOT_MAX_TOTAL, in MiB.
	SnapshotMaxFile, SnapshotMaxTotal int64
	// AgentLimits caps, per agent name, the tasks a worker runs at once
	// with that agent, below Workers; a task over the cap waits in the
	// queue. Absent names take DefaultAgentLimits (openhands: 3); zero or
	// Workers and above mean no cap. FromEnv: HANDOFF_AGENT_LIMITS, as
	// name=N pairs separated by commas ("openhands=2,llm=4").
	AgentLimits map[string]int
	// WorkDir holds the task directories and logs of tasks this process
	// works whose workspace is on another machine. Empty means
	// <user cache dir>/handoff. FromEnv: HANDOFF_WORK_DIR.
	WorkDir string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// ForeignSecrets says what this process does, when it works, with a
	// task whose submitter held other values of the agent's secrets than
	// this process. The zero value runs it with this process's own.
	ForeignSecrets ForeignSecrets

	// HeartbeatTimeout is the one liveness timeout: a running task whose
	// worker stayed silent this long is rescued by any live worker, and a
	// worker process counts as alive while it beat within a third of it.
	// Zero means DefaultHeartbeatTimeout (30s). FromEnv:
	// HANDOFF_HEARTBEAT_TIMEOUT.
	HeartbeatTimeout time.Duration
	// HeartbeatInterval is how often a worker beats. Zero means a third of
	// the heartbeat timeout, at most 2s. FromEnv: HANDOFF_HEARTBEAT_INTERVAL.
	HeartbeatInterval time.Duration
	// RetryBase is the first retry delay after a transient failure, doubled
	// each attempt. Zero means DefaultRetryBase (10s). FromEnv:
	// HANDOFF_RETRY_BASE.
	RetryBase time.Duration
}

// The defaults of a worker, for Config fields left zero (their home is the
// engine, which fills them).
const (
	DefaultWorkers          = engine.DefaultWorkers
	DefaultHeartbeatTimeout = engine.DefaultHeartbeatTimeout
	DefaultRetryBase        = engine.DefaultRetryBase
)

// DefaultShutdownGrace is how long running tasks may finish when a worker
// stops (Close without a deadline, `handoff worker --grace`) before they go
// back to the queue.
const DefaultShutdownGrace = 30 * time.Second

// FromEnv fills the fields left empty from HANDOFF_* variables. A variable
// that is set but unusable is an error naming it and what it takes; an unset
// or empty one leaves its field to the default.
func (c Config) FromEnv() (Config, error) {
	if c.DatabaseURL == "" {
		c.DatabaseURL = os.Getenv("HANDOFF_DATABASE_URL")
	}
	if c.DefaultAgent == "" {
		c.DefaultAgent = os.Getenv("HANDOFF_AGENT")
	}
	var bad []string
	if c.Workers == 0 {
		if v := os.Getenv("HANDOFF_WORKERS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				bad = append(bad, fmt.Sprintf("HANDOFF_WORKERS=%q is not a whole number of at least 1; set it like HANDOFF_WORKERS=4, or unset it for the default", v))
			}
			c.Workers = n
		}
	}
	if c.WorkDir == "" {
		c.WorkDir = os.Getenv("HANDOFF_WORK_DIR")
	}
	if v := os.Getenv("HANDOFF_AGENT_LIMITS"); c.AgentLimits == nil && v != "" {
		limits, err := ParseAgentLimits(v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("HANDOFF_AGENT_LIMITS=%q: %v", v, err))
		}
		c.AgentLimits = limits
	}
	for _, m := range []struct {
		name string
		dst  *int64
	}{{"HANDOFF_SNAPSHOT_MAX_FILE", &c.SnapshotMaxFile}, {"HANDOFF_SNAPSHOT_MAX_TOTAL", &c.SnapshotMaxTotal}} {
		v := os.Getenv(m.name)
		if *m.dst != 0 || v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, fmt.Sprintf("%s=%q is not a whole number of MiB of at least 1; set it like %s=64, or unset it for the default", m.name, v, m.name))
			continue
		}
		*m.dst = n << 20
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"HANDOFF_HEARTBEAT_TIMEOUT", &c.HeartbeatTimeout},
		{"HANDOFF_HEARTBEAT_INTERVAL", &c.HeartbeatInterval},
		{"HANDOFF_RETRY_BASE", &c.RetryBase},
	} {
		v := os.Getenv(d.name)
		if *d.dst != 0 || v == "" {
			continue
		}
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			bad = append(bad, fmt.Sprintf("%s=%q is not a positive duration; set it like %s=30s, or unset it for the default", d.name, v, d.name))
		}
		*d.dst = t
	}
	if len(bad) > 0 {
		return c, errors.New(strings.Join(bad, "; "))
	}
	return c, nil
}

// ForeignSecrets says what a worker does with a task submitted with other
// values of the agent's secrets (API keys, the variables in
// HANDOFF_EXEC_ENV) than the worker holds. Secrets never travel with a task;
// their salted fingerprints do, so a worker can tell.
type ForeignSecrets string

// The policies for foreign secrets.
const (
	// ForeignSecretsUseOwn runs the task with the worker's own secrets; the
	// result's agent.secrets says "worker". What `handoff worker` does.
	ForeignSecretsUseOwn ForeignSecrets = ""
	// ForeignSecretsGiveBack returns the task to the queue, without using
	// up an attempt, for a worker that holds the submitter's secrets. What a
	// worker the command line starts in the background does.
	ForeignSecretsGiveBack ForeignSecrets = "give-back"
)

// ParseAgentLimits reads agent limits written as name=N pairs separated by
// commas ("openhands=2,llm=4"), as HANDOFF_AGENT_LIMITS and
// `handoff worker --agent-limit` take them.
func ParseAgentLimits(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, n, ok := strings.Cut(pair, "=")
		v, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || strings.TrimSpace(name) == "" || err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not name=N with N a whole number of at least 0; write it like openhands=3", pair)
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, nil
}

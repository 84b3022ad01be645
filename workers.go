package handoff

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/verify"
)

// DefaultAgentLimits caps, per worker, the tasks of an agent running at
// once when Config.AgentLimits says nothing of it: an OpenHands
// conversation holds a remote sandbox for minutes, and a burst of submits
// should queue rather than open dozens at once. Other agents are bounded
// by the worker's slots alone.
var DefaultAgentLimits = map[string]int{"openhands": 3}

// Capabilities is what a worker can serve, as it records it at start.
type Capabilities struct {
	verify.Capabilities
	// Agents lists the agents the worker runs, each with the languages it
	// serves here (the agent's languages this machine can verify).
	Agents map[string][]string `json:"agents"`
	// Unconfigured says, per agent, what its own configuration lacks here
	// (it still runs tasks with the settings they were submitted with).
	Unconfigured map[string]string `json:"unconfigured,omitempty"`
	// Slots is how many tasks it runs at once; AgentLimits caps some agents
	// below that.
	Slots       int            `json:"slots"`
	AgentLimits map[string]int `json:"agent_limits,omitempty"`
}

// Serves reports whether the worker can run a task of agent for a module
// in language.
func (c Capabilities) Serves(language, agentName string) bool {
	return slices.Contains(c.Agents[agentName], language)
}

// Worker is a live worker process, as Workers lists it.
type Worker struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	// Running is how many tasks it ran at its last heartbeat, of
	// Capabilities.Slots.
	Running      int          `json:"running"`
	Capabilities Capabilities `json:"capabilities"`
}

// Workers lists the live workers of the database, oldest first.
func (c *Client) Workers(ctx context.Context) ([]Worker, error) {
	rows, err := c.store.Workers(ctx, time.Now().Add(-c.eng.Liveness().WorkerAliveWithin()))
	if err != nil {
		return nil, err
	}
	out := make([]Worker, len(rows))
	for i, w := range rows {
		out[i] = workerOf(w)
	}
	return out, nil
}

func workerOf(w store.Worker) Worker {
	out := Worker{ID: w.ID, Host: w.Host, PID: w.PID, StartedAt: w.StartedAt, HeartbeatAt: w.HeartbeatAt, Running: w.Running}
	_ = json.Unmarshal([]byte(w.Capabilities), &out.Capabilities) // a worker of an older handoff recorded none: it serves nothing listed
	return out
}

// serving probes what this process can serve and names its queues: one per
// language and agent, so that a worker only fetches tasks it can run.
func (c *Client) serving(ctx context.Context) (engine.Serving, Capabilities) {
	caps := Capabilities{Capabilities: verify.Probe(ctx, ""), Agents: map[string][]string{}, Slots: c.workers()}
	limits := c.agentLimits()
	queues := map[string]int{}
	for name, a := range c.agents {
		var langs []string
		for _, l := range a.Languages() {
			if slices.Contains(caps.Languages, l) {
				langs = append(langs, l)
				queues[engine.QueueFor(l, name)] = cmpLimit(limits[name], caps.Slots)
			}
		}
		caps.Agents[name] = langs
		if ch, ok := a.(agent.Checker); ok {
			if err := ch.Check(); err != nil {
				if caps.Unconfigured == nil {
					caps.Unconfigured = map[string]string{}
				}
				caps.Unconfigured[name] = err.Error()
			}
		}
		if l := limits[name]; l > 0 && l < caps.Slots {
			if caps.AgentLimits == nil {
				caps.AgentLimits = map[string]int{}
			}
			caps.AgentLimits[name] = l
		}
	}
	return engine.Serving{Queues: queues, Capabilities: caps}, caps
}

func cmpLimit(limit, slots int) int {
	if limit > 0 && limit < slots {
		return limit
	}
	return slots
}

// workers is the process's slots.
func (c *Client) workers() int {
	if c.cfg.Workers > 0 {
		return c.cfg.Workers
	}
	return DefaultWorkers
}

// agentLimits is Config.AgentLimits over DefaultAgentLimits.
func (c *Client) agentLimits() map[string]int {
	out := map[string]int{}
	for k, v := range DefaultAgentLimits {
		out[k] = v
	}
	for k, v := range c.cfg.AgentLimits {
		out[k] = v
	}
	return out
}

// waiting says why a queued task is not running when no live worker can
// run it, in words for its status; "" when one can (or the workers cannot
// be read).
func waiting(rec *store.Record, workers []Worker) string {
	if len(workers) == 0 {
		return ""
	}
	for _, w := range workers {
		if w.Capabilities.Serves(rec.Language, rec.Request.Agent) {
			return ""
		}
	}
	var seen []string
	for _, w := range workers {
		var serves []string
		for name, langs := range w.Capabilities.Agents {
			if len(langs) > 0 {
				serves = append(serves, name+" ("+strings.Join(langs, ", ")+")")
			}
		}
		slices.Sort(serves)
		what := strings.Join(serves, "; ")
		if what == "" {
			what = "nothing"
		}
		if w.Capabilities.PythonProblem != "" && rec.Language == verify.LanguagePython {
			what += "; " + w.Capabilities.PythonProblem
		}
		seen = append(seen, fmt.Sprintf("%s pid %d serves %s", w.Host, w.PID, what))
	}
	return fmt.Sprintf("no live worker can run it: it needs agent %s for %s; %s. Start a worker where %s and the agent are installed",
		rec.Request.Agent, rec.Language, strings.Join(seen, ", "), toolFor(rec.Language))
}

func toolFor(language string) string {
	if language == verify.LanguagePython {
		return "Python with pytest and coverage.py"
	}
	return "Go"
}

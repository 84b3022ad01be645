package openhands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/sony/gobreaker/v2"
)

// Agent runs test generation on an OpenHands agent server or on OpenHands
// Cloud. It is safe for concurrent use; build one per process so that every
// task shares its circuit breaker.
type Agent struct {
	cfg     Config // with defaults
	orig    Config // as given: WithSettings keeps its secrets and tuning
	err     error  // the configuration problem Check reports
	cl      *client
	be      backend
	derived *derivedAgents
}

// derivedAgents are the agents WithSettings built, by their settings.
type derivedAgents struct {
	mu sync.Mutex
	m  map[string]*Agent
}

// New returns an Agent for cfg. A configuration problem (no URL, no Cloud
// repository, an unparsable variable) is reported by Check and by Run.
func New(cfg Config) *Agent {
	a := &Agent{orig: cfg, derived: &derivedAgents{m: map[string]*Agent{}}}
	a.err = a.configure(cfg)
	return a
}

// Check reports whether the agent is configured, naming the variable to set
// when it is not, and whether its server is reachable as far as the circuit
// breaker knows: while the circuit is open, submissions fail at once. It
// implements agent.Checker.
func (a *Agent) Check() error {
	if a.err != nil {
		return a.err
	}
	if a.cl.breaker.State() == gobreaker.StateOpen {
		return fmt.Errorf("%w: %s failed %d requests in a row; handoff does not contact it for %s "+
			"(check that the server is up)", ErrCircuitOpen, a.cl.base, a.cfg.BreakerFailures, a.cfg.BreakerCooldown)
	}
	return nil
}

func (a *Agent) configure(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("openhands: %w", err)
	}
	cfg = cfg.withDefaults()
	a.cfg = cfg
	if cfg.URL == "" {
		return errors.New("openhands: no server: set OPENHANDS_URL (e.g. http://localhost:8000 for an agent server, " +
			"https://app.all-hands.dev with OPENHANDS_TARGET=cloud for OpenHands Cloud)")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("openhands: OPENHANDS_URL=%q is not an http(s) URL", cfg.URL)
	}
	if cfg.Target == TargetCloud && cfg.Repository == "" {
		return errors.New("openhands: OpenHands Cloud works on a repository: set OPENHANDS_REPOSITORY=owner/name " +
			"(and OPENHANDS_BRANCH) to the repository and branch holding the module")
	}
	base := strings.TrimRight(cfg.URL, "/")
	failures := uint32(cfg.BreakerFailures)
	a.cl = &client{base: base, cfg: cfg, secrets: []string{cfg.APIKey, cfg.LLMAPIKey},
		breaker: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        base,
			Timeout:     cfg.BreakerCooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
			IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				cfg.Logger.Warn("openhands: circuit breaker", "server", name, "from", from.String(), "to", to.String())
			},
		})}
	if cfg.Target == TargetCloud {
		a.be = &cloud{cl: a.cl, cfg: cfg, sandboxes: map[string]string{}}
	} else {
		a.be = &agentServer{cl: a.cl, cfg: cfg}
	}
	return nil
}

// Name is "openhands".
func (a *Agent) Name() string { return "openhands" }

// Languages are the languages handoff verifies; the agent itself is
// language-agnostic.
func (a *Agent) Languages() []string { return []string{"go", "python"} }

package builtin

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// Defaults of Config.
const (
	DefaultSeed        = 1
	DefaultBudget      = 60 * time.Second
	DefaultCallTimeout = time.Second
	DefaultRounds      = 40
	DefaultMaxCases    = 12
)

// Config tunes the generator. Its zero value works.
type Config struct {
	// Seed drives every random choice; the same source and seed give the
	// same test file, byte for byte. Zero means DefaultSeed.
	Seed int64
	// Budget bounds the time spent on one module, generation and the check
	// of the written file together. Zero means DefaultBudget. When the
	// budget ends exploration early, the file is still written, from what
	// was found so far, and is then no longer guaranteed to be identical
	// from run to run.
	Budget time.Duration
	// CallTimeout bounds one call of a function under test in the probe.
	// Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Rounds is the number of feedback-directed exploration rounds after the
	// first batch of calls. Zero means DefaultRounds.
	Rounds int
	// MaxCases caps the cases kept per function. Zero means DefaultMaxCases.
	MaxCases int
}

// FromEnv returns a Config read from HANDOFF_BUILTIN_BUDGET (a Go duration
// such as "90s", or a number of seconds) and HANDOFF_BUILTIN_SEED.
func FromEnv() (Config, error) {
	return fromLookup(os.Getenv)
}

func fromLookup(getenv func(string) string) (Config, error) {
	var c Config
	if s := getenv("HANDOFF_BUILTIN_BUDGET"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return c, fmt.Errorf("HANDOFF_BUILTIN_BUDGET=%q: %w; use a duration such as 90s or a number of seconds", s, err)
		}
		c.Budget = d
	}
	if s := getenv("HANDOFF_BUILTIN_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return c, fmt.Errorf("HANDOFF_BUILTIN_SEED=%q is not an integer: %w", s, err)
		}
		c.Seed = n
	}
	return c, nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("must be positive")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.MaxCases <= 0 {
		c.MaxCases = DefaultMaxCases
	}
	return c
}

// settings are the limits that travel with a task, defaults filled in.
type settings struct {
	Seed          int64 `json:"seed"`
	BudgetMS      int64 `json:"budget_ms"`
	CallTimeoutMS int64 `json:"call_timeout_ms"`
	Rounds        int   `json:"rounds"`
	MaxCases      int   `json:"max_cases"`
}

func (c Config) settings() settings {
	return settings{Seed: c.Seed, BudgetMS: c.Budget.Milliseconds(), CallTimeoutMS: c.CallTimeout.Milliseconds(),
		Rounds: c.Rounds, MaxCases: c.MaxCases}
}

// Settings implements agent.Configurable: the seed and the limits, so a
// task explores as its submitter's HANDOFF_BUILTIN_* asked.
func (a *Agent) Settings() (json.RawMessage, error) { return json.Marshal(a.cfg.settings()) }

// WithSettings implements agent.Configurable.
func (a *Agent) WithSettings(raw json.RawMessage) (agent.Agent, error) {
	var s settings
	if err := agent.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if s == a.cfg.settings() {
		return a, nil // keeps the build cache it found
	}
	return New(Config{Seed: s.Seed, Budget: time.Duration(s.BudgetMS) * time.Millisecond,
		CallTimeout: time.Duration(s.CallTimeoutMS) * time.Millisecond, Rounds: s.Rounds, MaxCases: s.MaxCases}), nil
}

// Secrets implements agent.Configurable: the builtin agent uses none.
func (a *Agent) Secrets() map[string]string { return nil }

package exec

import (
	"encoding/json"
	"os"

	"github.com/handoff-dev/handoff/agent"
)

// settings are what travels with a task: the command line and the names of
// the variables it gets, never their values.
type settings struct {
	Command   string   `json:"command"`
	Env       []string `json:"env,omitempty"`
	Languages []string `json:"languages,omitempty"`
}

// Settings implements agent.Configurable: the command line, the names in
// HANDOFF_EXEC_ENV and the languages.
func (a *Agent) Settings() (json.RawMessage, error) {
	return json.Marshal(settings{Command: a.cfg.Command, Env: a.cfg.PassEnv, Languages: a.cfg.Languages})
}

// WithSettings implements agent.Configurable. The variables the settings
// name are read from this process's environment when the command runs.
func (a *Agent) WithSettings(raw json.RawMessage) (agent.Agent, error) {
	var s settings
	if err := agent.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	return New(Config{Command: s.Command, PassEnv: s.Env, Languages: s.Languages}), nil
}

// Secrets implements agent.Configurable: every variable named in
// HANDOFF_EXEC_ENV counts as a secret, since handoff cannot tell an API key
// from a setting.
func (a *Agent) Secrets() map[string]string {
	out := make(map[string]string, len(a.cfg.PassEnv))
	for _, name := range a.cfg.PassEnv {
		out[name] = os.Getenv(name)
	}
	return out
}

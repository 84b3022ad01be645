package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
)

// A background worker's card: a file in .handoff/workers that says which
// secrets the worker holds, as salted prints per agent, so that a later
// submit can tell whether the worker would run its task with the
// submitter's secrets. The submitting process writes it and holds an
// exclusive flock on it, which the worker inherits (file descriptor 3) and
// holds until it exits: a card whose lock can be taken belongs to a dead
// worker, whatever became of its PID.
type card struct {
	PID    int                                  `json:"pid"`
	Agents map[string]*handofftype.SecretPrints `json:"agents"`
}

// cardFD is the descriptor under which a background worker inherits its card.
const cardFD = 3

func cardsDir(stateDir string) string { return filepath.Join(stateDir, "workers") }

// secretsOf returns, per agent, the secrets it uses in this process.
func secretsOf(agents []agent.Agent) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, a := range agents {
		if c, ok := a.(agent.Configurable); ok {
			out[a.Name()] = c.Secrets()
		}
	}
	return out
}

// newCard creates a locked card for a worker about to start with agents
// configured as in this process. The caller passes the file to the worker
// and closes its own copy.
func newCard(stateDir string, agents []agent.Agent) (*os.File, error) {
	dir := cardsDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "worker-*.json")
	if err != nil {
		return nil, err
	}
	if err := lockCard(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// writeCard records the worker's PID and its secrets' prints in f.
func writeCard(f *os.File, pid int, agents []agent.Agent) error {
	c := card{PID: pid, Agents: map[string]*handofftype.SecretPrints{}}
	for name, secrets := range secretsOf(agents) {
		c.Agents[name] = handofftype.NewSecretPrints(secrets)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return err
}

// liveCards returns the cards of background workers still alive, and
// removes those of dead ones.
func liveCards(stateDir string) []card {
	paths, _ := filepath.Glob(filepath.Join(cardsDir(stateDir), "worker-*.json"))
	var out []card
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		err = lockCard(f)
		if err == nil {
			os.Remove(p) // nobody holds it: its worker is gone
			f.Close()
			continue
		}
		var c card
		if cardHeld(err) && json.NewDecoder(f).Decode(&c) == nil {
			out = append(out, c)
		}
		f.Close()
	}
	return out
}

// differ returns the secrets of an agent (name → value in this process)
// that the worker of c does not hold with the same value; none means it runs
// the agent's tasks with the submitter's secrets.
func (c card) differ(agentName string, secrets map[string]string) []string {
	if len(secrets) == 0 {
		return nil
	}
	prints := c.Agents[agentName]
	if prints == nil {
		prints = &handofftype.SecretPrints{}
	}
	// Only the names this agent needs count; one the card lacks differs.
	sub := &handofftype.SecretPrints{Salt: prints.Salt, Prints: map[string]string{}}
	for name := range secrets {
		if p, ok := prints.Prints[name]; ok {
			sub.Prints[name] = p
		}
	}
	return sub.Differ(secrets)
}

// holdCard makes a background worker own the card it inherited: the lock
// stays held while the worker lives, is not passed on to the agents it runs,
// and the card is removed when the worker exits.
func holdCard(path string) (release func(), err error) {
	// Descriptor 3 must be the card itself: otherwise it is none of ours,
	// and the path none of ours to remove.
	if !descriptorIs(cardFD, path) {
		return nil, usageErr("--autostart-card is for the background workers submit starts; run `handoff worker` without it")
	}
	closeOnExec(cardFD)
	f := os.NewFile(cardFD, path)
	return func() {
		os.Remove(path)
		f.Close()
	}, nil
}

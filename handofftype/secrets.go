package handofftype

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Whose secrets a task ran with (AgentInfo.Secrets).
const (
	SecretsSubmitter = "submitter"
	SecretsWorker    = "worker"
)

// SecretPrints fingerprints secrets without holding them, so a worker can
// tell whether its values are the submitter's. Each print is an
// HMAC-SHA256 of the value keyed with a random salt of the task's own: equal
// values in two tasks give different prints, and no table of common values
// applies. A value that is guessable from a short list (a password, not an
// API key) can still be confirmed by whoever reads the print and its salt.
type SecretPrints struct {
	// Salt keys the prints, hex-encoded; each task has its own.
	Salt string `json:"salt"`
	// Prints maps a secret's name to its print; "" when unset.
	Prints map[string]string `json:"prints"`
}

// NewSecretPrints fingerprints secrets (name → value) with a fresh salt.
func NewSecretPrints(secrets map[string]string) *SecretPrints {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	p := &SecretPrints{Salt: hex.EncodeToString(salt), Prints: make(map[string]string, len(secrets))}
	for name, v := range secrets {
		p.Prints[name] = p.print(v)
	}
	return p
}

func (p *SecretPrints) print(value string) string {
	if value == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(p.Salt))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// Differ returns, sorted, the names whose value in secrets is not the one
// fingerprinted, including a name only one side has.
func (p *SecretPrints) Differ(secrets map[string]string) []string {
	var out []string
	for name, want := range p.Prints {
		if v, ok := secrets[name]; !ok || !hmac.Equal([]byte(p.print(v)), []byte(want)) {
			out = append(out, name)
		}
	}
	for name := range secrets {
		if _, ok := p.Prints[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

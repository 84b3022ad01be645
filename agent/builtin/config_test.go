package builtin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "unset", env: nil, want: Config{}},
		{name: "duration", env: map[string]string{"HANDOFF_BUILTIN_BUDGET": "90s"}, want: Config{Budget: 90 * time.Second}},
		{name: "seconds", env: map[string]string{"HANDOFF_BUILTIN_BUDGET": "2.5"}, want: Config{Budget: 2500 * time.Millisecond}},
		{name: "seed", env: map[string]string{"HANDOFF_BUILTIN_SEED": "42"}, want: Config{Seed: 42}},
		{name: "bad budget", env: map[string]string{"HANDOFF_BUILTIN_BUDGET": "soon"}, wantErr: "use a duration such as 90s"},
		{name: "negative budget", env: map[string]string{"HANDOFF_BUILTIN_BUDGET": "-3s"}, wantErr: "must be positive"},
		{name: "bad seed", env: map[string]string{"HANDOFF_BUILTIN_SEED": "x"}, wantErr: "not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fromLookup(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.withDefaults()
	require.Equal(t, Config{Seed: DefaultSeed, Budget: DefaultBudget, CallTimeout: DefaultCallTimeout,
		Rounds: DefaultRounds, MaxCases: DefaultMaxCases}, c)
	kept := Config{Seed: 3, Budget: time.Second, CallTimeout: time.Millisecond, Rounds: 2, MaxCases: 1}
	require.Equal(t, kept, kept.withDefaults())
}

// TestSettingsTravel: a worker whose own HANDOFF_BUILTIN_* differ runs a
// task with the submitter's seed and limits.
func TestSettingsTravel(t *testing.T) {
	t.Parallel()
	submitter := New(Config{Seed: 7, Budget: 90 * time.Second, Rounds: 5})
	raw, err := submitter.Settings()
	require.NoError(t, err)
	worker := New(Config{})
	got, err := worker.WithSettings(raw)
	require.NoError(t, err)
	require.Equal(t, submitter.cfg, got.(*Agent).cfg)
	same, err := worker.WithSettings(mustSettings(t, worker))
	require.NoError(t, err)
	require.Same(t, worker, same, "the worker's own settings need no new agent")
}

func mustSettings(t *testing.T, a *Agent) []byte {
	raw, err := a.Settings()
	require.NoError(t, err)
	return raw
}

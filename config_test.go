package handoff_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
)

// FromEnv reads HANDOFF_* variables into the fields left empty, and a
// variable that is set but unusable is an error naming it. Not parallel: it
// sets the process environment.
func TestConfigFromEnv(t *testing.T) {
	for _, v := range []string{"HANDOFF_DATABASE_URL", "HANDOFF_AGENT", "HANDOFF_WORKERS", "HANDOFF_HEARTBEAT_TIMEOUT",
		"HANDOFF_HEARTBEAT_INTERVAL", "HANDOFF_RETRY_BASE"} {
		t.Setenv(v, "")
	}
	cfg, err := handoff.Config{}.FromEnv()
	require.NoError(t, err, "unset variables leave the defaults")
	require.Equal(t, handoff.Config{}, cfg)

	t.Setenv("HANDOFF_WORKERS", "6")
	t.Setenv("HANDOFF_HEARTBEAT_TIMEOUT", "45s")
	cfg, err = handoff.Config{}.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 6, cfg.Workers)
	require.Equal(t, 45*time.Second, cfg.HeartbeatTimeout)
	cfg, err = handoff.Config{Workers: 2}.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 2, cfg.Workers, "a field already set wins over the environment")

	for _, c := range []struct{ name, value, want string }{
		{"HANDOFF_WORKERS", "four", `HANDOFF_WORKERS="four"`},
		{"HANDOFF_WORKERS", "0", `HANDOFF_WORKERS="0"`},
		{"HANDOFF_WORKERS", "-2", `HANDOFF_WORKERS="-2"`},
		{"HANDOFF_HEARTBEAT_TIMEOUT", "30", `HANDOFF_HEARTBEAT_TIMEOUT="30" is not a positive duration`},
		{"HANDOFF_HEARTBEAT_INTERVAL", "-1s", `HANDOFF_HEARTBEAT_INTERVAL="-1s"`},
		{"HANDOFF_RETRY_BASE", "soon", `HANDOFF_RETRY_BASE="soon"`},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Setenv("HANDOFF_WORKERS", "")
			t.Setenv("HANDOFF_HEARTBEAT_TIMEOUT", "")
			t.Setenv(c.name, c.value)
			_, err := handoff.Config{}.FromEnv()
			require.ErrorContains(t, err, c.want)
		})
	}
}

// The zero Config works: with no agents given, a Go module gets the
// builtin agent, and a bad request is a FieldError naming the field.
func TestZeroConfigWorks(t *testing.T) {
	t.Parallel()
	cfg := handoff.Config{Workspace: goWorkspace(t)}
	require.NoError(t, handoff.Check(cfg, handoff.Request{Module: "calc.go"}))

	err := handoff.Check(cfg, handoff.Request{Module: "calc.go", Coverage: handoff.Coverage(120)})
	var fe *handoff.FieldError
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.Equal(t, "Request.Coverage", fe.Field)
	require.Contains(t, err.Error(), "Request.Coverage: coverage 120 is outside 0..100")
}

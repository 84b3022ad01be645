package main

import (
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// The flags' defaults are the request's defaults, read from their one home:
// a request built from flags left alone asks exactly what an empty request
// is given at submit.
func TestFlagDefaultsAreTheRequestDefaults(t *testing.T) {
	t.Parallel()
	var f requestFlags
	cmd := &cobra.Command{}
	f.add(cmd)
	require.NoError(t, cmd.ParseFlags([]string{"--module", "x.go"}))
	r, err := f.request(cmd, "")
	require.NoError(t, err)
	require.Equal(t, handofftype.DefaultCoverage, *r.Coverage)
	require.Equal(t, handofftype.DefaultTimeout, r.Timeout)
	require.Equal(t, handofftype.DefaultTestTimeout, r.TestTimeout)
	require.Equal(t, handofftype.DefaultMaxAttempts, r.MaxAttempts)
	require.Equal(t, handofftype.DefaultMaxRounds, r.MaxRounds)
	require.Equal(t, handofftype.DefaultRuns, r.Runs)
	require.Equal(t, handofftype.DefaultPriority, r.Priority)
	require.Equal(t, handofftype.DefaultApply, r.Apply)

	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", 5 * time.Minute: "5m", 30 * time.Second: "30s",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s"} {
		require.Equal(t, want, flagDuration(d))
	}
}

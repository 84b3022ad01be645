package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/engine"
)

// Every liveness figure derives from the one timeout: the defaults are the
// figures handoff has always used (2 s beats, 10 s for a live worker, 30 s
// before a rescue), and a shorter timeout shortens them all.
func TestLivenessDerivesFromOneTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		timeout                                      time.Duration
		interval, alive, silent, rescueEvery, forget time.Duration
	}{
		{0, 2 * time.Second, 10 * time.Second, 30 * time.Second, 15 * time.Second, 5 * time.Minute},
		{engine.DefaultHeartbeatTimeout, 2 * time.Second, 10 * time.Second, 30 * time.Second, 15 * time.Second, 5 * time.Minute},
		{3 * time.Second, time.Second, time.Second, 3 * time.Second, 1500 * time.Millisecond, 30 * time.Second},
		{150 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 150 * time.Millisecond, 100 * time.Millisecond, 1500 * time.Millisecond},
		{time.Minute, 2 * time.Second, 20 * time.Second, time.Minute, 30 * time.Second, 10 * time.Minute},
	} {
		l := engine.Liveness{Timeout: tc.timeout}
		require.Equal(t, tc.interval, l.Interval(), "interval for %s", tc.timeout)
		require.Equal(t, tc.alive, l.WorkerAliveWithin(), "worker alive within, for %s", tc.timeout)
		require.Equal(t, tc.silent, l.TaskSilentAfter(), "task silent after, for %s", tc.timeout)
		require.Equal(t, tc.rescueEvery, l.RescueEvery(), "rescue every, for %s", tc.timeout)
		require.Equal(t, tc.forget, l.ForgetWorkerAfter(), "forget a worker after, for %s", tc.timeout)
	}
}

package human

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 850 * time.Millisecond: "850ms", 3200 * time.Millisecond: "3.2s", 125 * time.Second: "2m05s",
		62 * time.Minute: "1h02m", -1500 * time.Millisecond: "0s", time.Nanosecond: "0ms",
	} {
		require.Equal(t, want, Duration(d), "%d", d)
	}
}

package handofftype

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretPrints(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{"MY_KEY": "pw1", "UNSET": ""}
	p := NewSecretPrints(secrets)
	require.Empty(t, p.Differ(secrets))
	require.Equal(t, []string{"MY_KEY"}, p.Differ(map[string]string{"MY_KEY": "pw2", "UNSET": ""}))
	require.Equal(t, []string{"UNSET"}, p.Differ(map[string]string{"MY_KEY": "pw1", "UNSET": "now set"}))
	require.Equal(t, []string{"MY_KEY", "OTHER"}, p.Differ(map[string]string{"OTHER": "x", "UNSET": ""}),
		"a name on one side only differs")

	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.NotContains(t, string(b), "pw1")
	q := NewSecretPrints(secrets)
	require.NotEqual(t, p.Prints["MY_KEY"], q.Prints["MY_KEY"], "each task salts its own prints")
}

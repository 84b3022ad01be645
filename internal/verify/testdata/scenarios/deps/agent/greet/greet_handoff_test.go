package greet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHelloName(t *testing.T) {
	require.Equal(t, "hello, gopher", Hello("gopher"))
}

package greet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHelloWorld(t *testing.T) {
	require.Equal(t, "hello, world", Hello(""))
}

// Package stderrs returns errors whose texts come from the standard
// library and errors whose texts are its own.
package stderrs

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrEmpty is returned for an empty port.
var ErrEmpty = errors.New("stderrs: empty port")

// Port parses a port number such as "8080".
func Port(s string) (int, error) {
	if s == "" {
		return 0, ErrEmpty
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("stderrs: port %q: %w", s, err)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("stderrs: port %d is outside 1..65535", n)
	}
	return n, nil
}

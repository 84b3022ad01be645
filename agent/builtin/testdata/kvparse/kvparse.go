// Package kvparse reads the small formats of configuration files:
// "key = value" lines, sizes such as "10MB", booleans such as "yes" and
// colours such as "#ff8800".
package kvparse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("syntax error")

// Pair is one "key = value" line.
type Pair struct {
	Key   string
	Value string
}

// ParseLine parses one line of an INI-like file. Blank lines and comments
// ("#" or ";") give ok == false and no error. Values may be double-quoted.
func ParseLine(line string) (p Pair, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' || line[0] == ';' {
		return Pair{}, false, nil
	}
	i := strings.IndexByte(line, '=')
	if i < 0 {
		return Pair{}, false, fmt.Errorf("%w: missing '=' in %q", ErrSyntax, line)
	}
	key := strings.TrimSpace(line[:i])
	if key == "" {
		return Pair{}, false, fmt.Errorf("%w: empty key", ErrSyntax)
	}
	val := strings.TrimSpace(line[i+1:])
	if strings.HasPrefix(val, `"`) {
		uq, err := strconv.Unquote(val)
		if err != nil {
			return Pair{}, false, fmt.Errorf("%w: bad quoted value %s", ErrSyntax, val)
		}
		val = uq
	} else if j := strings.Index(val, " #"); j >= 0 {
		val = strings.TrimSpace(val[:j])
	}
	return Pair{Key: strings.ToLower(key), Value: val}, true, nil
}

var sizeSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// ParseSize parses a size such as "512", "10MB", "1.5GiB" or "64k" into
// bytes.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("%w: empty size", ErrSyntax)
	}
	mult := int64(1)
	for _, u := range sizeSuffixes {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%w: negative size %q", ErrSyntax, s)
		}
		if n > (1<<63-1)/mult {
			return 0, fmt.Errorf("size %q overflows int64", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad size %q", ErrSyntax, s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%w: negative size %q", ErrSyntax, s)
	}
	return int64(f * float64(mult)), nil
}

// ParseBool accepts the usual spellings of true and false in
// configuration files: 1/0, true/false, yes/no, on/off, y/n.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "0", "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q is not a boolean", ErrSyntax, s)
}

// Color is an RGB colour.
type Color struct {
	R, G, B uint8
}

// ParseColor parses "#rrggbb" or "#rgb".
func ParseColor(s string) (Color, error) {
	if !strings.HasPrefix(s, "#") {
		return Color{}, fmt.Errorf("%w: colour %q must start with #", ErrSyntax, s)
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return Color{}, fmt.Errorf("%w: colour %q must have 3 or 6 hex digits", ErrSyntax, s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return Color{}, fmt.Errorf("%w: colour %q is not hexadecimal", ErrSyntax, s)
	}
	return Color{R: uint8(n >> 16), G: uint8(n >> 8), B: uint8(n)}, nil
}

// Hex writes c as "#rrggbb".
func (c Color) Hex() string {
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// Gray returns the luminance of c as a grey level.
func (c Color) Gray() uint8 {
	return uint8((299*uint32(c.R) + 587*uint32(c.G) + 114*uint32(c.B)) / 1000)
}

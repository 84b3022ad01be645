// Package observe holds code whose behaviour a characterization test can
// only see from the side: a result that cannot be written as a literal, a
// cached second call, a function argument, a setter without results.
package observe

import (
	"errors"
	"regexp"
	"strings"
)

// Pattern is a compiled glob.
type Pattern struct {
	glob string
	re   *regexp.Regexp
	hits int
}

// NewPattern parses a glob where * matches any run of characters.
func NewPattern(glob string) (*Pattern, error) {
	if strings.Contains(glob, "**") {
		return nil, errors.New("observe: ** is not supported")
	}
	return &Pattern{glob: glob}, nil
}

// Regexp compiles the pattern once and returns the same value afterwards.
func (p *Pattern) Regexp() *regexp.Regexp {
	if p.re != nil {
		p.hits++
		return p.re
	}
	parts := strings.Split(p.glob, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	p.re = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	return p.re
}

// Filter keeps the names keep accepts and reports how many it dropped.
func Filter(names []string, keep func(string) bool) ([]string, int) {
	var out []string
	for _, n := range names {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out, len(names) - len(out)
}

var strict bool

// SetStrict changes how later patterns are parsed; nothing shows it.
func SetStrict(on bool) {
	strict = on
}

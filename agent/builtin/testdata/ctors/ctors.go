// Package ctors has values a test can only get from constructors: a
// version with unexported fields from a constructor returning *Version but
// compared by value, a counter from one returning Counter but changed
// through a pointer, and an unexported lexer type from an exported
// constructor.
package ctors

import (
	"errors"
	"strings"
	"unicode"
)

// Version is a major.minor version; its fields are set by New.
type Version struct {
	major, minor int
}

// New returns the version major.minor.
func New(major, minor int) *Version {
	return &Version{major: major, minor: minor}
}

// Less reports whether v comes before o.
func (v Version) Less(o Version) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	return v.minor < o.minor
}

// IsZero reports whether v is 0.0.
func (v Version) IsZero() bool {
	return v.major == 0 && v.minor == 0
}

// Counter counts up to a limit.
type Counter struct {
	n, limit int
}

// ErrLimit is returned when a Counter would pass its limit.
var ErrLimit = errors.New("ctors: counter limit reached")

// MakeCounter returns a counter that stops at limit.
func MakeCounter(limit int) Counter {
	return Counter{limit: limit}
}

// Add adds d and returns the new count.
func (c *Counter) Add(d int) (int, error) {
	if c.n+d > c.limit {
		return c.n, ErrLimit
	}
	c.n += d
	return c.n, nil
}

// Token is one word or number of a text.
type Token struct {
	Kind string
	Text string
}

type lexer struct {
	s   string
	pos int
}

// NewLexer returns a lexer reading s.
func NewLexer(s string) *lexer {
	return &lexer{s: s}
}

// Next returns the next token, or a token of kind "eof".
func (l *lexer) Next() Token {
	for l.pos < len(l.s) && l.s[l.pos] == ' ' {
		l.pos++
	}
	if l.pos == len(l.s) {
		return Token{Kind: "eof"}
	}
	start := l.pos
	kind := "word"
	if unicode.IsDigit(rune(l.s[start])) {
		kind = "number"
	}
	for l.pos < len(l.s) && l.s[l.pos] != ' ' {
		l.pos++
	}
	return Token{Kind: kind, Text: strings.ToLower(l.s[start:l.pos])}
}

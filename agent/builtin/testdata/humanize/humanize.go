// Package humanize formats numbers and text for people: file sizes,
// thousands separators, ordinals, plurals, truncation and wrapping.
package humanize

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var sizeUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}

// Bytes formats a size in bytes with SI units: 82854982 → "83 MB".
func Bytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	e := 0
	v := float64(n)
	for v >= 1000 && e < len(sizeUnits)-1 {
		v /= 1000
		e++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, sizeUnits[e])
	}
	return fmt.Sprintf("%.0f %s", v, sizeUnits[e])
}

// Comma writes n with commas every three digits: 1234567 → "1,234,567".
func Comma(n int64) string {
	sign := ""
	if n < 0 {
		sign = "-"
		if n == -1<<63 {
			return "-9,223,372,036,854,775,808"
		}
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	parts = append([]string{s}, parts...)
	return sign + strings.Join(parts, ",")
}

// Ordinal writes n as an English ordinal: 1 → "1st", 12 → "12th".
func Ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		if n%100 != 11 {
			suffix = "st"
		}
	case 2:
		if n%100 != 12 {
			suffix = "nd"
		}
	case 3:
		if n%100 != 13 {
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// Plural writes "1 file" or "3 files"; an empty plural adds "s".
func Plural(n int, singular, plural string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, singular)
	}
	if plural == "" {
		plural = singular + "s"
	}
	return fmt.Sprintf("%d %s", n, plural)
}

// Truncate shortens s to at most max runes, ending it with "…" when cut.
func Truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// SnakeCase turns "HTTPServerError" into "http_server_error".
func SnakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) && r[i-1] != '_' {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		if c == ' ' || c == '-' {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Wrap breaks text into lines of at most width runes at spaces; a word
// longer than width gets a line of its own.
func Wrap(text string, width int) []string {
	if width < 1 {
		width = 1
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

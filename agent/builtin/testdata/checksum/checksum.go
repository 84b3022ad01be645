// Package checksum computes the check digits and checksums found in
// payment cards, book numbers and zlib streams.
package checksum

import (
	"errors"
	"strings"
)

// ErrInvalid is returned for input that contains something other than
// digits (and, where allowed, spaces or dashes).
var ErrInvalid = errors.New("checksum: input contains invalid characters")

// LuhnValid reports whether number, digits with optional spaces, passes
// the Luhn (mod 10) check used by payment card numbers.
func LuhnValid(number string) bool {
	digits, err := clean(number)
	if err != nil || len(digits) < 2 {
		return false
	}
	return luhnSum(digits, false)%10 == 0
}

// LuhnCheckDigit returns the digit that, appended to number, makes it pass
// the Luhn check.
func LuhnCheckDigit(number string) (int, error) {
	digits, err := clean(number)
	if err != nil {
		return 0, err
	}
	if digits == "" {
		return 0, errors.New("checksum: empty number")
	}
	return (10 - luhnSum(digits, true)%10) % 10, nil
}

func luhnSum(digits string, double bool) int {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum
}

// clean drops spaces and dashes and checks that only digits are left.
func clean(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-':
			continue
		case r < '0' || r > '9':
			return "", ErrInvalid
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// ISBN10Valid reports whether s is a valid ISBN-10, with or without
// dashes; the last character may be 'X' for ten.
func ISBN10Valid(s string) bool {
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case (c == 'X' || c == 'x') && i == 9:
			v = 10
		default:
			return false
		}
		sum += (10 - i) * v
	}
	return sum%11 == 0
}

const adlerMod = 65521

// Adler32 returns the Adler-32 checksum of data, as zlib computes it.
func Adler32(data []byte) uint32 {
	a, b := uint32(1), uint32(0)
	for _, c := range data {
		a = (a + uint32(c)) % adlerMod
		b = (b + a) % adlerMod
	}
	return b<<16 | a
}

// Fletcher16 returns the Fletcher-16 checksum of data.
func Fletcher16(data []byte) uint16 {
	var s1, s2 uint16
	for _, c := range data {
		s1 = (s1 + uint16(c)) % 255
		s2 = (s2 + s1) % 255
	}
	return s2<<8 | s1
}

// Digest is a running Adler-32 checksum.
type Digest struct {
	a, b uint32
	n    int
}

// NewDigest returns a Digest of no data.
func NewDigest() *Digest { return &Digest{a: 1} }

// Write adds p to the checksum. It never fails.
func (d *Digest) Write(p []byte) (int, error) {
	for _, c := range p {
		d.a = (d.a + uint32(c)) % adlerMod
		d.b = (d.b + d.a) % adlerMod
	}
	d.n += len(p)
	return len(p), nil
}

// Sum32 returns the checksum of the data written so far.
func (d *Digest) Sum32() uint32 { return d.b<<16 | d.a }

// Len returns how many bytes were written.
func (d *Digest) Len() int { return d.n }

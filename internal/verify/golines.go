package verify

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// goLineSplitter cuts a byte stream as test2json's buffers do: a line whose
// end (a newline, or a ^V that does not start it) lies within max bytes
// goes to line whole; longer lines, and what is left at flush, go to part
// in pieces of at most max bytes, never inside a UTF-8 sequence.
type goLineSplitter struct {
	max  int
	buf  []byte
	long bool // inside a line longer than max
	line func([]byte)
	part func([]byte)
}

func (l *goLineSplitter) write(b []byte) {
	l.buf = append(l.buf, b...)
	for len(l.buf) > 0 {
		window := l.buf[:min(len(l.buf), l.max)]
		if end := goLineEnd(window); end > 0 {
			if l.long {
				l.part(l.buf[:end])
				l.long = false
			} else {
				l.line(l.buf[:end])
			}
			l.buf = l.buf[end:]
			continue
		}
		if !l.long {
			// A benchmark's result line is written in two goes: pass on
			// its name at once.
			if tab := bytes.IndexByte(window, '\t'); tab >= 0 && isBenchmarkName(bytes.TrimRight(window[:tab], " ")) {
				l.part(l.buf[:tab+1])
				l.buf = l.buf[tab+1:]
				l.long = true
				continue
			}
		}
		if len(window) < l.max {
			return // wait for the end of the line
		}
		n := utf8Cut(window)
		l.part(l.buf[:n])
		l.buf = l.buf[n:]
		l.long = true
	}
}

// flush passes on what is left, a line without its end.
func (l *goLineSplitter) flush() {
	if len(l.buf) > 0 {
		l.part(l.buf)
		l.buf = nil
	}
}

// goLineEnd returns the length of the first line in b, its newline
// included, or up to a ^V that does not start it; 0 when b holds no end.
func goLineEnd(b []byte) int {
	for i, c := range b {
		switch {
		case c == '\n':
			return i + 1
		case c == goFramingMarker && i > 0:
			return i
		}
	}
	return 0
}

// isBenchmarkName says whether b names a benchmark: "Benchmark" alone or
// followed by anything but a lower-case letter.
func isBenchmarkName(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte("Benchmark"))
	if !ok {
		return false
	}
	if len(rest) == 0 {
		return true
	}
	r, _ := utf8.DecodeRune(rest)
	return !unicode.IsLower(r)
}

// utf8Cut returns how many bytes of b to take so as not to end inside a
// multi-byte UTF-8 sequence.
func utf8Cut(b []byte) int {
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		need := 1
		switch {
		case b[i]&0xf8 == 0xf0:
			need = 4
		case b[i]&0xf0 == 0xe0:
			need = 3
		case b[i]&0xe0 == 0xc0:
			need = 2
		}
		if len(b)-i < need {
			return i
		}
		return len(b)
	}
	return len(b)
}

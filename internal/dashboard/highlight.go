package dashboard

import (
	"html/template"
	"strings"
)

var keywords = map[string]map[string]bool{
	"go": set("break case chan const continue default defer else fallthrough for func go goto if import interface map " +
		"package range return select struct switch type var nil true false"),
	"python": set("False None True and as assert async await break class continue def del elif else except finally for " +
		"from global if import in is lambda nonlocal not or pass raise return try while with yield"),
}

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// highlight marks up source code for the page: comments, strings and
// keywords in spans of class c, s and k. Everything else is escaped as it
// is. It knows Go and Python; anything else is only escaped.
func highlight(src, lang string) template.HTML {
	kw, ok := keywords[lang]
	if !ok {
		return template.HTML(template.HTMLEscapeString(src))
	}
	var b strings.Builder
	span := func(class, text string) {
		b.WriteString(`<span class="` + class + `">`)
		b.WriteString(template.HTMLEscapeString(text))
		b.WriteString(`</span>`)
	}
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	// until returns the index just past the first end at or after i, or len(src).
	until := func(i int, end string, escapes bool) int {
		for i < len(src) {
			if escapes && src[i] == '\\' {
				i += 2
				continue
			}
			if strings.HasPrefix(src[i:], end) {
				return i + len(end)
			}
			if src[i] == '\n' && len(end) == 1 && end != "`" {
				return i // an unterminated one-line string ends at the line
			}
			i++
		}
		return len(src)
	}
	for i := 0; i < len(src); {
		c := src[i]
		rest := src[i:]
		switch {
		case lang == "go" && strings.HasPrefix(rest, "//"), lang == "python" && c == '#':
			j := strings.IndexByte(rest, '\n')
			if j < 0 {
				j = len(rest)
			}
			span("c", rest[:j])
			i += j
		case lang == "go" && strings.HasPrefix(rest, "/*"):
			j := until(i+2, "*/", false)
			span("c", src[i:j])
			i = j
		case lang == "python" && (strings.HasPrefix(rest, `"""`) || strings.HasPrefix(rest, `'''`)):
			j := until(i+3, rest[:3], true)
			span("s", src[i:j])
			i = j
		case c == '"' || c == '\'' || (c == '`' && lang == "go"):
			j := until(i+1, string(c), c != '`')
			span("s", src[i:j])
			i = j
		case isWord(c) && (i == 0 || !isWord(src[i-1])):
			j := i
			for j < len(src) && isWord(src[j]) {
				j++
			}
			if kw[src[i:j]] {
				span("k", src[i:j])
			} else {
				b.WriteString(template.HTMLEscapeString(src[i:j]))
			}
			i = j
		default:
			// Plain text up to what may start a token, whole (so that a
			// character of several bytes is never split).
			j := i + 1
			for j < len(src) && !isWord(src[j]) && !strings.ContainsRune("\"'`/#", rune(src[j])) {
				j++
			}
			b.WriteString(template.HTMLEscapeString(src[i:j]))
			i = j
		}
	}
	return template.HTML(b.String())
}

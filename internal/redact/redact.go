// Package redact removes secrets from text that leaves a run: failure
// excerpts, feedback for an agent, prompts and logs. It knows two kinds of
// secret: the values of the variables handoff reads its own secrets from
// (Secrets lists them; this is the one place that does), and anything
// shaped like a private key block or an Authorization header, whoever it
// belongs to.
package redact

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret.
const Mask = "[redacted]"

// keyMask replaces a private key block.
const keyMask = "[redacted private key]"

// secretVars hold a secret each.
var secretVars = []string{"LLM_API_KEY", "OPENROUTER_API_KEY", "OPENHANDS_API_KEY", "HANDOFF_TOKEN"}

// urlVars hold URLs whose password is a secret.
var urlVars = []string{"HANDOFF_DATABASE_URL", "HANDOFF_TEST_POSTGRES_URL"}

// passVar names further variables, comma-separated, that the exec agent
// passes to its command: API keys and the like.
const passVar = "HANDOFF_EXEC_ENV"

// minLen is the shortest value treated as a secret: masking every "a" or
// "42" in a text would hide more than it protects.
const minLen = 4

// Secrets returns the secret values handoff knows now, longest first: the
// values of LLM_API_KEY, OPENROUTER_API_KEY, OPENHANDS_API_KEY and
// HANDOFF_TOKEN, of every variable named in HANDOFF_EXEC_ENV, and the
// passwords in HANDOFF_DATABASE_URL and HANDOFF_TEST_POSTGRES_URL (as
// written and decoded). The environment is read at each call.
func Secrets() []string {
	names := append([]string{}, secretVars...)
	for _, n := range strings.Split(os.Getenv(passVar), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	var out []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) >= minLen {
			out = append(out, v)
		}
	}
	for _, n := range names {
		add(os.Getenv(n))
	}
	for _, n := range urlVars {
		add(urlPassword(os.Getenv(n)))
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// urlPassword returns the password of a URL, decoded, or "". String also
// masks its percent-encoded form.
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

var (
	// A private key block: PEM (RSA, EC, OPENSSH, ENCRYPTED, PKCS#8) or
	// PGP; an excerpt cut in the middle has no END line, so the block
	// then runs to the end of the text.
	keyBlock = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)`)
	keyBegin = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	keyEnd   = regexp.MustCompile(`-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	// An Authorization header (or a field named so): the value, to the end
	// of the line or the closing quote, goes.
	authHeader = regexp.MustCompile(`(?i)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\r\n]+`)
	bearer     = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
)

// String returns s with every secret masked.
func String(s string) string {
	if s == "" {
		return s
	}
	s = keyBlock.ReplaceAllString(s, keyMask)
	s = authHeader.ReplaceAllString(s, "${1}"+Mask)
	s = bearer.ReplaceAllString(s, "${1} "+Mask)
	for _, v := range Secrets() {
		s = strings.ReplaceAll(s, v, Mask)
		if pe := url.QueryEscape(v); pe != v {
			s = strings.ReplaceAll(s, pe, Mask)
		}
	}
	return s
}

// Writer redacts a stream line by line before it reaches w: a private key
// block spanning lines is replaced as a whole. A line is written when it
// ends; Flush writes an unfinished last line. Safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	inBlock int // lines into a key block; 0 outside one
}

// maxBlock bounds a key block without an END line: a 4096-bit RSA key is
// about 50 lines, so past this the lines are taken to be ordinary again.
const maxBlock = 200

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write implements io.Writer. It reports len(p) written unless w fails.
func (r *Writer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		r.line(&out, string(r.buf[:i+1]))
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) > 64<<10 {
		// A runaway line: redact what there is rather than hold it all.
		r.line(&out, string(r.buf))
		r.buf = r.buf[:0]
	}
	if out.Len() > 0 {
		if _, err := r.w.Write(out.Bytes()); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// line redacts one line, tracking key blocks across lines.
func (r *Writer) line(out *bytes.Buffer, l string) {
	if r.inBlock > 0 {
		if loc := keyEnd.FindStringIndex(l); loc != nil {
			r.inBlock = 0
			if rest := l[loc[1]:]; strings.TrimSpace(rest) != "" {
				out.WriteString(String(rest))
			}
			return
		}
		if r.inBlock++; r.inBlock <= maxBlock {
			return
		}
		r.inBlock = 0
	}
	if loc := keyBegin.FindStringIndex(l); loc != nil && keyEnd.FindStringIndex(l[loc[1]:]) == nil {
		r.inBlock = 1
		out.WriteString(String(l[:loc[0]]) + keyMask + "\n")
		return
	}
	out.WriteString(String(l))
}

// Flush writes an unfinished last line, redacted.
func (r *Writer) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	var out bytes.Buffer
	r.line(&out, string(r.buf))
	r.buf = r.buf[:0]
	_, err := r.w.Write(out.Bytes())
	return err
}

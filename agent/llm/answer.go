package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
)

// parseAnswer extracts the test file from an answer, strictly: in JSON
// format, one object with exactly the fields file and notes; in fenced
// format, exactly one fenced code block. Anything else is a problem the
// model is told about once.
func parseAnswer(ans *answer, format Format, lang string) (string, error) {
	switch {
	case ans.Refusal != "" || ans.Finish == "content_filter":
		why := ans.Refusal
		if why == "" {
			why = "the endpoint's content filter stopped the answer"
		}
		return "", fmt.Errorf("%w: %s", ErrRefused, oneLine(why, 200))
	case ans.Finish == "length":
		return "", fmt.Errorf("%w (%d completion tokens)", ErrTruncated, ans.Out)
	case strings.TrimSpace(ans.Text) == "":
		return "", ErrEmpty
	}
	var file string
	if format == FormatJSON {
		dec := json.NewDecoder(strings.NewReader(ans.Text))
		dec.DisallowUnknownFields()
		var v struct {
			File  *string `json:"file"`
			Notes *string `json:"notes"`
		}
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("%w: the answer is not the JSON object asked for: %v", ErrMalformed, err)
		}
		if dec.More() {
			return "", fmt.Errorf("%w: text follows the JSON object", ErrMalformed)
		}
		if v.File == nil {
			return "", fmt.Errorf("%w: the JSON object has no \"file\"", ErrMalformed)
		}
		file = *v.File
	} else {
		blocks := fences(ans.Text)
		if len(blocks) != 1 {
			return "", fmt.Errorf("%w: want exactly one fenced code block, found %d", ErrMalformed, len(blocks))
		}
		file = blocks[0]
	}
	if strings.TrimSpace(file) == "" {
		return "", fmt.Errorf("%w: the test file is empty", ErrMalformed)
	}
	if !strings.HasSuffix(file, "\n") {
		file += "\n"
	}
	if err := checkSource(lang, file); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return file, nil
}

var fenceRE = regexp.MustCompile("(?m)^[ \t]*(```+|~~~+)[ \t]*([A-Za-z0-9_+-]*)[ \t]*$")

// fences returns the contents of the fenced code blocks of text.
func fences(text string) []string {
	var out []string
	locs := fenceRE.FindAllStringSubmatchIndex(text, -1)
	for i := 0; i+1 < len(locs); i += 2 {
		open, close := locs[i], locs[i+1]
		if text[close[4]:close[5]] != "" { // a closing fence carries no info string
			i--
			continue
		}
		body := text[open[1]:close[0]]
		out = append(out, strings.TrimPrefix(body, "\n"))
	}
	return out
}

// checkSource rejects files that are plainly not a test file of lang.
func checkSource(lang, src string) error {
	switch lang {
	case "go":
		f, err := parser.ParseFile(token.NewFileSet(), "answer_test.go", src, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("the Go file does not parse: %v", err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Test") {
				return nil
			}
		}
		return fmt.Errorf("the Go file has no Test function")
	case "python":
		if !pyTestDef.MatchString(src) {
			return fmt.Errorf("the Python file has no test_ function")
		}
	}
	return nil
}

var pyTestDef = regexp.MustCompile(`(?m)^\s*(async\s+)?def\s+test`)

// keptSource returns the source of the test named name in src, or "" when
// src has none. Go names are function names; Python names are pytest node
// IDs (path::Class::test or path::test).
func keptSource(lang, src, name string) string {
	switch lang {
	case "go":
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "kept_test.go", src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return ""
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name {
				return src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset]
			}
		}
	case "python":
		parts := strings.Split(name, "::")
		fn := parts[len(parts)-1]
		if i := strings.IndexByte(fn, '['); i >= 0 { // parametrised
			fn = fn[:i]
		}
		re := regexp.MustCompile(`(?m)^([ \t]*)(async[ \t]+)?def[ \t]+` + regexp.QuoteMeta(fn) + `[ \t]*\(`)
		loc := re.FindStringSubmatchIndex(src)
		if loc == nil {
			return ""
		}
		indent := src[loc[2]:loc[3]]
		lines := strings.SplitAfter(src[loc[0]:], "\n")
		var b bytes.Buffer
		b.WriteString(lines[0])
		for _, l := range lines[1:] {
			t := strings.TrimRight(l, "\r\n")
			if strings.TrimSpace(t) != "" && !strings.HasPrefix(t, indent+" ") && !strings.HasPrefix(t, indent+"\t") {
				break
			}
			b.WriteString(l)
		}
		return b.String()
	}
	return ""
}

// keptChanged lists the kept tests of old that new lacks or changed.
func keptChanged(lang, oldSrc, newSrc string, kept []string) []string {
	var out []string
	for _, k := range kept {
		was := keptSource(lang, oldSrc, k)
		if was == "" {
			continue // kept in another file
		}
		if strings.TrimSpace(keptSource(lang, newSrc, k)) != strings.TrimSpace(was) {
			out = append(out, k)
		}
	}
	return out
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// countTests counts the test functions of a test file.
func countTests(lang, src string) int {
	re := pyTestDef
	if lang == "go" {
		re = goTestDef
	}
	return len(re.FindAllStringIndex(src, -1))
}

var goTestDef = regexp.MustCompile(`(?m)^func\s+Test\w*\s*\(`)

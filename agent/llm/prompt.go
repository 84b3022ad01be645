package llm

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/handoff-dev/handoff/agent"
)

// material is what the prompt is built from, read from the task directory.
type material struct {
	Module  map[string]string // module source files, by slash path
	Tests   map[string]string // existing test files of the module, other than the output file
	Output  string            // the output file as it is now (kept tests of earlier rounds), "" if absent
	Lines   []lineRange       // lines the current tests do not reach; nil if unknown
	LineErr error             // why Lines is unknown
}

// conventions are each language's test conventions, told to the model.
var conventions = map[string]string{
	"go": "- Go's standard testing package only; no third-party modules (the module's go.mod must not change).\n" +
		"- The test file is in the module's package (package-internal tests), so unexported names are usable.\n" +
		"- Test functions are named TestXxx(t *testing.T); assert with t.Fatal/t.Errorf on wrong results; " +
		"table-driven tests with t.Run are welcome.\n" +
		"- Every import must be used; gofmt style.\n",
	"python": "- pytest: plain functions named test_* with plain assert statements; pytest.raises for exceptions.\n" +
		"- Import the module by its dotted path from the project root (e.g. `from pkg.mod import f`).\n" +
		"- No network, no sleeps, no randomness, no clock; use tmp_path for files.\n",
}

// readMaterial reads the module, its existing tests and the output file.
func readMaterial(t *agent.Task) (*material, error) {
	m := &material{Module: map[string]string{}, Tests: map[string]string{}}
	read := func(rel string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(t.Dir, filepath.FromSlash(rel)))
		return string(b), err == nil
	}
	if out, ok := read(t.Output); ok {
		m.Output = out
	}
	dir, single := t.Module, ""
	if strings.HasSuffix(t.Module, ".go") || strings.HasSuffix(t.Module, ".py") {
		dir, single = path.Dir(t.Module), t.Module
	}
	entries, err := os.ReadDir(filepath.Join(t.Dir, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("llm: reading the module's directory: %w", err)
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if e.IsDir() || rel == path.Clean(t.Output) {
			continue
		}
		switch t.Language {
		case "go":
			if !strings.HasSuffix(rel, ".go") {
				continue
			}
			if strings.HasSuffix(rel, "_test.go") {
				if s, ok := read(rel); ok {
					m.Tests[rel] = s
				}
			} else if single == "" || rel == single {
				if s, ok := read(rel); ok {
					m.Module[rel] = s
				}
			}
		case "python":
			if rel == single {
				if s, ok := read(rel); ok {
					m.Module[rel] = s
				}
			}
		}
	}
	if t.Language == "python" {
		// pytest files beside the output that import the module
		outDir := path.Dir(t.Output)
		name := strings.TrimSuffix(path.Base(t.Module), ".py")
		if es, err := os.ReadDir(filepath.Join(t.Dir, filepath.FromSlash(outDir))); err == nil {
			for _, e := range es {
				rel := path.Join(outDir, e.Name())
				if e.IsDir() || rel == path.Clean(t.Output) || !strings.HasPrefix(e.Name(), "test_") {
					continue
				}
				if s, ok := read(rel); ok && strings.Contains(s, name) {
					m.Tests[rel] = s
				}
			}
		}
	}
	if len(m.Module) == 0 {
		return nil, fmt.Errorf("llm: no source of module %s in the task directory", t.Module)
	}
	return m, nil
}

// systemPrompt states the role, the conventions and the answer format.
func systemPrompt(t *agent.Task, format Format) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You write unit tests for %s code. Every test you write is built, run several times and "+
		"measured; a test is kept only if it builds, passes reliably, asserts something and covers code "+
		"that other tests do not.\n\nConventions:\n%s\n", t.Language, conventions[t.Language])
	lang := t.Language
	if format == FormatJSON {
		fmt.Fprintf(&b, "Answer with a JSON object {\"file\": the complete content of %s, \"notes\": one sentence}.\n", t.Output)
	} else {
		fmt.Fprintf(&b, "Answer with the complete content of %s in exactly one fenced code block (```%s ... ```), "+
			"and no other code block.\n", t.Output, lang)
	}
	return b.String()
}

// userPrompt is the task: handoff's instruction (with the feedback of the
// previous round), the module, its tests, the uncovered lines.
func userPrompt(t *agent.Task, m *material, cut bool) string {
	var b strings.Builder
	if strings.TrimSpace(t.Prompt) != "" {
		b.WriteString(strings.TrimSpace(t.Prompt) + "\n\n")
	} else {
		fmt.Fprintf(&b, "Write unit tests for `%s` in `%s` so that its coverage reaches at least %.0f %%.\n\n",
			t.Module, t.Output, t.Threshold)
	}
	if fb := t.Feedback; fb != nil && len(fb.Dropped) > 0 {
		b.WriteString("## Dropped tests of the previous round\n")
		for _, d := range fb.Dropped {
			fmt.Fprintf(&b, "- %s: %s\n", d.Name, d.Reason)
			if ex := strings.TrimSpace(d.Excerpt); ex != "" {
				b.WriteString(indent(lastLines(ex, 12)) + "\n")
			}
		}
		b.WriteString("Fix or replace them.\n\n")
	}
	files := slices.Sorted(maps.Keys(m.Module))
	for _, f := range files {
		src := m.Module[f]
		title := "Source of"
		if cut {
			src, title = cutSource(t.Language, src, f, m.Lines, t.Feedback), "Source (functions already covered show only their signature) of"
		}
		fmt.Fprintf(&b, "## %s `%s` (line numbers on the left)\n```%s\n%s```\n\n", title, f, t.Language, numbered(src))
	}
	switch {
	case m.Lines != nil && len(m.Lines) == 0:
		b.WriteString("## Uncovered lines\nThe existing tests reach every line; add tests only for branches still unchecked.\n\n")
	case len(m.Lines) > 0:
		b.WriteString("## Uncovered lines (not reached by the tests there are now)\n")
		for _, r := range m.Lines {
			fmt.Fprintf(&b, "- %s:%s: %s\n", r.File, r, firstCode(m.Module[r.File], r.Start))
		}
		b.WriteString("\n")
	case m.LineErr != nil:
		fmt.Fprintf(&b, "## Uncovered lines\nUnknown: the coverage run failed (%s).\n\n", oneLine(m.LineErr.Error(), 200))
	}
	if fb := t.Feedback; fb != nil && len(fb.Uncovered) > 0 {
		b.WriteString("## Functions not fully covered\n")
		for _, u := range fb.Uncovered {
			fmt.Fprintf(&b, "- %s: %.0f %%\n", u.Name, u.Percent)
		}
		b.WriteString("\n")
	}
	for _, f := range slices.Sorted(maps.Keys(m.Tests)) {
		fmt.Fprintf(&b, "## Existing tests `%s` (keep as they are; do not repeat them)\n```%s\n%s```\n\n", f, t.Language, ensureNL(m.Tests[f]))
	}
	if strings.TrimSpace(m.Output) != "" {
		fmt.Fprintf(&b, "## Current content of `%s`\n```%s\n%s```\n", t.Output, t.Language, ensureNL(m.Output))
		b.WriteString("Answer with this file plus your additions. Copy the tests already in it unchanged: " +
			"they were kept by verification. Do not rewrite, rename or remove them.\n")
	} else {
		fmt.Fprintf(&b, "`%s` does not exist yet: answer with the whole new file.\n", t.Output)
	}
	return b.String()
}

// cutSource keeps the functions that are not fully covered in full and
// shows the others as signatures, for modules too large for the context.
func cutSource(lang, src, file string, lines []lineRange, fb *agent.Feedback) string {
	hot := func(start, end int, name string) bool {
		for _, r := range lines {
			if r.File == file && r.Start <= end && r.End >= start {
				return true
			}
		}
		if fb != nil {
			for _, u := range fb.Uncovered {
				if u.Name == name || strings.HasSuffix(u.Name, "."+name) {
					return true
				}
			}
		}
		return lines == nil && fb == nil
	}
	switch lang {
	case "go":
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return src
		}
		// Replace the bodies of cold functions, from the end so offsets hold.
		out := src
		for i := len(f.Decls) - 1; i >= 0; i-- {
			fd, ok := f.Decls[i].(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			s, e := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
			if hot(s, e, fd.Name.Name) {
				continue
			}
			bs, be := fset.Position(fd.Body.Pos()).Offset, fset.Position(fd.Body.End()).Offset
			out = out[:bs] + "{ /* body omitted: covered */ }" + out[be:]
		}
		return out
	case "python":
		ls := strings.SplitAfter(src, "\n")
		var b strings.Builder
		for i := 0; i < len(ls); i++ {
			l := ls[i]
			name, ok := pyDefName(l)
			if !ok {
				b.WriteString(l)
				continue
			}
			ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			j := i + 1
			for j < len(ls) && (strings.TrimSpace(ls[j]) == "" || strings.HasPrefix(ls[j], ind+" ") || strings.HasPrefix(ls[j], ind+"\t")) {
				j++
			}
			if hot(i+1, j, name) || strings.HasPrefix(strings.TrimSpace(l), "class ") {
				b.WriteString(l) // classes stay: their methods are judged one by one
				continue
			}
			b.WriteString(l)
			b.WriteString(ind + "    ...  # body omitted: covered\n")
			i = j - 1
		}
		return b.String()
	}
	return src
}

func pyDefName(l string) (string, bool) {
	t := strings.TrimSpace(l)
	t = strings.TrimPrefix(t, "async ")
	for _, kw := range []string{"def ", "class "} {
		if strings.HasPrefix(t, kw) {
			n := strings.TrimPrefix(t, kw)
			if i := strings.IndexAny(n, "(:"); i >= 0 {
				return strings.TrimSpace(n[:i]), true
			}
		}
	}
	return "", false
}

func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d| %s\n", i+1, l)
	}
	return b.String()
}

func firstCode(src string, line int) string {
	ls := strings.Split(src, "\n")
	if line < 1 || line > len(ls) {
		return ""
	}
	return "`" + strings.TrimSpace(ls[line-1]) + "`"
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func ensureNL(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

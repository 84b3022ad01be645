package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/handoff-dev/handoff/internal/verify"
)

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// outputPlaceholders are the names an output: pattern may use.
var outputPlaceholders = []string{"{dir}", "{file}", "{stem}"}

// checkOutputPattern rejects unknown placeholders, paths leaving the
// workspace and outputs Submit would refuse: the pattern is filled for a
// sample module and put to verify.CheckOutput, the rule Submit applies to
// every task's output.
func checkOutputPattern(p string) error {
	if p == "" {
		return nil
	}
	for _, ph := range placeholder.FindAllString(p, -1) {
		if !contains(outputPlaceholders, ph) {
			return fmt.Errorf("unknown placeholder %s%s; use %s", ph, suggest(ph, outputPlaceholders), strings.Join(outputPlaceholders, ", "))
		}
	}
	out := expandOutput(p, sampleModule)
	if !insideRelative(out) {
		return fmt.Errorf("must be a relative path inside the workspace (no leading / and no ..)")
	}
	lang := verify.FileLanguage(out)
	if lang == "" {
		return fmt.Errorf("names no Go or Python test file (for a module %s it gives %s); end it like {dir}/{stem}_test.go or tests/test_{stem}.py", sampleModule, out)
	}
	if err := verify.CheckOutput(lang, out); err != nil {
		if out != p {
			return fmt.Errorf("for a module %s it gives %s: %w", sampleModule, out, err)
		}
		return err
	}
	return nil
}

// sampleModule is the module an output pattern is filled for when the file
// is checked, before the modules are known.
const sampleModule = "x/y.go"

// expandOutput fills an output pattern for one module (slash-separated,
// relative to the workspace): {dir} is the module's directory (the package
// directory itself for a package), {file} its base name and {stem} the base
// name without extension.
func expandOutput(pattern, module string) string {
	if pattern == "" {
		return ""
	}
	dir, file := path.Split(module)
	dir = strings.TrimSuffix(dir, "/")
	if path.Ext(module) == "" { // a package directory
		dir, file = module, path.Base(module)
	}
	if dir == "" {
		dir = "."
	}
	stem := strings.TrimSuffix(file, path.Ext(file))
	r := strings.NewReplacer("{dir}", dir, "{file}", file, "{stem}", stem)
	return path.Clean(r.Replace(pattern))
}

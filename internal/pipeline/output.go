package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// outputPlaceholders are the names an output: pattern may use.
var outputPlaceholders = []string{"{dir}", "{file}", "{stem}"}

// checkOutputPattern rejects unknown placeholders and paths leaving the
// workspace.
func checkOutputPattern(p string) error {
	if p == "" {
		return nil
	}
	for _, ph := range placeholder.FindAllString(p, -1) {
		if !contains(outputPlaceholders, ph) {
			return fmt.Errorf("unknown placeholder %s%s; use %s", ph, suggest(ph, outputPlaceholders), strings.Join(outputPlaceholders, ", "))
		}
	}
	if !insideRelative(expandOutput(p, "x/y.go")) {
		return fmt.Errorf("must be a relative path inside the workspace (no leading / and no ..)")
	}
	return nil
}

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

package verify

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Languages handoff verifies.
const (
	LanguageGo     = "go"
	LanguagePython = "python"
)

// ErrUnsupportedModule is returned (wrapped) by Language and DefaultOutput
// for a module that is neither a Go file, a Go package directory nor a
// Python file.
var ErrUnsupportedModule = errors.New("unsupported module")

// Language returns LanguageGo or LanguagePython for a module: a .go file, a
// directory with .go files ("." for the root) or a .py file, relative to
// dir.
func Language(dir, module string) (string, error) {
	rel, err := cleanModule(module)
	if err != nil {
		return "", err
	}
	abs := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("module %s: %w; give a path relative to the workspace", module, err)
	}
	switch {
	case fi.IsDir():
		files, err := goSourceFiles(abs)
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			return "", fmt.Errorf("%w: directory %s has no Go source files; give a Go package directory, a .go file or a .py file", ErrUnsupportedModule, module)
		}
		return LanguageGo, nil
	case strings.HasSuffix(rel, "_test.go"):
		return "", fmt.Errorf("%w: %s is a test file; give the Go file or package the tests are for", ErrUnsupportedModule, module)
	case strings.HasSuffix(rel, ".go"):
		return LanguageGo, nil
	case strings.HasSuffix(rel, ".py"):
		return LanguagePython, nil
	}
	return "", fmt.Errorf("%w: %s; handoff supports Go (a .go file or a package directory) and Python (a .py file)", ErrUnsupportedModule, module)
}

// DefaultOutput returns the conventional output path (relative,
// slash-separated) for a module:
//
//   - Go file pkg/x.go: pkg/x_test.go, or pkg/x_handoff_test.go when
//     pkg/x_test.go already exists;
//   - Go package directory pkg/foo: pkg/foo/foo_test.go (foo_handoff_test.go
//     when that exists); the root package "." uses its package name;
//   - Python a/b/c.py: tests/a/b/test_c.py (test_c_handoff.py when that
//     exists), mirroring the package path.
func DefaultOutput(dir, module string) (string, error) {
	lang, err := Language(dir, module)
	if err != nil {
		return "", err
	}
	rel, _ := cleanModule(module)
	exists := func(p string) bool {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		return err == nil
	}
	pick := func(first, second string) string {
		if exists(first) {
			return second
		}
		return first
	}
	if lang == LanguagePython {
		d, base := path.Split(rel)
		stem := strings.TrimSuffix(base, ".py")
		out := path.Join("tests", d)
		return pick(path.Join(out, "test_"+stem+".py"), path.Join(out, "test_"+stem+"_handoff.py")), nil
	}
	if strings.HasSuffix(rel, ".go") {
		stem := strings.TrimSuffix(rel, ".go")
		return pick(stem+"_test.go", stem+"_handoff_test.go"), nil
	}
	name := path.Base(rel)
	if rel == "." {
		name, err = goPackageName(filepath.Join(dir, "."))
		if err != nil {
			return "", err
		}
	}
	return pick(path.Join(rel, name+"_test.go"), path.Join(rel, name+"_handoff_test.go")), nil
}

// IsTestFile tells whether rel (slash-separated) is a test file of the
// language: Go *_test.go; Python test_*.py, *_test.py and conftest.py.
func IsTestFile(language, rel string) bool {
	base := path.Base(rel)
	switch language {
	case LanguageGo:
		return strings.HasSuffix(base, "_test.go")
	case LanguagePython:
		if !strings.HasSuffix(base, ".py") {
			return false
		}
		return base == "conftest.py" || strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py")
	}
	return false
}

// cleanModule makes module a clean slash-separated relative path.
func cleanModule(module string) (string, error) {
	if module == "" {
		return "", fmt.Errorf("%w: empty module path; give a .go file, a Go package directory or a .py file", ErrUnsupportedModule)
	}
	rel := path.Clean(filepath.ToSlash(module))
	if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: module %s is not inside the workspace; give a path relative to it", ErrUnsupportedModule, module)
	}
	return rel, nil
}

// goSourceFiles lists the non-test .go files of a directory.
func goSourceFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read module directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, n)
		}
	}
	return files, nil
}

// goPackageName reads the package clause of the first Go source file in dir.
func goPackageName(dir string) (string, error) {
	files, err := goSourceFiles(dir)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, f), nil, parser.PackageClauseOnly)
		if err == nil {
			return af.Name.Name, nil
		}
	}
	return "", fmt.Errorf("%w: no Go file in %s has a readable package clause", ErrUnsupportedModule, dir)
}

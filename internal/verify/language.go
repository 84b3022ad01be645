package verify

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/handoff-dev/handoff/internal/workspace"
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
// the workspace ws (os.DirFS of its root, or a stored tree). It reads
// directories' listings, never a file.
func Language(ws fs.FS, module string) (string, error) {
	rel, err := cleanModule(module)
	if err != nil {
		return "", err
	}
	fi, err := fs.Stat(ws, rel)
	if err != nil {
		return "", fmt.Errorf("module %s: %w; give a path relative to the workspace", module, errors.Unwrap(err))
	}
	switch {
	case fi.IsDir():
		files, err := goSourceFiles(ws, rel)
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			return "", fmt.Errorf("%w: directory %s has no Go source files; give a Go package directory, a .go file or a .py file", ErrUnsupportedModule, module)
		}
		return LanguageGo, nil
	}
	lang := FileLanguage(rel)
	switch {
	case lang == "":
		return "", fmt.Errorf("%w: %s; handoff supports Go (a .go file or a package directory) and Python (a .py file)", ErrUnsupportedModule, module)
	case IsTestFile(lang, rel):
		return "", fmt.Errorf("%w: %s is a test file; give the file or package the tests are for", ErrUnsupportedModule, module)
	}
	return lang, nil
}

// FileLanguage returns the language of a source file by its name (Go for
// .go, Python for .py), or "" for any other file. A test file has its
// language too; IsTestFile tells it apart.
func FileLanguage(name string) string {
	switch path.Ext(name) {
	case ".go":
		return LanguageGo
	case ".py":
		return LanguagePython
	}
	return ""
}

// IsGoSource tells whether name is a Go source file that is not a test:
// what makes a directory a Go package, and what its tests cover.
func IsGoSource(name string) bool {
	return FileLanguage(name) == LanguageGo && !IsTestFile(LanguageGo, name)
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
//
// Of the workspace ws it reads listings, and the package clause of one Go
// file for the root package.
func DefaultOutput(ws fs.FS, module string) (string, error) {
	lang, err := Language(ws, module)
	if err != nil {
		return "", err
	}
	rel, _ := cleanModule(module)
	exists := func(p string) bool {
		_, err := fs.Stat(ws, p)
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
		name, err = goPackageName(ws, ".")
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
	if FileLanguage(base) != language {
		return false
	}
	switch language {
	case LanguageGo:
		return strings.HasSuffix(base, "_test.go")
	case LanguagePython:
		return base == pytestConfig || strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py")
	}
	return false
}

// pytestConfig is pytest's per-directory configuration file: a test file
// by name, never a place for kept tests.
const pytestConfig = "conftest.py"

// CheckOutput tells whether output (slash-separated, relative to the
// workspace) may receive a module's kept tests, and if not, what is wrong
// and how to name it. It must be a test file name of the language, inside
// the workspace, outside git's and handoff's own directories (.git,
// .handoff), and not a test runner's configuration (conftest.py): kept
// tests replace the file, and a conftest.py changes how every test runs.
func CheckOutput(language, output string) error {
	rel := path.Clean(filepath.ToSlash(output))
	if output == "" || rel == "." || path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("output %q is not a file path inside the workspace; give one relative to it, like %s", output, exampleTestName(language))
	}
	for _, dir := range strings.Split(path.Dir(rel), "/") {
		owner := ""
		switch {
		case strings.EqualFold(dir, ".git"):
			owner = "git"
		case dir == workspace.StateDirName:
			owner = "handoff"
		}
		if owner != "" {
			return fmt.Errorf("output %s is inside %s, which belongs to %s, not to the code; name a test file like %s",
				output, dir, owner, exampleTestName(language))
		}
	}
	if language == LanguagePython && path.Base(rel) == pytestConfig {
		return fmt.Errorf("output %s is pytest's configuration file, not a test file; name it like %s", output, exampleTestName(language))
	}
	if !IsTestFile(language, rel) {
		return fmt.Errorf("output %s is not a %s test file name (Go: *_test.go; Python: test_*.py or *_test.py); name it like %s",
			output, language, exampleTestName(language))
	}
	return nil
}

func exampleTestName(language string) string {
	if language == LanguagePython {
		return "tests/test_x.py"
	}
	return "pkg/x_test.go"
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

// goSourceFiles lists the non-test .go files of a directory of ws.
func goSourceFiles(ws fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(ws, dir)
	if err != nil {
		return nil, fmt.Errorf("read module directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsGoSource(e.Name()) {
			files = append(files, e.Name())
		}
	}
	return files, nil
}

// goPackageName reads the package clause of the first Go source file in
// the directory dir of ws.
func goPackageName(ws fs.FS, dir string) (string, error) {
	files, err := goSourceFiles(ws, dir)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		src, err := fs.ReadFile(ws, path.Join(dir, f))
		if err != nil {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.PackageClauseOnly)
		if err == nil {
			return af.Name.Name, nil
		}
	}
	return "", fmt.Errorf("%w: no Go file in %s has a readable package clause", ErrUnsupportedModule, dir)
}

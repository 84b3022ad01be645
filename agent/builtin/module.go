package builtin

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// module is the Go package under test and the files whose coverage counts.
type module struct {
	taskDir string
	dir     string   // absolute package directory
	files   []string // absolute paths of the files whose functions are tested
	pkg     *packages.Package
	output  string // absolute path of the test file to write
}

// errNotGo is returned, wrapped with agent.ErrUnsupportedLanguage, for a
// module that is not Go.
var errNotGo = errors.New("the builtin agent writes Go tests only; choose the exec or openhands agent for other languages")

// resolveModule checks that the task names a Go module and works out its
// package directory, target files and output path, without loading types.
func resolveModule(t *agent.Task) (*module, error) {
	if t.Language != "" && t.Language != "go" {
		return nil, fmt.Errorf("%w: language %q: %w", agent.ErrUnsupportedLanguage, t.Language, errNotGo)
	}
	if t.Module == "" {
		return nil, errors.New("the task names no module; give a .go file or a package directory")
	}
	modPath, err := inside(t.Dir, t.Module)
	if err != nil {
		return nil, fmt.Errorf("module: %w", err)
	}
	st, err := os.Stat(modPath)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", t.Module, err)
	}
	m := &module{taskDir: t.Dir, dir: modPath}
	if !st.IsDir() {
		if !strings.HasSuffix(modPath, ".go") {
			return nil, fmt.Errorf("%w: module %s: %w", agent.ErrUnsupportedLanguage, t.Module, errNotGo)
		}
		if strings.HasSuffix(modPath, "_test.go") {
			return nil, fmt.Errorf("module %s is a test file; name the source file or its package directory", t.Module)
		}
		m.dir = filepath.Dir(modPath)
		m.files = []string{modPath}
	}
	out := t.Output
	if out == "" {
		stem := filepath.Base(m.dir)
		if len(m.files) == 1 {
			stem = strings.TrimSuffix(filepath.Base(m.files[0]), ".go")
		}
		out = filepath.Join(m.dir, stem+"_test.go")
	} else if out, err = inside(t.Dir, out); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		out = filepath.Join(out, "handoff_builtin_test.go")
	}
	if filepath.Dir(out) != m.dir || !strings.HasSuffix(out, "_test.go") {
		return nil, fmt.Errorf("output %s must be a _test.go file in the module's package directory %s, "+
			"because the generated tests call unexported code", t.Output, m.dir)
	}
	if b, err := os.ReadFile(out); err == nil && !strings.HasPrefix(string(b), fileHeader) {
		return nil, fmt.Errorf("output %s exists and was not written by the builtin agent; "+
			"name a new _test.go file so that its tests are not replaced", t.Output)
	}
	m.output = out
	return m, nil
}

// inside joins a slash path to dir and refuses paths that leave it.
func inside(dir, p string) (string, error) {
	abs := filepath.Join(dir, filepath.FromSlash(p))
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(p) {
		return "", fmt.Errorf("%s is outside the task directory", p)
	}
	return abs, nil
}

// goEnv is the environment of every go command the agent runs: never the
// network, never another toolchain.
func goEnv() []string {
	return []string{"GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "CGO_ENABLED=0"}
}

// load type-checks the package with go/packages.
func (m *module) load(ctx context.Context) error {
	cfg := &packages.Config{
		Context: ctx,
		Dir:     m.dir,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedSyntax | packages.NeedModule,
		Env: sandbox.ScrubbedEnv(goEnv()...),
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return fmt.Errorf("loading the package in %s: %w", m.dir, err)
	}
	if len(pkgs) != 1 {
		return fmt.Errorf("expected one package in %s, found %d", m.dir, len(pkgs))
	}
	p := pkgs[0]
	if len(p.Errors) > 0 {
		var msgs []string
		for i, e := range p.Errors {
			if i == 5 {
				msgs = append(msgs, "...")
				break
			}
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("the package in %s does not build; fix it before generating tests: %s", m.dir, strings.Join(msgs, "; "))
	}
	m.pkg = p
	if len(m.files) == 0 {
		m.files = append(m.files, p.GoFiles...)
	} else if !contains(p.GoFiles, m.files[0]) {
		return fmt.Errorf("%s is not part of the package built in %s (a build constraint excludes it?)", m.files[0], m.dir)
	}
	return nil
}

// syntaxTargetsFirst is the package's syntax with the files whose functions
// are tested first: what is mined from the source is capped, and the
// literals and comments of the file under test matter most to its cases.
func (m *module) syntaxTargetsFirst() []*ast.File {
	var first, rest []*ast.File
	for _, f := range m.pkg.Syntax {
		if contains(m.files, m.pkg.Fset.File(f.Pos()).Name()) {
			first = append(first, f)
		} else {
			rest = append(rest, f)
		}
	}
	return append(first, rest...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

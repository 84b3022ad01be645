package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// goBuildAllowance is added to the test timeout for go test's own work
// (compiling, linking); the test binary itself gets -timeout=TestTimeout.
const goBuildAllowance = 2 * time.Minute

// goToolchain verifies Go modules with go test.
type goToolchain struct {
	modRoot   string // absolute directory of go.mod
	pkgDir    string // module's package directory, relative to the task directory
	pkgImport string // its import path
	files     []goModuleFile
	kept      keptBinaries
	env       goEnvFacts // go env's answer; CacheDir empty when go env failed
}

func (g *goToolchain) language() string { return LanguageGo }

func (g *goToolchain) prepare(ctx context.Context, s *session) error {
	g.pkgDir = s.o.Module
	if strings.HasSuffix(s.o.Module, ".go") {
		g.pkgDir = path.Dir(s.o.Module)
	}
	root, err := findGoMod(s.o.Dir, s.abs(g.pkgDir))
	if err != nil {
		return err
	}
	g.modRoot = root
	if err := g.download(ctx, s); err != nil {
		return err
	}
	if err := g.goEnv(ctx, s); err != nil {
		return err
	}
	s.env = append(s.env, "GOPROXY=off", "TMPDIR="+s.scratch)
	if sandbox.BwrapAvailable() {
		// Under bubblewrap /tmp is a private tmpfs. The go command's work
		// directory (a folder per package, the test binary before -exec
		// keeps it) goes there instead of the scratch folder on disk:
		// with five verifications at once on two cores, their go test
		// took 1.2 s on disk and about 0.75 s in memory. Tests' own
		// temporary files stay in TMPDIR.
		s.env = append(s.env, "GOTMPDIR=/tmp")
	}
	return g.listPackage(ctx, s)
}

// goEnv makes the Go build cache writable in the sandbox and the Go
// installation, the module cache and go's configuration file readable: go
// env, asked once per process (goFacts).
func (g *goToolchain) goEnv(ctx context.Context, s *session) error {
	if p, err := exec.LookPath("go"); err == nil {
		s.readOnly = append(s.readOnly, filepath.Dir(p)) // the go found in PATH, wherever it is
	}
	key := goEnvKey(s.env)
	if f, ok := goFacts.envFacts(key); ok {
		s.logf("# GOCACHE=%s (go env answered it before in this process)", f.CacheDir)
		g.useEnv(s, f)
		return nil
	}
	r, err := s.exec(ctx, command{Args: []string{"go", "env", "-json", "GOCACHE", "GOENV", "GOROOT", "GOMODCACHE"}, Dir: g.modRoot, Timeout: time.Minute, Trusted: true})
	if err != nil {
		return err
	}
	var f goEnvFacts
	if r.Exit != 0 || json.Unmarshal(r.Stdout, &f) != nil || !filepath.IsAbs(f.CacheDir) {
		return nil // go test will say what is wrong
	}
	f.config = readOptional(f.ConfigFile)
	g.useEnv(s, f)
	goFacts.putEnvFacts(key, f)
	return nil
}

func (g *goToolchain) useEnv(s *session, f goEnvFacts) {
	g.env = f
	s.writable = append(s.writable, f.CacheDir)
	s.readOnly = append(s.readOnly, f.Root, f.ModCache, f.ConfigFile)
}

// download fetches the module's requirements outside the sandbox, where
// there is network; test runs are offline.
func (g *goToolchain) download(ctx context.Context, s *session) error {
	mod, err := os.ReadFile(filepath.Join(g.modRoot, "go.mod"))
	if err != nil {
		return fmt.Errorf("read go.mod: %w", err)
	}
	if !regexp.MustCompile(`(?m)^\s*require\b`).Match(mod) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(g.modRoot, "vendor", "modules.txt")); err == nil {
		return nil
	}
	r, err := s.exec(ctx, command{Args: []string{"go", "mod", "download"}, Dir: g.modRoot, Timeout: 10 * time.Minute, Trusted: true})
	if err != nil {
		return err
	}
	if r.Exit != 0 {
		return fmt.Errorf("%w: go mod download failed (tests run offline, so every requirement must be downloadable beforehand; vendor the module or fix go.mod): %s",
			ErrToolchain, excerpt(string(r.Stderr)))
	}
	return nil
}

// listPackage learns the module's package: import path and files, from go
// list or, when nothing it reads has changed, from the go list of an
// earlier call in this process (goFacts).
func (g *goToolchain) listPackage(ctx context.Context, s *session) error {
	pattern := g.pattern(s, g.pkgDir)
	key := ""
	if g.env.CacheDir != "" {
		key = goPackageKey(s.env, g.env, g.modRoot, pattern, s.abs(g.pkgDir))
	}
	p, ok := goFacts.packageFacts(key)
	if ok {
		s.logf("# go list %s: unchanged since an earlier call in this process (%s)", pattern, p.importPath)
	} else {
		var err error
		if p, err = g.goList(ctx, s, pattern); err != nil {
			return err
		}
		if key != "" && key == goPackageKey(s.env, g.env, g.modRoot, pattern, s.abs(g.pkgDir)) {
			goFacts.putPackageFacts(key, p) // nothing changed while go list read
		}
	}
	g.pkgImport = p.importPath
	sources := append([]string(nil), p.sources...)
	if strings.HasSuffix(s.o.Module, ".go") {
		base := path.Base(s.o.Module)
		found := false
		for _, f := range sources {
			found = found || f == base
		}
		if !found {
			return fmt.Errorf("%w: %s is not built on this platform (build constraints exclude it); give a file that is built", ErrUnsupportedModule, s.o.Module)
		}
		sources = []string{base}
	}
	g.files = nil
	for _, f := range sources {
		g.files = append(g.files, goModuleFile{ProfileName: g.pkgImport + "/" + f, Rel: path.Join(g.pkgDir, f)})
	}
	return loadGoModuleFiles(s.o.Dir, g.files)
}

// goList asks go list for a package's import path and files.
func (g *goToolchain) goList(ctx context.Context, s *session, pattern string) (goPackageFacts, error) {
	r, err := s.exec(ctx, command{Args: []string{"go", "list", "-e", "-json", pattern}, Dir: g.modRoot, Timeout: 2 * time.Minute, Trusted: true})
	if err != nil {
		return goPackageFacts{}, err
	}
	var p struct {
		ImportPath string
		GoFiles    []string
		CgoFiles   []string
	}
	if err := json.Unmarshal(r.Stdout, &p); err != nil {
		return goPackageFacts{}, fmt.Errorf("%w: go list %s: %v: %s", ErrToolchain, g.pkgDir, err, excerpt(string(r.Stderr)))
	}
	if p.ImportPath == "" {
		return goPackageFacts{}, fmt.Errorf("%w: go list found no package in %s: %s", ErrToolchain, g.pkgDir, excerpt(string(r.Stderr)))
	}
	return goPackageFacts{importPath: p.ImportPath, sources: append(p.GoFiles, p.CgoFiles...)}, nil
}

// findGoMod walks up from dir to the task directory looking for go.mod.
func findGoMod(taskDir, dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == taskDir || !strings.HasPrefix(d, taskDir) || d == filepath.Dir(d) {
			return "", fmt.Errorf("%w: no go.mod between %s and the workspace root; handoff verifies Go code in modules (run go mod init)", ErrUnsupportedModule, dir)
		}
	}
}

// pattern is the go package pattern of a directory relative to the task
// directory, as seen from the module root.
func (g *goToolchain) pattern(s *session, rel string) string {
	r, err := filepath.Rel(g.modRoot, s.abs(rel))
	if err != nil || r == "." {
		return "."
	}
	return "./" + filepath.ToSlash(r)
}

func (g *goToolchain) scope(o Options, changed []string) []string {
	dirs := []string{g.pkgDir}
	seen := map[string]bool{g.pkgDir: true}
	for _, c := range append([]string{o.Output}, changed...) {
		d := path.Dir(c)
		if seen[d] || !hasGoFiles(filepath.Join(o.Dir, filepath.FromSlash(d))) {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	return dirs
}

// coverFlags measures the module's package from tests in dirs. When the
// only directory is the package's own, -cover says the same as -coverpkg
// and spares a second, non-test build of the package (about a sixth of a
// verification's CPU on a small package).
func (g *goToolchain) coverFlags(dirs ...string) []string {
	if len(dirs) == 1 && dirs[0] == g.pkgDir {
		return []string{"-covermode=set", "-cover"}
	}
	return []string{"-covermode=set", "-coverpkg=" + g.pkgImport}
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

func (g *goToolchain) suite(ctx context.Context, s *session, sel selection) (*suiteResult, error) {
	if bins := g.kept.current(s); bins != nil {
		return g.binarySuite(ctx, s, sel, bins)
	}
	prof := s.scratchPath("cover-%d.out")
	args := append([]string{"go", "test", "-count=1", "-json", "-timeout=" + s.o.TestTimeout.String()},
		g.coverFlags(s.scope...)...)
	args = append(args, "-coverprofile="+prof)
	if len(sel.Skip) > 0 {
		args = append(args, "-skip="+anchoredAlternation(sel.Skip))
	}
	if sel.Seed != 0 {
		args = append(args, "-shuffle="+strconv.FormatInt(sel.Seed, 10))
	}
	keep, err := g.kept.prepare(s)
	if err != nil {
		return nil, err
	}
	args = append(args, keep.args...)
	for _, d := range s.scope {
		args = append(args, g.pattern(s, d))
	}
	s.runs++
	r, err := s.exec(ctx, command{Args: args, Dir: g.modRoot, Env: keep.env, Timeout: s.o.TestTimeout + goBuildAllowance})
	if err != nil {
		return nil, err
	}
	res, transcript := parseGoTestJSON(r.Stdout, g.modRoot, s.o.Dir, r.TimedOut)
	s.logText(transcript)
	s.logText(string(r.Stderr))
	if len(r.Stderr) > 0 && !res.BuildFailed && len(res.Tests) == 0 && r.Exit != 0 {
		// go itself failed before building (a bad flag, a broken go.mod).
		res.BuildFailed = true
		res.BuildOutput = string(r.Stderr)
		res.Build = parseGoIssues(res.BuildOutput, g.modRoot, s.o.Dir)
	}
	if !res.BuildFailed {
		g.kept.collect(s, keep)
	}
	return res, g.coverage(res, prof)
}

// coverage reads a run's profile into res; a missing profile (the build
// failed) means nothing is covered.
func (g *goToolchain) coverage(res *suiteResult, profiles ...string) error {
	var data []byte
	for _, p := range profiles {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if len(data) > 0 {
			// Several profiles: keep the first mode line only.
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		data = append(data, b...)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("mode: set\n")
	}
	var err error
	res.Coverage, err = goCoverage(data, g.files)
	return err
}

// perTest builds the test binary of each directory holding the tests once,
// then runs it once per test with a coverage profile of its own.
func (g *goToolchain) perTest(ctx context.Context, s *session, _ *suiteResult, names []string) (map[string]unitSet, map[string]string, error) {
	units := map[string]unitSet{}
	failed := map[string]string{}
	byDir := map[string][]string{}
	var dirs []string
	for _, n := range names {
		d := path.Dir(s.testFile[n])
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], n)
	}
	for _, d := range dirs {
		bin, err := g.testBinary(ctx, s, d)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range byDir[d] {
			prof := s.scratchPath("test-%d.out")
			s.runs++
			r, err := s.exec(ctx, command{
				Args: []string{bin, "-test.run=" + anchoredAlternation([]string{n}), "-test.count=1", "-test.v",
					"-test.timeout=" + s.o.TestTimeout.String(), "-test.paniconexit0", "-test.coverprofile=" + prof},
				Dir:     s.abs(d),
				Timeout: s.o.TestTimeout + time.Minute,
			})
			if err != nil {
				return nil, nil, err
			}
			out := string(r.Stdout) + string(r.Stderr)
			// A -run that matches nothing exits 0 too: only "--- PASS: name" counts.
			if r.Exit != 0 || !strings.Contains(out, "--- PASS: "+n+" (") {
				s.logText(out)
				failed[n] = out
				continue
			}
			data, err := os.ReadFile(prof)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %s wrote no coverage profile: %v", ErrToolchain, n, err)
			}
			u, err := goUnits(data, g.files)
			if err != nil {
				return nil, nil, err
			}
			units[n] = u
		}
	}
	return units, failed, nil
}

// testBinary returns the test binary of a directory: the one the latest
// run kept when the files are the same, else a fresh go test -c.
func (g *goToolchain) testBinary(ctx context.Context, s *session, dir string) (string, error) {
	if bin, ok := g.kept.current(s)[s.abs(dir)]; ok {
		return bin, nil
	}
	bin := s.scratchPath("pkg-%d.test")
	r, err := s.exec(ctx, command{
		Args:    append(append([]string{"go", "test", "-c", "-o", bin}, g.coverFlags(dir)...), g.pattern(s, dir)),
		Dir:     g.modRoot,
		Timeout: s.o.TestTimeout + goBuildAllowance,
	})
	if err != nil {
		return "", err
	}
	if r.Exit != 0 {
		s.logText(string(r.Stderr))
		return "", fmt.Errorf("%w: building the test binary of %s failed after its tests passed: %s", ErrToolchain, dir, excerpt(string(r.Stderr)))
	}
	return bin, nil
}

func (g *goToolchain) parse(_ context.Context, _ *session, rel string, src []byte) ([]testFunc, error) {
	return parseGoTests(rel, src)
}

func (g *goToolchain) remove(_ context.Context, _ *session, rel string, src []byte, names []string) ([]byte, error) {
	return removeGoTests(rel, src, names)
}

// anchoredAlternation is a -run/-skip pattern matching exactly the names.
func anchoredAlternation(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

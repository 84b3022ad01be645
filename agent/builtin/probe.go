package builtin

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// runtimeFS holds the probe's run-time sources, compiled into the package
// under test.
//
//go:embed internal/proberuntime/*.go
var runtimeFS embed.FS

// probeTest is the name of the probe's test function.
const probeTest = "TestHandoffProbe"

// probe is a test binary of the package under test, with its files
// instrumented for statement coverage and the probe run-time added through
// a build overlay: the package's own files are never touched.
type probe struct {
	m           *module
	dir         string // scratch directory inside the task directory
	bin         string
	gocache     string
	callTimeout time.Duration
	log         io.Writer

	weights []int   // statements per coverage block, blocks of all files in order
	where   []block // where each block is
	total   int     // statements in the module

	runs        int    // probe processes started
	containment string // how they were contained
	buildTime   time.Duration
}

// newProbe instruments the module, writes the probe sources and builds the
// test binary.
//
// mutated holds the code mutants' schemata (see schemata) to build in place
// of the files they name; their lines are the files' own, so coverage
// blocks name the lines of the files as written.
func newProbe(ctx context.Context, m *module, gen, gocache string, callTimeout time.Duration, log io.Writer,
	mutated map[string][]byte) (*probe, error) {
	dir, err := os.MkdirTemp(m.taskDir, ".handoff-builtin-")
	if err != nil {
		return nil, fmt.Errorf("creating the probe's scratch directory: %w", err)
	}
	p := &probe{m: m, dir: dir, bin: filepath.Join(dir, "probe.test"), gocache: gocache, callTimeout: callTimeout, log: log}
	if err := p.checkNames(); err != nil {
		p.close()
		return nil, err
	}
	start := time.Now()
	replace := map[string]string{}
	for i, f := range m.files {
		out := filepath.Join(dir, "cover"+strconv.Itoa(i)+".go")
		in := f
		if src, ok := mutated[f]; ok {
			in = filepath.Join(dir, "mutant"+strconv.Itoa(i)+".go")
			if err := os.WriteFile(in, src, 0o644); err != nil {
				p.close()
				return nil, err
			}
		}
		if err := p.instrument(ctx, in, f, coverVar(i), out); err != nil {
			p.close()
			return nil, err
		}
		replace[f] = out
	}
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		p.close()
		return nil, err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.go") {
			replace[filepath.Join(m.dir, e.Name())] = "" // hidden from the probe build
		}
	}
	genFile := filepath.Join(dir, "probe_gen.go")
	if err := os.WriteFile(genFile, []byte(gen), 0o644); err != nil {
		p.close()
		return nil, err
	}
	replace[filepath.Join(m.dir, "zz_handoff_probe_test.go")] = genFile
	rt, err := runtimeSources()
	if err != nil {
		p.close()
		return nil, err
	}
	for name, src := range rt {
		path := filepath.Join(dir, "rt_"+name)
		src = strings.Replace(src, "package proberuntime", "package "+m.pkg.Name, 1)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			p.close()
			return nil, err
		}
		replace[filepath.Join(m.dir, "zz_handoff_rt_"+strings.TrimSuffix(name, ".go")+"_test.go")] = path
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := writeOverlay(overlay, replace); err != nil {
		p.close()
		return nil, err
	}
	var out bytes.Buffer
	res, err := sandbox.Run(ctx, sandbox.Cmd{
		Args:     []string{"go", "test", "-c", "-o", p.bin, "-overlay", overlay, "."},
		Dir:      m.dir,
		Env:      goEnv(),
		Stdout:   &out,
		Stderr:   &out,
		Isolate:  true,
		Writable: []string{m.taskDir, gocache, dir},
	})
	p.buildTime = time.Since(start)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("building the probe failed (exit %d); this is a bug in the builtin agent or a package it cannot compile: %s",
			res.ExitCode, tail(out.String(), 1500))
	}
	if err != nil {
		p.close()
		return nil, err
	}
	p.containment = res.Containment
	fmt.Fprintf(log, "probe: built in %s (%s); %d statements in %d coverage blocks, %d files with code mutants\n",
		p.buildTime.Round(time.Millisecond), res.Containment, p.total, len(p.weights), len(mutated))
	return p, nil
}

// block is where a coverage block starts and ends.
type block struct {
	file               string
	startLine, endLine int
}

func coverVar(i int) string { return "hpCov" + strconv.Itoa(i) }

// close removes the scratch directory.
func (p *probe) close() {
	_ = os.RemoveAll(p.dir)
}

// checkNames refuses a package that declares a name the probe adds.
func (p *probe) checkNames() error {
	scope := p.m.pkg.Types.Scope()
	for _, n := range scope.Names() {
		if strings.HasPrefix(n, "hp") || strings.HasPrefix(n, "Hp") || n == probeTest {
			return fmt.Errorf("the package declares %s; the builtin agent's probe needs the names starting with hp/Hp and %s", n, probeTest)
		}
	}
	return nil
}

// instrument runs go tool cover on one file, the source of the module's
// file orig, and reads the statement count of each of its blocks.
func (p *probe) instrument(ctx context.Context, file, orig, varName, out string) error {
	var msg bytes.Buffer
	res, err := sandbox.Run(ctx, sandbox.Cmd{
		Args:   []string{"go", "tool", "cover", "-mode=set", "-var=" + varName, "-o", out, file},
		Dir:    p.m.dir,
		Env:    goEnv(),
		Stderr: &msg,
	})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("go tool cover: %s", strings.TrimSpace(msg.String()))
	}
	if err != nil {
		return fmt.Errorf("instrumenting %s: %w", file, err)
	}
	counts, pos, err := coverTables(out, varName)
	if err != nil {
		return fmt.Errorf("instrumenting %s: %w", file, err)
	}
	if len(pos) != 3*len(counts) {
		return fmt.Errorf("instrumenting %s: %d positions for %d blocks", file, len(pos), len(counts))
	}
	for i, n := range counts {
		p.weights = append(p.weights, n)
		p.where = append(p.where, block{file: orig, startLine: pos[3*i], endLine: pos[3*i+1]})
		p.total += n
	}
	return nil
}

// coverTables reads the NumStmt and Pos arrays go tool cover writes into
// its variable: statements per block, and start line, end line and packed
// columns per block.
func coverTables(file, varName string) (counts, pos []int, err error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Names) != 1 || vs.Names[0].Name != varName || len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				continue
			}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				arr, ok := kv.Value.(*ast.CompositeLit)
				if !ok {
					continue
				}
				var out []int
				for _, x := range arr.Elts {
					bl, ok := x.(*ast.BasicLit)
					if !ok {
						return nil, nil, fmt.Errorf("unexpected coverage table entry")
					}
					n, err := strconv.ParseInt(bl.Value, 0, 64)
					if err != nil {
						return nil, nil, err
					}
					out = append(out, int(n))
				}
				switch fmt.Sprint(kv.Key) {
				case "NumStmt":
					counts = out
				case "Pos":
					pos = out
				}
			}
			return counts, pos, nil // both empty for a file with no statements
		}
	}
	return nil, nil, fmt.Errorf("no coverage variable %s in the instrumented file", varName)
}

// probeSource writes the probe's generated file: the tables of functions,
// types and counters, and the test that hands them to the run-time.
func probeSource(m *module, tt *typeTable, ft *funcTable) string {
	im := newImports(m.pkg.Types, true)
	// The probe's own imports first, so types of these packages use them.
	im.byPath["reflect"] = "hpreflect"
	im.byPath["testing"] = "hptesting"
	var funcs, typs, counters []string
	for _, f := range ft.list {
		if f.pkg == nil {
			funcs = append(funcs, f.expr)
		} else {
			funcs = append(funcs, im.qualify(f.pkg.Path(), f.pkg.Name(), f.expr))
		}
	}
	for _, t := range tt.list {
		typs = append(typs, "hpreflect.TypeOf((*"+im.typeString(t)+")(nil)).Elem()")
	}
	for i := range m.files {
		counters = append(counters, coverVar(i)+".Count[:]")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by the handoff builtin agent's probe. DO NOT EDIT.\n\npackage %s\n\n", m.pkg.Name)
	b.WriteString(im.block())
	fmt.Fprintf(&b, "\nfunc %s(t *hptesting.T) {\n\tHpMain(HpConfig{\n", probeTest)
	fmt.Fprintf(&b, "\t\tPkgPath: %q,\n", m.pkg.PkgPath)
	fmt.Fprintf(&b, "\t\tFuncs: []interface{}{\n%s\t\t},\n", lines(funcs))
	fmt.Fprintf(&b, "\t\tTypes: []hpreflect.Type{\n%s\t\t},\n", lines(typs))
	fmt.Fprintf(&b, "\t\tCounters: [][]uint32{\n%s\t\t},\n", lines(counters))
	b.WriteString("\t})\n}\n")
	return b.String()
}

func lines(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString("\t\t\t" + it + ",\n")
	}
	return b.String()
}

// runtimeSources returns the run-time's non-test files by name.
func runtimeSources() (map[string]string, error) {
	entries, err := runtimeFS.ReadDir("internal/proberuntime")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.go") || e.Name() == "doc.go" {
			continue
		}
		b, err := runtimeFS.ReadFile("internal/proberuntime/" + e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}

// writeOverlay writes a go build -overlay file.
func writeOverlay(path string, replace map[string]string) error {
	b, err := json.Marshal(struct{ Replace map[string]string }{replace})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// tail returns the end of s, at most n bytes.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

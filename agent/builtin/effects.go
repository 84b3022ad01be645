package builtin

import (
	"go/ast"
	"go/types"
	"sort"
)

// Packages whose functions touch the world outside the process: files, the
// network, other processes, the environment.
var ioPackages = map[string]bool{
	"os": true, "os/exec": true, "os/signal": true, "os/user": true, "io/ioutil": true,
	"net": true, "net/http": true, "net/rpc": true, "net/smtp": true, "syscall": true,
	"database/sql": true, "plugin": true, "log/syslog": true, "runtime/debug": true,
}

// Pure members of those packages.
var ioAllowed = map[string]bool{
	"os.IsExist": true, "os.IsNotExist": true, "os.IsPermission": true, "os.IsTimeout": true,
	"os.ErrNotExist": true, "os.ErrExist": true, "os.ErrPermission": true, "os.ErrInvalid": true,
	"os.ErrClosed": true, "os.ErrDeadlineExceeded": true, "os.ErrProcessDone": true,
	"net.ParseIP": true, "net.ParseCIDR": true, "net.IPv4": true, "net.IPv4Mask": true, "net.CIDRMask": true,
	"net.JoinHostPort": true, "net.SplitHostPort": true, "net.ParseMAC": true,
	"net/http.StatusText": true, "net/http.CanonicalHeaderKey": true, "net/http.DetectContentType": true,
}

// Calls that wait on the clock or end the process.
var ioFuncs = map[string]bool{
	"time.Sleep": true, "time.After": true, "time.Tick": true, "time.NewTimer": true, "time.NewTicker": true,
	"time.AfterFunc": true, "log.Fatal": true, "log.Fatalf": true, "log.Fatalln": true,
}

// effects finds, for every function of the package, the first call it makes,
// directly or through other functions of the package, to something that
// performs I/O, waits on the clock or exits.
type effects struct {
	direct map[types.Object]string
	calls  map[types.Object][]types.Object
	memo   map[types.Object]string
}

func newEffects(pkg *types.Package, files []*ast.File, info *types.Info) *effects {
	e := &effects{direct: map[types.Object]string{}, calls: map[types.Object][]types.Object{}, memo: map[types.Object]string{}}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			self := info.Defs[fd.Name]
			if self == nil {
				continue
			}
			var found []string
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				obj := info.Uses[id]
				if obj == nil || obj.Pkg() == nil {
					return true
				}
				if obj.Pkg() == pkg {
					if fn, ok := obj.(*types.Func); ok {
						e.calls[self] = append(e.calls[self], fn.Origin())
					}
					return true
				}
				if name := worldly(obj); name != "" {
					found = append(found, name)
				}
				return true
			})
			if len(found) > 0 {
				sort.Strings(found)
				e.direct[self] = found[0]
			}
		}
	}
	return e
}

// worldly names obj when it belongs to the outside world, else "".
func worldly(obj types.Object) string {
	switch obj.(type) {
	case *types.Func, *types.Var:
	default:
		return ""
	}
	if v, ok := obj.(*types.Var); ok && (v.IsField() || v.Parent() != v.Pkg().Scope()) {
		return ""
	}
	name := obj.Pkg().Path() + "." + obj.Name()
	if fn, ok := obj.(*types.Func); ok {
		if recv := fn.Signature().Recv(); recv != nil {
			name = obj.Pkg().Path() + "." + recvName(recv.Type()) + "." + obj.Name()
		}
	}
	if ioFuncs[name] {
		return name
	}
	if ioPackages[obj.Pkg().Path()] && !ioAllowed[name] {
		return name
	}
	return ""
}

func recvName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return t.String()
}

// reason says why fn cannot be probed safely, or "" when it can.
func (e *effects) reason(fn types.Object) string {
	return e.visit(fn, map[types.Object]bool{})
}

func (e *effects) visit(fn types.Object, onPath map[types.Object]bool) string {
	if r, ok := e.memo[fn]; ok {
		return r
	}
	if onPath[fn] {
		return ""
	}
	onPath[fn] = true
	defer delete(onPath, fn)
	r := e.direct[fn]
	if r != "" {
		r = "calls " + r
	} else {
		for _, callee := range e.calls[fn] {
			if sub := e.visit(callee, onPath); sub != "" {
				r = sub
				if callee.Name() != fn.Name() {
					r += " (through " + callee.Name() + ")"
				}
				break
			}
		}
	}
	e.memo[fn] = r
	return r
}

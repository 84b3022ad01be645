package builtin

import (
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// imports records the packages a generated file refers to and how it names
// them. In the probe every import gets an "hpimp" alias, so no name can
// clash with the package under test; in the test file packages keep their
// own names.
type imports struct {
	self   *types.Package
	alias  bool
	byPath map[string]string
}

func newImports(self *types.Package, alias bool) *imports {
	return &imports{self: self, alias: alias, byPath: map[string]string{}}
}

// name returns how the file refers to the package path whose own name is
// pkgName, recording the import.
func (im *imports) name(path, pkgName string) string {
	if im.self != nil && path == im.self.Path() {
		return ""
	}
	if n, ok := im.byPath[path]; ok {
		return n
	}
	n := pkgName
	if im.alias {
		n = "hpimp" + strconv.Itoa(len(im.byPath))
	}
	im.byPath[path] = n
	return n
}

// qualifier is a types.Qualifier that records imports.
func (im *imports) qualifier(p *types.Package) string {
	return im.name(p.Path(), p.Name())
}

// typeString writes t as the file must.
func (im *imports) typeString(t types.Type) string {
	return types.TypeString(t, im.qualifier)
}

// qualify writes a package member, e.g. errors.New.
func (im *imports) qualify(path, pkgName, member string) string {
	if n := im.name(path, pkgName); n != "" {
		return n + "." + member
	}
	return member
}

// merge records imports found by the probe's renderer (path → name).
func (im *imports) merge(m map[string]string) {
	for path, name := range m {
		im.name(path, name)
	}
}

// block writes the import declaration, standard library first.
func (im *imports) block() string {
	if len(im.byPath) == 0 {
		return ""
	}
	var std, other []string
	for path, name := range im.byPath {
		line := strconv.Quote(path)
		if im.alias || name != lastElem(path) {
			line = name + " " + line
		}
		if strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
			other = append(other, line)
		} else {
			std = append(std, line)
		}
	}
	sort.Slice(std, func(i, j int) bool { return unquoted(std[i]) < unquoted(std[j]) })
	sort.Slice(other, func(i, j int) bool { return unquoted(other[i]) < unquoted(other[j]) })
	var b strings.Builder
	b.WriteString("import (\n")
	for _, l := range std {
		b.WriteString("\t" + l + "\n")
	}
	if len(std) > 0 && len(other) > 0 {
		b.WriteString("\n")
	}
	for _, l := range other {
		b.WriteString("\t" + l + "\n")
	}
	b.WriteString(")\n")
	return b.String()
}

func lastElem(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}

// unquoted returns the import path of an import line, for sorting.
func unquoted(line string) string {
	return line[strings.Index(line, `"`):]
}

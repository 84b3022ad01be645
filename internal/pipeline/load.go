package pipeline

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	topKeys      = []string{"name", "agent", "concurrency", "env", "stages"}
	stageKeys    = []string{"needs", "run", "generate", "collect", "env", "timeout", "continue-on-error", "working-directory", "require"}
	generateKeys = []string{"modules", "coverage", "agent", "model", "output"}
	stageName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	yamlLine     = regexp.MustCompile(`line (\d+)`)
)

// Load reads and validates the pipeline file at path. Every problem is
// reported at once, each with file:line and how to fix it; the error then
// matches ErrInvalid. Nothing runs.
func Load(file string) (*Pipeline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading pipeline file: %w", err)
	}
	return Parse(file, data)
}

// Parse validates a pipeline given as YAML; file names it in messages.
func Parse(file string, data []byte) (*Pipeline, error) {
	ps := &problems{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		ps.add(line, 0, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, ps.err()
	}
	if len(doc.Content) == 0 {
		ps.add(0, 0, "the file is empty; a pipeline needs at least a stages: mapping")
		return nil, ps.err()
	}
	p := &Pipeline{File: file, Env: map[string]string{}}
	d := &decoder{ps: ps}
	root := resolve(doc.Content[0])
	var stagesNode *yaml.Node
	for _, f := range d.fields(root, "pipeline", topKeys) {
		switch f.key {
		case "name":
			p.Name = d.str(f, "pipeline")
		case "agent":
			p.Agent = d.str(f, "pipeline")
		case "concurrency":
			s := d.str(f, "pipeline")
			n, err := strconv.Atoi(s)
			if s != "" && (err != nil || n < 1) {
				ps.add(f.value.Line, f.value.Column, "pipeline: concurrency must be a whole number of tasks, at least 1, not %q", s)
			}
			p.Concurrency = n
		case "env":
			p.Env = d.env(f, "pipeline")
		case "stages":
			stagesNode = f.value
		}
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if stagesNode == nil {
		if root.Kind == yaml.MappingNode && len(ps.list) == 0 {
			ps.add(root.Line, 0, "no stages: mapping; add one with at least one stage, for example\n  stages:\n    test:\n      run: go test ./...")
		}
		return nil, ps.err()
	}
	for _, f := range d.fields(stagesNode, "stages", nil) {
		if s := d.stage(f); s != nil {
			p.Stages = append(p.Stages, s)
		}
	}
	if len(p.Stages) == 0 && len(ps.list) == 0 {
		ps.add(stagesNode.Line, stagesNode.Column, "stages: is empty; add at least one stage")
	}
	checkGraph(p, ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func (d *decoder) stage(f field) *Stage {
	s := &Stage{Name: f.key, Line: f.kNode.Line}
	where := fmt.Sprintf("stage %q", s.Name)
	if !stageName.MatchString(s.Name) {
		d.ps.add(f.kNode.Line, f.kNode.Column, "%s: a stage name has letters, digits, '.', '_' and '-' only, and starts with a letter or digit", where)
	}
	fs := d.fields(f.value, where, stageKeys)
	byKey := map[string]field{}
	var kinds []string
	for _, x := range fs {
		byKey[x.key] = x
		if x.key == "run" || x.key == "generate" || x.key == "collect" {
			kinds = append(kinds, x.key)
		}
	}
	switch len(kinds) {
	case 0:
		if fv := resolve(f.value); fv.Kind == yaml.MappingNode {
			d.ps.add(s.Line, 0, "%s does nothing: give it one of run: (a shell command), generate: (modules to write tests for) or collect: (generate stages to wait for)", where)
		}
		return nil
	case 1:
		s.Kind = Kind(kinds[0])
	default:
		x := byKey[kinds[1]]
		d.ps.add(x.kNode.Line, x.kNode.Column, "%s has both %s: and %s:; a stage does one thing, so split it into two stages joined by needs:", where, kinds[0], kinds[1])
		return nil
	}
	onlyFor := map[string][]Kind{
		"env": {KindRun}, "continue-on-error": {KindRun}, "working-directory": {KindRun},
		"timeout": {KindRun, KindCollect}, "require": {KindCollect},
	}
	for _, x := range fs {
		kinds, limited := onlyFor[x.key]
		if !limited || containsKind(kinds, s.Kind) {
			continue
		}
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k) + ":"
		}
		d.ps.add(x.kNode.Line, x.kNode.Column, "%s: %s: applies to %s stages only, and this is a %s stage; remove it",
			where, x.key, strings.Join(names, " and "), s.Kind)
	}
	if x, ok := byKey["needs"]; ok {
		s.Needs = d.strList(x, where)
		s.needsLine = x.kNode.Line
	}
	switch s.Kind {
	case KindRun:
		s.Run = d.runSpec(byKey, where)
	case KindGenerate:
		s.Generate = d.generateSpec(byKey["generate"], where)
	case KindCollect:
		s.Collect = d.collectSpec(byKey, where)
	}
	return s
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func (d *decoder) runSpec(byKey map[string]field, where string) *RunSpec {
	r := &RunSpec{Command: d.str(byKey["run"], where)}
	if strings.TrimSpace(r.Command) == "" && byKey["run"].value.Kind == yaml.ScalarNode {
		d.ps.add(byKey["run"].value.Line, byKey["run"].value.Column, "%s: run: is empty; give the shell command to run", where)
	}
	if x, ok := byKey["env"]; ok {
		r.Env = d.env(x, where)
	}
	if x, ok := byKey["timeout"]; ok {
		r.Timeout = d.duration(x, where)
	}
	if x, ok := byKey["continue-on-error"]; ok {
		r.ContinueOnError = d.boolean(x, where)
	}
	if x, ok := byKey["working-directory"]; ok {
		r.WorkingDirectory = d.str(x, where)
		if r.WorkingDirectory != "" && !insideRelative(r.WorkingDirectory) {
			d.ps.add(x.value.Line, x.value.Column, "%s: working-directory %q must be a relative path inside the workspace", where, r.WorkingDirectory)
		}
	}
	return r
}

func (d *decoder) generateSpec(f field, where string) *GenerateSpec {
	g := &GenerateSpec{ModulesLine: f.kNode.Line}
	for _, x := range d.fields(f.value, where+": generate", generateKeys) {
		switch x.key {
		case "modules":
			g.ModulesLine = x.kNode.Line
			g.Modules = d.strList(x, where)
			for _, m := range g.Modules {
				if !insideRelative(m) {
					d.ps.add(x.value.Line, x.value.Column, "%s: module %q must be a relative path or glob inside the workspace (no leading / and no ..)", where, m)
				} else if _, err := path.Match(m, ""); err != nil {
					d.ps.add(x.value.Line, x.value.Column, "%s: module pattern %q is malformed: %v", where, m, err)
				}
			}
		case "coverage":
			g.Coverage = d.percent(x, where)
		case "agent":
			g.Agent = d.str(x, where)
		case "model":
			g.Model = d.str(x, where)
		case "output":
			g.Output = d.str(x, where)
			if err := checkOutputPattern(g.Output); err != nil {
				d.ps.add(x.value.Line, x.value.Column, "%s: output %q: %v", where, g.Output, err)
			}
		}
	}
	if len(g.Modules) == 0 && resolve(f.value).Kind == yaml.MappingNode {
		d.ps.add(f.kNode.Line, f.kNode.Column, "%s: generate: needs modules:, the files or packages to write tests for (paths or globs such as \"pkg/*.go\")", where)
	}
	return g
}

func (d *decoder) collectSpec(byKey map[string]field, where string) *CollectSpec {
	c := &CollectSpec{Require: RequireAll}
	x := byKey["collect"]
	c.line = x.kNode.Line
	c.From = d.strList(x, where)
	if len(c.From) == 0 && (x.value.Kind == yaml.SequenceNode || x.value.Tag == "!!null") {
		d.ps.add(x.kNode.Line, x.kNode.Column, "%s: collect: names no stage; list the generate stages whose tasks it waits for", where)
	}
	if t, ok := byKey["timeout"]; ok {
		c.Timeout = d.duration(t, where)
	}
	if r, ok := byKey["require"]; ok {
		v := Require(d.str(r, where))
		switch v {
		case RequireAll, RequireAny, RequireNone:
			c.Require = v
		default:
			if v != "" {
				d.ps.add(r.value.Line, r.value.Column, "%s: require: must be all, any or none (how many collected tasks must succeed), not %q", where, v)
			}
		}
	}
	return c
}

// insideRelative reports whether p is relative and does not climb out.
func insideRelative(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || filepath.IsAbs(p) {
		return false
	}
	for _, seg := range strings.Split(filepath.ToSlash(p), "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

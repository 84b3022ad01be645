package pipeline

import (
	"fmt"
	"strings"
)

// checkGraph checks what needs the whole file: needs and collects naming
// stages that exist and are of the right kind, and no cycles. A collect
// stage gains needs on the generate stages it collects.
func checkGraph(p *Pipeline, ps *problems) {
	names := make([]string, len(p.Stages))
	byName := map[string]*Stage{}
	for i, s := range p.Stages {
		names[i] = s.Name
		byName[s.Name] = s
	}
	for _, s := range p.Stages {
		line := s.needsLine
		if line == 0 {
			line = s.Line
		}
		var needs []string
		for _, n := range s.Needs {
			switch {
			case n == s.Name:
				ps.add(line, 0, "stage %q needs itself; remove %q from its needs", s.Name, n)
			case byName[n] == nil:
				ps.add(line, 0, "stage %q needs %q, which is not a stage%s; the stages are %s",
					s.Name, n, suggest(n, names), strings.Join(names, ", "))
			case !contains(needs, n):
				needs = append(needs, n)
			}
		}
		s.Needs = needs
		if s.Kind == KindCollect {
			checkCollect(s, byName, p, ps)
		}
	}
	checkCycles(p, byName, ps)
}

func checkCollect(s *Stage, byName map[string]*Stage, p *Pipeline, ps *problems) {
	var generators []string
	for _, x := range p.Stages {
		if x.Kind == KindGenerate {
			generators = append(generators, x.Name)
		}
	}
	hint := "this pipeline has no generate stage; add one or remove this collect stage"
	if len(generators) > 0 {
		hint = "the generate stages are " + strings.Join(generators, ", ")
	}
	for _, name := range s.Collect.From {
		g := byName[name]
		switch {
		case g == nil:
			ps.add(s.Collect.line, 0, "stage %q collects %q, which is not a stage%s; %s", s.Name, name, suggest(name, generators), hint)
		case g.Kind != KindGenerate:
			ps.add(s.Collect.line, 0, "stage %q collects %q, which is a %s stage; collect: names generate stages only: %s", s.Name, name, g.Kind, hint)
		case !contains(s.Needs, name):
			s.Needs = append(s.Needs, name)
		}
	}
}

// checkCycles reports each cycle once, at the needs: line of the stage where
// it was entered, with the full path.
func checkCycles(p *Pipeline, byName map[string]*Stage, ps *problems) {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(s *Stage)
	visit = func(s *Stage) {
		state[s.Name] = onPath
		path = append(path, s.Name)
		for _, n := range s.Needs {
			next := byName[n]
			if next == nil {
				continue
			}
			switch state[n] {
			case unseen:
				visit(next)
			case onPath:
				i := indexOf(path, n)
				cycle := append(append([]string{}, path[i:]...), n)
				steps := make([]string, 0, len(cycle)-1)
				for j := 0; j+1 < len(cycle); j++ {
					steps = append(steps, cycle[j]+" needs "+cycle[j+1])
				}
				line := next.needsLine
				if line == 0 {
					line = next.Line
				}
				ps.add(line, 0, "stages form a cycle: %s; remove one of these needs",
					strings.Join(steps, ", "))
			}
		}
		path = path[:len(path)-1]
		state[s.Name] = done
	}
	for _, s := range p.Stages {
		if state[s.Name] == unseen {
			visit(s)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// order returns the stages in a topological order that keeps file order
// among stages that are ready together. The pipeline must be acyclic.
func order(p *Pipeline) []*Stage {
	placed := map[string]bool{}
	out := make([]*Stage, 0, len(p.Stages))
	for len(out) < len(p.Stages) {
		progressed := false
		for _, s := range p.Stages {
			if placed[s.Name] || !allIn(s.Needs, placed) {
				continue
			}
			placed[s.Name] = true
			out = append(out, s)
			progressed = true
			break
		}
		if !progressed {
			panic(fmt.Sprintf("pipeline %s has a cycle; Load rejects it", p.File))
		}
	}
	return out
}

func allIn(names []string, set map[string]bool) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}

package pipeline

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// field is one key: value pair of a YAML mapping.
type field struct {
	key   string
	kNode *yaml.Node
	value *yaml.Node
}

// decoder reads yaml.Nodes into Go values, recording problems with their
// line instead of stopping at the first.
type decoder struct {
	ps *problems
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a single value"
	default:
		return "something else"
	}
}

// fields returns the pairs of a mapping in file order, reporting duplicate
// keys, and unknown keys against allowed (nil allows any key).
func (d *decoder) fields(n *yaml.Node, where string, allowed []string) []field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.ps.add(n.Line, n.Column, "%s must be a mapping of key: value lines, not %s", where, kindName(n))
		return nil
	}
	seen := map[string]int{}
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.ps.add(k.Line, k.Column, "%s: keys must be plain names", where)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.ps.add(k.Line, k.Column, "%s: key %q is given twice (first at line %d); keep one", where, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		if allowed != nil && !contains(allowed, k.Value) {
			d.ps.add(k.Line, k.Column, "%s: unknown key %q%s; the keys allowed here are %s",
				where, k.Value, suggest(k.Value, allowed), strings.Join(allowed, ", "))
			continue
		}
		out = append(out, field{key: k.Value, kNode: k, value: v})
	}
	return out
}

func (d *decoder) str(f field, where string) string {
	if f.value.Kind == yaml.ScalarNode && f.value.Tag == "!!null" {
		d.ps.add(f.kNode.Line, f.kNode.Column, "%s: %s: has no value; give it one or remove the key", where, f.key)
		return ""
	}
	if f.value.Kind != yaml.ScalarNode {
		d.ps.add(f.value.Line, f.value.Column, "%s: %s must be a single value, not %s", where, f.key, kindName(f.value))
		return ""
	}
	return f.value.Value
}

// strList accepts one value or a list of values.
func (d *decoder) strList(f field, where string) []string {
	n := f.value
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.ps.add(n.Line, n.Column, "%s: %s must be a name or a list of names, not %s", where, f.key, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			d.ps.add(item.Line, item.Column, "%s: each entry of %s must be a single value, not %s", where, f.key, kindName(item))
			continue
		}
		out = append(out, item.Value)
	}
	return out
}

func (d *decoder) boolean(f field, where string) bool {
	if f.value.Kind == yaml.ScalarNode {
		switch f.value.Value {
		case "true", "True", "TRUE", "yes":
			return true
		case "false", "False", "FALSE", "no":
			return false
		}
	}
	d.ps.add(f.value.Line, f.value.Column, "%s: %s must be true or false", where, f.key)
	return false
}

func (d *decoder) duration(f field, where string) time.Duration {
	s := d.str(f, where)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		d.ps.add(f.value.Line, f.value.Column, "%s: %s %q is not a positive duration; write it like 90s, 5m or 1h30m", where, f.key, s)
		return 0
	}
	return v
}

func (d *decoder) env(f field, where string) map[string]string {
	out := map[string]string{}
	for _, kv := range d.fields(f.value, where+": env", nil) {
		if !validEnvName(kv.key) {
			d.ps.add(kv.kNode.Line, kv.kNode.Column, "%s: env name %q is not a valid variable name (letters, digits and _, not starting with a digit)", where, kv.key)
			continue
		}
		if kv.value.Kind != yaml.ScalarNode {
			d.ps.add(kv.value.Line, kv.value.Column, "%s: env %s must be a single value, not %s", where, kv.key, kindName(kv.value))
			continue
		}
		if kv.value.Tag == "!!null" {
			out[kv.key] = ""
			continue
		}
		out[kv.key] = kv.value.Value
	}
	return out
}

func (d *decoder) percent(f field, where string) *float64 {
	s := strings.TrimSuffix(strings.TrimSpace(d.str(f, where)), "%")
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 100 {
		d.ps.add(f.value.Line, f.value.Column, "%s: %s must be a percentage from 0 to 100, not %q", where, f.key, f.value.Value)
		return nil
	}
	return &v
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns `; did you mean "x"?` for the closest allowed word within
// two edits, or "".
func suggest(got string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if d := editDistance(got, a); d < bestDist {
			best, bestDist = a, d
		}
	}
	if best == "" {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

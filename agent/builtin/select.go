package builtin

import (
	"sort"
	"strconv"
	"strings"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// maxOutcomeExtras bounds the cases added per target for outcomes its
// coverage cases did not show.
const maxOutcomeExtras = 3

// maxKillExtras bounds the cases added per target for code mutants no other
// chosen case tells apart.
const maxKillExtras = 4

// plan is what the test file will hold for one target.
type plan struct {
	t     *target
	cases []*candidate
	names []string // case names, parallel to cases
	post  []int    // arguments whose value after the call is asserted
}

// postArgs decides which arguments of t are asserted after the call: those
// some stable call changed, when every stable call's result can be written.
func postArgs(t *target, cands []*candidate) []int {
	var out []int
	for i, p := range t.params {
		if !p.mutable {
			continue
		}
		changed, writable := false, true
		for _, c := range cands {
			if !c.stable || c.out.Status != proberuntime.HpStatusOK || c.out.Panic != nil {
				continue
			}
			for _, po := range c.out.Post {
				if po.Arg != i {
					continue
				}
				if po.After == nil || po.After.Bad != "" || po.Before == nil || po.Before.Bad != "" {
					writable = false
					continue
				}
				if po.Before.Src != po.After.Src {
					changed = true
				}
			}
		}
		if changed && writable {
			out = append(out, i)
		}
	}
	return out
}

// usable reports whether a case can be written as a test case with at least
// one exact assertion, given the asserted arguments.
func usable(c *candidate, post []int) bool {
	if !c.stable || c.out == nil || c.out.Status != proberuntime.HpStatusOK {
		return false
	}
	if c.out.Panic != nil {
		return *c.out.Panic != "" && *c.out.Panic != "<nil>"
	}
	if len(c.out.Results) != len(c.t.results) {
		return false
	}
	errored := false
	for _, r := range c.out.Results {
		if r.IsError && r.Err != nil {
			if *r.Err == "" {
				return false
			}
			errored = true
		}
	}
	if !errored {
		for j, r := range c.out.Results {
			switch {
			case r.IsError:
			case c.t.stringResult(j):
				if r.Str == nil {
					return false
				}
			case r.Literal == nil || r.Literal.Bad != "":
				return false
			}
		}
		for _, k := range post {
			found := false
			for _, po := range c.out.Post {
				if po.Arg == k && po.After != nil && po.After.Bad == "" {
					found = true
				}
			}
			if !found {
				return false
			}
		}
	}
	return len(c.t.results) > 0 || len(post) > 0 || c.t.setsState
}

// option is a usable case and its name.
type option struct {
	c    *candidate
	name string
	size int
}

// selector picks the cases of the file.
type selector struct {
	weights  []int
	maxCases int
	chosen   map[*candidate]bool
	count    map[*target]int
}

// gain is the statements of c's blocks in scope (nil: all) not yet covered.
func (s *selector) gain(c *candidate, covered, scope map[int]bool) int {
	g := 0
	for _, b := range c.out.Cover {
		if b < len(s.weights) && !covered[b] && (scope == nil || scope[b]) {
			g += s.weights[b]
		}
	}
	return g
}

// greedy repeatedly takes the option with the largest gain, the smaller
// one on ties, until nothing gains.
func (s *selector) greedy(opts []option, covered, scope map[int]bool) {
	for {
		var best *option
		bestGain := 0
		for i := range opts {
			o := &opts[i]
			if s.chosen[o.c] || s.count[o.c.t] >= s.maxCases {
				continue
			}
			if g := s.gain(o.c, covered, scope); g > bestGain {
				best, bestGain = o, g
			}
		}
		if best == nil {
			return
		}
		s.take(best.c, covered)
	}
}

func (s *selector) take(c *candidate, covered map[int]bool) {
	s.chosen[c] = true
	s.count[c.t]++
	for _, b := range c.out.Cover {
		covered[b] = true
	}
}

// selectCases keeps a small set of cases:
//  1. for each target, the cases that cover the most of its own body;
//  2. then, across targets, those that add the most statements not yet
//     covered (helpers reached through several functions);
//  3. then, per target, the smallest case of each outcome not yet shown
//     (an error, a panic, true and false, negative, zero and positive),
//     and the example its doc comment gives;
//  4. then, per target, the cases whose outcome changes under the most code
//     mutants (see killMutants) that no chosen case tells apart.
//
// Smaller inputs win ties, so the file reads simply. At most maxCases
// cases per target. own gives the blocks inside each target's body;
// excluded names cases ("TestX/case") that failed before, and whole tests
// as "TestX/*".
func selectCases(targets []*target, cands []*candidate, weights []int, own map[*target]map[int]bool,
	maxCases int, excluded map[string]bool) []*plan {
	byTarget := map[*target][]*candidate{}
	for _, c := range cands {
		byTarget[c.t] = append(byTarget[c.t], c)
	}
	plans := map[*target]*plan{}
	opts := map[*target][]option{}
	full := map[*target][]option{} // opts before distinctOptions
	var all []option
	for _, t := range targets {
		p := &plan{t: t, post: postArgs(t, byTarget[t])}
		plans[t] = p
		if excluded[t.testName+"/*"] {
			continue
		}
		seen := map[string]int{}
		for _, c := range byTarget[t] {
			if !usable(c, p.post) {
				continue
			}
			name := caseName(c)
			seen[name]++
			if n := seen[name]; n > 1 {
				name += "_" + strconv.Itoa(n)
			}
			if excluded[t.testName+"/"+normalizeTestName(name)] {
				continue
			}
			size := 0
			for _, a := range c.args {
				size += a.size()
			}
			opts[t] = append(opts[t], option{c: c, name: name, size: size})
		}
		sort.SliceStable(opts[t], func(i, j int) bool { return opts[t][i].size < opts[t][j].size })
		full[t] = opts[t]
		opts[t] = distinctOptions(opts[t])
		all = append(all, opts[t]...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].size < all[j].size })
	s := &selector{weights: weights, maxCases: maxCases, chosen: map[*candidate]bool{}, count: map[*target]int{}}
	covered := map[int]bool{}
	for _, t := range targets {
		mine := map[int]bool{}
		s.greedy(opts[t], mine, own[t])
		for b := range mine {
			covered[b] = true
		}
	}
	s.greedy(all, covered, nil)
	for _, t := range targets {
		shown := map[string]bool{}
		for _, o := range opts[t] {
			if s.chosen[o.c] {
				shown[outcomeClass(o.c)] = true
			}
		}
		extras := 0
		for _, o := range opts[t] {
			if extras >= maxOutcomeExtras || s.count[t] >= maxCases {
				break
			}
			if k := outcomeClass(o.c); !s.chosen[o.c] && (!shown[k] || o.c.doc) {
				shown[k] = true
				s.take(o.c, covered)
				extras++
			}
		}
	}
	killed := map[int]bool{}
	for c := range s.chosen {
		for _, k := range c.kills {
			killed[k] = true
		}
	}
	for _, t := range targets {
		for extras := 0; extras < maxKillExtras && s.count[t] < maxCases; extras++ {
			var best *option
			bestGain := 0
			for i := range full[t] {
				o := &full[t][i]
				if s.chosen[o.c] {
					continue
				}
				g := 0
				for _, k := range o.c.kills {
					if !killed[k] {
						g++
					}
				}
				if g > bestGain {
					best, bestGain = o, g
				}
			}
			if best == nil {
				break
			}
			s.take(best.c, covered)
			for _, k := range best.c.kills {
				killed[k] = true
			}
		}
	}
	var out []*plan
	for _, t := range targets {
		p := plans[t]
		for _, o := range full[t] {
			if s.chosen[o.c] {
				p.cases = append(p.cases, o.c)
				p.names = append(p.names, o.name)
			}
		}
		if len(p.cases) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// distinctOptions keeps the first (smallest) option of each kind: the same
// statements reached with the same kind of outcome. The greedy choices
// below never prefer a later one of a kind, and thousands of calls shrink
// to tens of options.
func distinctOptions(opts []option) []option {
	seen := map[string]bool{}
	out := opts[:0:0]
	for _, o := range opts {
		var b strings.Builder
		b.WriteString(outcomeClass(o.c))
		if o.c.doc {
			b.WriteString("|doc")
		}
		for _, x := range o.c.out.Cover {
			b.WriteString("|" + strconv.Itoa(x))
		}
		if k := b.String(); !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}

// outcomeClass sorts what a call did into coarse classes: a panic, an
// error, and for each result true or false, the sign of a number, empty or
// not, nil or not.
func outcomeClass(c *candidate) string {
	o := c.out
	if o.Panic != nil {
		return "panic"
	}
	for _, r := range o.Results {
		if r.IsError && r.Err != nil {
			return "error"
		}
	}
	var parts []string
	for _, r := range o.Results {
		switch {
		case r.IsError:
			continue
		case r.Str != nil:
			parts = append(parts, literalClass(quote(*r.Str)))
		case r.Literal == nil || r.Literal.Src == "":
			parts = append(parts, "?")
		default:
			parts = append(parts, literalClass(r.Literal.Src))
		}
	}
	return strings.Join(parts, ",")
}

func literalClass(src string) string {
	switch {
	case src == "true", src == "false", src == "nil", src == `""`, src == "0":
		return src
	case strings.HasPrefix(src, "-"):
		return "negative"
	case src[0] >= '0' && src[0] <= '9':
		return "positive"
	case strings.HasSuffix(src, "{}"):
		return "empty"
	}
	return "value"
}

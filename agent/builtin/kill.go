package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"go/types"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Bounds on the mutation step.
const (
	maxKillCandidates = 32   // calls per function tried against mutants
	maxKillCases      = 6000 // calls under mutants per generation
	mutantCallTimeout = 100 * time.Millisecond
	// mutantProcs probe processes share the calls under mutants: a mutant
	// that loops costs its time limit and a restart, spent waiting, so
	// more processes than processors still help.
	mutantProcs = 4
	// mutantRestarts bounds the probe's restarts while it runs calls under
	// mutants: a mutant that loops or crashes ends the process, and its
	// other calls are skipped.
	mutantRestarts = 400
)

// killMutants runs the usable calls of each function under the code mutants
// whose lines they reach, and records in each call the mutants whose
// outcome it changed: selection then keeps calls that tell a changed
// operator from the code as written, not only calls that reach new
// statements. Then, for a few rounds, it makes new calls from those that
// reach a mutant no call told apart yet, changing their arguments as
// exploration does, until every reached mutant is told apart.
func (g *generation) killMutants(ctx context.Context, p *probe, ex *explorer, muts []codeMutant) error {
	if len(muts) == 0 {
		return nil
	}
	start := time.Now()
	k := &killer{p: p, ex: ex, at: map[int][]int{}, killed: map[int]bool{}}
	for _, mu := range muts {
		for b, w := range p.where {
			if w.file == mu.file && w.startLine <= mu.line && mu.line <= w.endLine {
				k.at[mu.id] = append(k.at[mu.id], b)
			}
		}
	}
	byTarget := map[*target][]*candidate{}
	for _, c := range g.cands {
		c.kills = nil
		byTarget[c.t] = append(byTarget[c.t], c)
	}
	var tried []*candidate
	for _, t := range g.active {
		tried = append(tried, killCandidates(t, byTarget[t])...)
	}
	var all []int
	for _, mu := range muts {
		all = append(all, mu.id)
	}
	if err := k.tell(ctx, tried, all); err != nil {
		return err
	}
	until := g.start.Add(time.Duration(huntShare * float64(g.cfg.Budget)))
	for round := 0; round < huntRounds && time.Now().Before(until); round++ {
		// The mutants some call reaches but none told apart, and the
		// calls that reach each.
		parents := map[int][]*candidate{}
		var left []int
		for _, id := range all {
			if k.killed[id] {
				continue
			}
			for _, c := range tried {
				if reaches(c, k.at[id]) {
					parents[id] = append(parents[id], c)
				}
			}
			if len(parents[id]) > 0 {
				left = append(left, id)
			}
		}
		if len(left) == 0 {
			break
		}
		// The neighbours of a few calls that reach each, then calls
		// changed at random as in exploration.
		var batch []*candidate
		for _, id := range left {
			ps := parents[id]
			n := 0
			for try := 0; try < huntParents; try++ {
				for _, c := range ex.neighbours(ps[ex.rng.IntN(len(ps))]) {
					if n < huntChildren {
						batch = append(batch, c)
						n++
					}
				}
			}
			for try := 0; try < 2*huntChildren && n < huntChildren; try++ {
				if c := ex.child(ps[ex.rng.IntN(len(ps))]); c != nil {
					batch = append(batch, c)
					n++
				}
			}
		}
		if len(batch) == 0 {
			break
		}
		if err := g.runBatch(ctx, p, ex, batch); err != nil {
			return err
		}
		post := map[*target][]int{}
		for _, t := range g.active {
			post[t] = postArgs(t, byTarget[t])
		}
		var fresh []*candidate
		for _, c := range batch {
			if c.out != nil && usable(c, post[c.t]) {
				fresh = append(fresh, c)
			}
		}
		before := len(k.killed)
		if err := k.tell(ctx, fresh, left); err != nil {
			return err
		}
		tried = append(tried, fresh...)
		if len(k.killed) == before {
			fmt.Fprintf(g.log, "mutant hunt %d: %d calls told none of %d mutants apart; stopping [%.1fs]\n",
				round+1, len(batch), len(left), time.Since(g.start).Seconds())
			break
		}
		fmt.Fprintf(g.log, "mutant hunt %d: %d calls for %d mutants no call told apart [%.1fs]\n",
			round+1, len(batch), len(left), time.Since(g.start).Seconds())
	}
	reached := 0
	for _, id := range all {
		for _, c := range tried {
			if reaches(c, k.at[id]) {
				reached++
				break
			}
		}
	}
	g.mutants, g.toldApart = len(all), len(k.killed)
	fmt.Fprintf(g.log, "mutants: %d code mutants, %d reached, %d told apart by some call; %d calls under them in %s [%.1fs]\n",
		len(all), reached, len(k.killed), k.calls, time.Since(start).Round(time.Millisecond), time.Since(g.start).Seconds())
	return nil
}

// Bounds on the hunt for calls that tell mutants apart.
const (
	huntRounds   = 2
	huntParents  = 3   // calls whose neighbours are tried, per mutant and round
	huntChildren = 24  // new calls per mutant and round
	huntShare    = 0.7 // of the budget, after which no hunt round starts
)

// killer runs calls under code mutants.
type killer struct {
	p      *probe
	ex     *explorer
	at     map[int][]int // the coverage blocks each mutant's line lies in
	killed map[int]bool
	calls  int
	runs   int
}

// tell runs each call under each of the mutants whose line it reaches and
// records the mutants that change its outcome.
func (k *killer) tell(ctx context.Context, cands []*candidate, mutants []int) error {
	type job struct {
		c  *candidate
		mu int
	}
	var jobs []job
	for _, id := range mutants {
		for _, c := range cands {
			if reaches(c, k.at[id]) {
				jobs = append(jobs, job{c: c, mu: id})
			}
		}
	}
	if len(jobs) > maxKillCases {
		// Fewer calls, spread evenly over the mutants.
		step := float64(len(jobs)) / maxKillCases
		var kept []job
		for i := 0; i < maxKillCases; i++ {
			kept = append(kept, jobs[int(float64(i)*step)])
		}
		jobs = kept
	}
	if len(jobs) == 0 {
		return nil
	}
	cases := make([]*proberuntime.HpCase, len(jobs))
	for i, j := range jobs {
		hc := &proberuntime.HpCase{ID: i, Func: j.c.t.funcIdx, Post: j.c.post, Twice: j.c.twice, Mutant: j.mu}
		for _, a := range j.c.args {
			hc.Args = append(hc.Args, a.node(k.ex.pools.types))
		}
		cases[i] = hc
	}
	// A mutant that loops or crashes ends the process: the call that
	// ended it tells the mutant apart, and its other calls need not run.
	// Split the calls, whole mutants to a part, over the processes.
	var parts [][]*proberuntime.HpCase
	size := (len(cases) + mutantProcs - 1) / mutantProcs
	for from := 0; from < len(cases); {
		to := min(from+size, len(cases))
		for to < len(cases) && cases[to].Mutant == cases[to-1].Mutant {
			to++
		}
		parts = append(parts, cases[from:to])
		from = to
	}
	outs := map[int]*proberuntime.HpOutcome{}
	var mu sync.Mutex
	eg, gctx := errgroup.WithContext(ctx)
	for _, part := range parts {
		k.runs++
		name := "mutants" + strconv.Itoa(k.runs)
		eg.Go(func() error {
			resume := func(ended int) int {
				next := ended + 1
				for next < len(part) && part[next].Mutant == part[ended].Mutant {
					next++
				}
				return next
			}
			got, err := k.p.runCases(gctx, part, name, mutantCallTimeout, mutantRestarts, resume)
			mu.Lock()
			defer mu.Unlock()
			for id, o := range got {
				outs[id] = o
			}
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	k.calls += len(jobs)
	for i, j := range jobs {
		o := outs[i]
		if o == nil {
			continue // skipped after the mutant ended the process
		}
		if o.Status == statusCrashed && strings.HasPrefix(o.Detail, "not run") {
			continue
		}
		if changedBy(j.c.out, o) {
			j.c.kills = append(j.c.kills, j.mu)
			k.killed[j.mu] = true
		}
	}
	return nil
}

// killCandidates picks the calls of t tried against mutants: usable ones,
// one per distinct outcome and coverage, smallest first.
func killCandidates(t *target, cands []*candidate) []*candidate {
	post := postArgs(t, cands)
	type sized struct {
		c    *candidate
		size int
	}
	var opts []sized
	for _, c := range cands {
		if !usable(c, post) {
			continue
		}
		size := 0
		for _, a := range c.args {
			size += a.size()
		}
		opts = append(opts, sized{c, size})
	}
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].size < opts[j].size })
	// Two calls of each outcome and coverage: calls alike in both often
	// differ at a boundary (equal operands, one element more).
	seen := map[string]int{}
	var out []*candidate
	for _, o := range opts {
		if len(out) >= maxKillCandidates {
			break
		}
		x := *o.c.out
		x.ID, x.Cover = 0, nil
		b, _ := json.Marshal(x)
		k := string(b) + fmt.Sprint(o.c.out.Cover)
		if seen[k] < 2 {
			seen[k]++
			out = append(out, o.c)
		}
	}
	return out
}

// reaches reports whether c covered any of the blocks.
func reaches(c *candidate, blocks []int) bool {
	for _, b := range c.out.Cover {
		for _, x := range blocks {
			if b == x {
				return true
			}
		}
	}
	return false
}

// changedBy reports whether a call's outcome under a mutant differs from
// its outcome as written.
func changedBy(orig, mutated *proberuntime.HpOutcome) bool {
	if mutated.Status != proberuntime.HpStatusOK {
		return true // it looped or crashed: a test would fail
	}
	x, y := *orig, *mutated
	y.ID = x.ID
	return !sameOutcome(&x, &y)
}

// neighbours are the calls next to parent, where a comparison's < and <=
// part: two arguments of the same type made equal, each integer argument
// one more and one less, each string argument without its last rune and
// with it twice.
func (e *explorer) neighbours(parent *candidate) []*candidate {
	t := parent.t
	var out []*candidate
	with := func(i int, v *value) {
		if v == parent.args[i] {
			return
		}
		args := append([]*value(nil), parent.args...)
		args[i] = v
		if c := e.addCall(t, args, parent.twice); c != nil {
			out = append(out, c)
		}
	}
	for i, v := range parent.args {
		if t.params[i].recv || t.params[i].variadic {
			continue
		}
		for j, w := range parent.args {
			if i != j && !t.params[j].variadic && types.Identical(v.typ, w.typ) {
				with(i, w)
			}
		}
		b, ok := v.typ.Underlying().(*types.Basic)
		if !ok || v.kind != proberuntime.HpKindLit {
			continue
		}
		switch {
		case b.Info()&types.IsInteger != 0:
			for _, d := range []int64{1, -1} {
				if n, ok := new(big.Int).SetString(v.lit, 10); ok {
					with(i, intValue(v, n.Add(n, big.NewInt(d)), b))
				}
			}
		case b.Info()&types.IsString != 0 && v.lit != "":
			r := []rune(v.lit)
			for _, s := range []string{string(r[:len(r)-1]), v.lit + string(r[len(r)-1])} {
				if len(s) <= maxMutatedString {
					with(i, &value{typ: v.typ, kind: v.kind, lit: s, src: quote(s)})
				}
			}
		}
	}
	return out
}

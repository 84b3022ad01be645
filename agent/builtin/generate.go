package builtin

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Share of the budget exploration may use; the rest is for writing and
// checking the file.
const exploreShare = 0.6

// maxStaleRounds ends exploration after that many rounds in a row that
// reached no new statement.
const maxStaleRounds = 5

// maxCheckRounds bounds how often the file is re-checked after dropping
// cases that failed.
const maxCheckRounds = 3

// generation is one run of the agent on one module.
type generation struct {
	cfg      Config
	m        *module
	task     *agent.Task
	gocache  string
	log      io.Writer
	start    time.Time
	cpuStart time.Duration

	targets     []*target
	active      []*target
	unsupported []agent.Unsupported
	cands       []*candidate
	covered     map[int]bool
	coveredN    int
	rounds      int
	lastGain    int // statements first reached by the last batch
	mutants     int // code mutants tried (see killMutants)
	toldApart   int // of them, those some call's outcome changed under
	budgetHit   bool
	written     []string // the test functions of the file written
}

func newGeneration(cfg Config, m *module, t *agent.Task, gocache string) *generation {
	log := t.Log
	if log == nil {
		log = io.Discard
	}
	return &generation{cfg: cfg, m: m, task: t, gocache: gocache, log: log, covered: map[int]bool{}}
}

func (g *generation) progress(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if g.task.Progress != nil {
		g.task.Progress(msg)
	}
	fmt.Fprintf(g.log, "%s [%.1fs]\n", msg, time.Since(g.start).Seconds())
}

func (g *generation) run(parent context.Context) (*agent.Report, error) {
	g.start = time.Now()
	g.cpuStart, _ = cpuTime()
	ctx, cancel := context.WithDeadline(parent, g.start.Add(g.cfg.Budget))
	defer cancel()
	g.progress("loading %s", g.task.Module)
	if err := g.m.load(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x9e3779b97f4a7c15))
	tt := &typeTable{}
	ft := newFuncTable()
	lits := mine(g.m.syntaxTargetsFirst(), g.m.pkg.TypesInfo)
	pools := newPools(g.m.pkg.Types, lits, rng, tt, ft)
	ex := newExplorer(pools, rng)
	g.analyze(ex, ft)
	if len(g.active) == 0 {
		return g.report(nil, nil, nil), nil
	}
	gen := probeSource(g.m, tt, ft)
	// One probe serves exploration and the mutation step: the code
	// mutants are compiled in, each off unless a call names it.
	srcs, muts := schemata(g.m)
	p, err := newProbe(ctx, g.m, gen, g.gocache, g.cfg.CallTimeout, g.log, srcs)
	if err != nil && len(srcs) > 0 && ctx.Err() == nil {
		fmt.Fprintf(g.log, "the probe with code mutants did not build, so there is no mutation step: %v\n", err)
		muts = nil
		p, err = newProbe(ctx, g.m, gen, g.gocache, g.cfg.CallTimeout, g.log, nil)
	}
	if err != nil {
		return nil, g.budgetErr(parent, err, "building the probe")
	}
	defer p.close()
	if err := g.explore(ctx, parent, p, ex); err != nil {
		return nil, err
	}
	plans, check, err := g.write(ctx, parent, p, ex, muts)
	if err != nil {
		return nil, err
	}
	if cpu, ok := cpuTime(); ok && g.cpuStart > 0 {
		fmt.Fprintf(g.log, "done in %.1fs, %.1fs of processor time (this process and its children, other work in the process included)\n",
			time.Since(g.start).Seconds(), (cpu - g.cpuStart).Seconds())
	}
	return g.report(p, plans, check), nil
}

// budgetErr explains an error that came from the budget running out.
func (g *generation) budgetErr(parent context.Context, err error, what string) error {
	if parent.Err() == nil && time.Since(g.start) >= g.cfg.Budget {
		return fmt.Errorf("the time budget of %s ran out while %s; raise HANDOFF_BUILTIN_BUDGET: %w", g.cfg.Budget, what, err)
	}
	return err
}

// analyze decides which targets can be driven and builds their pools.
func (g *generation) analyze(ex *explorer, ft *funcTable) {
	eff := newEffects(g.m.pkg.Types, g.m.pkg.Syntax, g.m.pkg.TypesInfo)
	dropped := droppedTests(g.task.Feedback)
	g.targets = g.m.targets()
	for _, t := range g.targets {
		why := ""
		switch {
		case t.sig.TypeParams().Len() > 0 || t.sig.RecvTypeParams().Len() > 0:
			why = "generic functions are not supported"
		case dropped.tests[t.testName] != "":
			why = "verification dropped its test in the previous round (" + dropped.tests[t.testName] + ")"
		}
		if why == "" {
			why = unsupportedResult(t)
		}
		if why == "" {
			if r := eff.reason(t.obj); r != "" {
				why = "it performs I/O, waits on the clock or exits: it " + r
			}
		}
		if why == "" {
			why = ex.prepare(t)
		}
		if why != "" {
			g.unsupported = append(g.unsupported, agent.Unsupported{Name: t.name, Reason: why})
			fmt.Fprintf(g.log, "skip %s: %s\n", t.name, why)
			continue
		}
		t.funcIdx = ft.add(nil, t.expr)
		g.active = append(g.active, t)
	}
	g.progress("%d of %d exported functions can be driven", len(g.active), len(g.targets))
}

// explore runs the initial calls and then rounds of mutants of the calls
// that reached new statements, until the rounds, the exploration share of
// the budget or the new statements run out.
func (g *generation) explore(ctx, parent context.Context, p *probe, ex *explorer) error {
	until := g.start.Add(time.Duration(exploreShare * float64(g.cfg.Budget)))
	var batch []*candidate
	for _, t := range g.active {
		batch = append(batch, ex.initial(t)...)
	}
	stale := 0
	for round := 0; len(batch) > 0; round++ {
		if err := g.runBatch(ctx, p, ex, batch); err != nil {
			if parent.Err() != nil {
				return parent.Err()
			}
			if ctx.Err() != nil {
				g.budgetHit = true
				return g.budgetErr(parent, err, "exploring")
			}
			return err
		}
		g.rounds = round + 1
		pct := 0.0
		if p.total > 0 {
			pct = 100 * float64(g.coveredN) / float64(p.total)
		}
		g.progress("round %d: %d calls so far, %.1f%% of %d statements reached", round, len(g.cands), pct, p.total)
		if g.coveredN >= p.total || round >= g.cfg.Rounds {
			break
		}
		if time.Now().After(until) {
			g.budgetHit = true
			fmt.Fprintf(g.log, "exploration stopped by the time budget after round %d\n", round)
			break
		}
		if g.lastGain == 0 {
			stale++
			if stale >= maxStaleRounds {
				break
			}
		} else {
			stale = 0
		}
		batch = g.nextBatch(ex)
	}
	return nil
}

// nextBatch makes the mutants of a round, spread over the live targets.
func (g *generation) nextBatch(ex *explorer) []*candidate {
	var live []*target
	for _, t := range g.active {
		if ex.failures[t] < maxFailures && len(ex.corpus[t]) > 0 {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return nil
	}
	n := min(maxMutants, max(minMutants, mutantsPerRound/len(live)))
	var batch []*candidate
	for _, t := range live {
		batch = append(batch, ex.mutants(t, n)...)
	}
	return batch
}

// runBatch probes a batch and folds the outcomes into the corpus and the
// coverage reached.
func (g *generation) runBatch(ctx context.Context, p *probe, ex *explorer, batch []*candidate) error {
	cases := make([]*proberuntime.HpCase, len(batch))
	for i, c := range batch {
		hc := &proberuntime.HpCase{ID: c.id, Func: c.t.funcIdx, Post: c.post, Twice: c.twice}
		for _, a := range c.args {
			hc.Args = append(hc.Args, a.node(ex.pools.types))
		}
		cases[i] = hc
	}
	fwd, rev, err := p.runBoth(ctx, cases)
	if err != nil {
		return err
	}
	g.lastGain = 0
	for _, c := range batch {
		c.out = fwd[c.id]
		c.stable = sameOutcome(c.out, rev[c.id])
		g.cands = append(g.cands, c)
		if c.out == nil {
			continue
		}
		switch c.out.Status {
		case proberuntime.HpStatusTimeout, statusCrashed:
			ex.failures[c.t]++
			fmt.Fprintf(g.log, "%s: call %d: %s\n", c.t.name, c.id, c.out.Detail)
			continue
		case proberuntime.HpStatusBadArgs:
			continue
		}
		if !c.stable {
			continue
		}
		gain := 0
		for _, b := range c.out.Cover {
			if !g.covered[b] && b < len(p.weights) {
				g.covered[b] = true
				gain += p.weights[b]
			}
		}
		ex.admit(c)
		g.coveredN += gain
		g.lastGain += gain
	}
	return nil
}

// write selects the cases, renders the file, checks it and drops what
// failed, and writes it to the output path.
func (g *generation) write(ctx, parent context.Context, p *probe, ex *explorer, muts []codeMutant) ([]*plan, *checkResult, error) {
	dropped := droppedTests(g.task.Feedback)
	excluded := dropped.cases
	if err := g.shrink(ctx, p, ex, excluded); err != nil {
		if parent.Err() != nil {
			return nil, nil, parent.Err()
		}
		fmt.Fprintf(g.log, "shrinking stopped: %v\n", err)
	}
	if err := g.killMutants(ctx, p, ex, muts); err != nil {
		if parent.Err() != nil {
			return nil, nil, parent.Err()
		}
		fmt.Fprintf(g.log, "mutation step skipped: %v\n", err)
	}
	var plans []*plan
	var src []byte
	var check *checkResult
	var names []string // the test functions of src
	for round := 0; ; round++ {
		plans = selectCases(g.active, g.cands, p.weights, g.ownBlocks(p), g.cfg.MaxCases, excluded)
		if len(plans) == 0 {
			break
		}
		f := newTestFile(g.m)
		var err error
		src, err = f.render(plans)
		if err != nil {
			return nil, nil, err
		}
		names = make([]string, len(plans))
		for i, pl := range plans {
			names[i] = f.testName(pl.t)
		}
		timeout := time.Until(g.start.Add(g.cfg.Budget))
		if timeout < 10*time.Second {
			timeout = 10 * time.Second
		}
		check, err = p.check(ctx, src, names, timeout)
		if err != nil {
			if parent.Err() != nil {
				return nil, nil, parent.Err()
			}
			if ctx.Err() == nil {
				return nil, nil, err
			}
			// Out of budget: write the file unchecked; verification judges it.
			g.budgetHit = true
			check = nil
			fmt.Fprintf(g.log, "the written tests could not be checked within the budget: %v\n", err)
			break
		}
		if check.passed || round+1 >= maxCheckRounds {
			break
		}
		// Drop what failed and try again.
		for i, pl := range plans {
			name := names[i]
			if check.failedTests[name] {
				excluded[pl.t.testName+"/*"] = true
				for _, n := range pl.names {
					excluded[pl.t.testName+"/"+normalizeTestName(n)] = true
				}
				continue
			}
			for _, n := range pl.names {
				if check.failedCases[name+"/"+normalizeTestName(n)] {
					excluded[pl.t.testName+"/"+normalizeTestName(n)] = true
				}
			}
		}
		fmt.Fprintf(g.log, "check %d: %d tests and %d cases failed; dropping them [%.1fs]\n", round+1, len(check.failedTests), len(check.failedCases), time.Since(g.start).Seconds())
	}
	if len(plans) == 0 {
		return nil, check, nil
	}
	if err := os.WriteFile(g.m.output, src, 0o644); err != nil {
		return nil, nil, fmt.Errorf("writing %s: %w", g.m.output, err)
	}
	g.written = names
	return plans, check, nil
}

// shrink replaces the chosen cases by smaller calls that reach the same
// statements with the same kind of outcome, a few passes deep, so that the
// file shows "v1.0.0-a" rather than what mutation happened to find.
func (g *generation) shrink(ctx context.Context, p *probe, ex *explorer, excluded map[string]bool) error {
	own := g.ownBlocks(p)
	for pass := 0; pass < shrinkPasses; pass++ {
		plans := selectCases(g.active, g.cands, p.weights, own, g.cfg.MaxCases, excluded)
		var work []shrinkable
		var batch []*candidate
		for _, pl := range plans {
			for _, c := range pl.cases {
				vs := ex.shrinkVariants(c)
				if len(vs) > 0 {
					work = append(work, shrinkable{orig: c, variants: vs})
					batch = append(batch, vs...)
				}
			}
		}
		if len(batch) == 0 {
			return nil
		}
		if time.Now().After(g.start.Add(time.Duration(0.75 * float64(g.cfg.Budget)))) {
			g.budgetHit = true
			return nil
		}
		if err := g.runBatch(ctx, p, ex, batch); err != nil {
			return err
		}
		improved := 0
		for _, w := range work {
			post := postArgs(w.orig.t, nil)
			for _, pl := range plans {
				if pl.t == w.orig.t {
					post = pl.post
				}
			}
			for _, v := range w.variants {
				if keeps(w.orig, v, post) {
					improved++
					break
				}
			}
		}
		fmt.Fprintf(g.log, "shrink pass %d: %d of %d cases have smaller equivalents [%.1fs]\n", pass+1, improved, len(work), time.Since(g.start).Seconds())
		if improved == 0 {
			return nil
		}
	}
	return nil
}

// ownBlocks maps each target to the coverage blocks inside its body.
func (g *generation) ownBlocks(p *probe) map[*target]map[int]bool {
	own := map[*target]map[int]bool{}
	for _, t := range g.active {
		set := map[int]bool{}
		for i, b := range p.where {
			if b.file == t.file && b.startLine >= t.startLine && b.endLine <= t.endLine {
				set[i] = true
			}
		}
		own[t] = set
	}
	return own
}

// report says what was done.
func (g *generation) report(p *probe, plans []*plan, check *checkResult) *agent.Report {
	tested := map[*target]bool{}
	cases := 0
	for _, pl := range plans {
		tested[pl.t] = true
		cases += len(pl.cases)
	}
	for _, t := range g.active {
		if !tested[t] {
			g.unsupported = append(g.unsupported, agent.Unsupported{Name: t.name, Reason: g.whyNoCase(t)})
		}
	}
	sort.SliceStable(g.unsupported, func(i, j int) bool { return g.unsupported[i].Name < g.unsupported[j].Name })
	elapsed := time.Since(g.start)
	details := map[string]any{
		"functions":        len(g.targets),
		"tested_functions": len(plans),
		"cases":            cases,
		"calls":            len(g.cands),
		"rounds":           g.rounds,
		"seed":             g.cfg.Seed,
		"duration_ms":      elapsed.Milliseconds(),
		"budget_exhausted": g.budgetHit,
		"added_tests":      g.added(),
	}
	if g.mutants > 0 {
		details["mutants"] = g.mutants
		details["mutants_told_apart"] = g.toldApart
	}
	var sum strings.Builder
	fmt.Fprintf(&sum, "Probed %d calls of %d of %d exported functions", len(g.cands), len(g.active), len(g.targets))
	if p != nil {
		details["probe_runs"] = p.runs
		details["containment"] = p.containment
		details["statements"] = p.total
	}
	if len(plans) > 0 {
		rel := strings.TrimPrefix(strings.TrimPrefix(g.m.output, g.task.Dir), string(os.PathSeparator))
		details["output"] = rel
		fmt.Fprintf(&sum, " and wrote %d table-driven tests with %d cases to %s", len(plans), cases, rel)
	}
	if check != nil && len(plans) > 0 {
		details["coverage_percent"] = roundTo(check.coverage, 1)
		fmt.Fprintf(&sum, "; they cover %.1f%% of the module's statements", check.coverage)
	}
	fmt.Fprintf(&sum, " in %s.", elapsed.Round(100*time.Millisecond))
	if len(g.unsupported) > 0 {
		fmt.Fprintf(&sum, " %d functions are not tested; see unsupported.", len(g.unsupported))
	}
	if g.budgetHit {
		sum.WriteString(" The time budget cut the work short, so another run may write a different file.")
	}
	return &agent.Report{Summary: sum.String(), Details: details, Unsupported: g.unsupported}
}

// added counts the test functions written that verification had not kept
// in the previous round: what this round adds. A repair round rewrites the
// file without what was dropped, so it adds nothing unless it found more.
func (g *generation) added() int {
	var kept []string
	if g.task.Feedback != nil {
		kept = g.task.Feedback.Kept
	}
	n := 0
	for _, name := range g.written {
		if !slices.Contains(kept, name) {
			n++
		}
	}
	return n
}

// whyNoCase explains why a target that could be driven got no case.
func (g *generation) whyNoCase(t *target) string {
	var bad, unstable, crashed, badArgs string
	n := 0
	for _, c := range g.cands {
		if c.t != t || c.out == nil {
			continue
		}
		n++
		switch {
		case c.out.Status == proberuntime.HpStatusTimeout || c.out.Status == statusCrashed:
			crashed = c.out.Detail
		case c.out.Status == proberuntime.HpStatusBadArgs:
			badArgs = c.out.Detail
		case !c.stable:
			unstable = "x"
		default:
			for _, r := range c.out.Results {
				if r.Literal != nil && r.Literal.Bad != "" {
					bad = r.Literal.Bad
				}
			}
		}
	}
	switch {
	case n == 0:
		return "it was never called: the time budget ran out first"
	case bad != "":
		return "its results cannot be written as Go literals: " + bad
	case unstable != "":
		return "its results differ from run to run (time, randomness, map order or global state)"
	case crashed != "":
		return "its calls did not return: " + crashed
	case badArgs != "":
		return "its arguments could not be built: " + badArgs
	}
	return "no call could be checked by an exact assertion, or verification dropped every case"
}

func roundTo(x float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

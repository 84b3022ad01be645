package proberuntime

import (
	hpbufio "bufio"
	hpjson "encoding/json"
	hpfmt "fmt"
	hpos "os"
	hpreflect "reflect"
	hpstrconv "strconv"
	hptime "time"
)

// Environment variables the probe reads.
const (
	HpEnvIn      = "HANDOFF_PROBE_IN"      // file holding the JSON array of cases
	HpEnvOut     = "HANDOFF_PROBE_OUT"     // file outcomes are appended to, one JSON line each
	HpEnvFrom    = "HANDOFF_PROBE_FROM"    // index of the first case to run
	HpEnvTimeout = "HANDOFF_PROBE_TIMEOUT" // per-call time limit in milliseconds
	HpEnvChdir   = "HANDOFF_PROBE_CHDIR"   // directory to run the calls in
)

// HpExitTimeout is the exit code of a probe that stopped at a call that
// did not return in time.
const HpExitTimeout = 3

// HpMutant is the code mutant the current call runs under; zero runs the
// package as written. A mutant probe's package files guard each small
// change of their code (< for <=, + for -) with HpMutant == its number.
var HpMutant int

// HpShift is the shift count a mutated a+b writes as
// a + b - ((b << 1) << HpShift(k)): 0 under mutant k, which turns the sum
// into a-b, and otherwise a count that shifts every bit out.
func HpShift(k int) uint {
	if HpMutant == k {
		return 0
	}
	return 255
}

// HpMain runs the cases named by the environment and exits the process with
// a non-zero code only when a call timed out or the probe itself failed.
func HpMain(c HpConfig) {
	if err := hpMain(c); err != nil {
		hpfmt.Fprintln(hpos.Stderr, "handoff probe:", err)
		hpos.Exit(2)
	}
}

func hpMain(c HpConfig) error {
	data, err := hpos.ReadFile(hpos.Getenv(HpEnvIn))
	if err != nil {
		return err
	}
	var cases []*HpCase
	if err := hpjson.Unmarshal(data, &cases); err != nil {
		return err
	}
	from, _ := hpstrconv.Atoi(hpos.Getenv(HpEnvFrom))
	limit := hptime.Second
	if ms, err := hpstrconv.Atoi(hpos.Getenv(HpEnvTimeout)); err == nil && ms > 0 {
		limit = hptime.Duration(ms) * hptime.Millisecond
	}
	if dir := hpos.Getenv(HpEnvChdir); dir != "" {
		if err := hpos.Chdir(dir); err != nil {
			return err
		}
	}
	f, err := hpos.OpenFile(hpos.Getenv(HpEnvOut), hpos.O_WRONLY|hpos.O_APPEND|hpos.O_CREATE, 0644) // not 0o644: go.mod may name a language before go1.13
	if err != nil {
		return err
	}
	defer f.Close()
	w := hpbufio.NewWriter(f)
	b := &hpBuilder{funcs: c.Funcs, types: c.Types}
	for i := from; i < len(cases); i++ {
		o := hpRunLimited(c, b, cases[i], limit)
		line, err := hpjson.Marshal(o)
		if err != nil {
			return err
		}
		w.Write(append(line, '\n'))
		// Flush after every case: the next one may end the process.
		if err := w.Flush(); err != nil {
			return err
		}
		if o.Status == HpStatusTimeout {
			f.Close()
			hpos.Exit(HpExitTimeout)
		}
	}
	return w.Flush()
}

// hpRunLimited runs one case with a time limit and collects its coverage.
func hpRunLimited(c HpConfig, b *hpBuilder, cs *HpCase, limit hptime.Duration) HpOutcome {
	for _, counts := range c.Counters {
		for i := range counts {
			counts[i] = 0
		}
	}
	HpMutant = cs.Mutant
	done := make(chan HpOutcome, 1)
	go func() { done <- hpRun(c, b, cs) }()
	timer := hptime.NewTimer(limit)
	defer timer.Stop()
	select {
	case o := <-done:
		base := 0
		for _, counts := range c.Counters {
			for i, n := range counts {
				if n != 0 {
					o.Cover = append(o.Cover, base+i)
				}
			}
			base += len(counts)
		}
		return o
	case <-timer.C:
		return HpOutcome{ID: cs.ID, Status: HpStatusTimeout, Detail: "the call did not return within " + limit.String()}
	}
}

// hpRun builds the arguments of one case, calls the function and records
// what came back.
func hpRun(c HpConfig, b *hpBuilder, cs *HpCase) (o HpOutcome) {
	o.ID = cs.ID
	defer func() {
		if r := recover(); r != nil {
			o = HpOutcome{ID: cs.ID, Status: HpStatusBadArgs, Detail: "probe failure: " + hpSprint(r)}
		}
	}()
	if cs.Func < 0 || cs.Func >= len(c.Funcs) {
		return HpOutcome{ID: cs.ID, Status: HpStatusBadArgs, Detail: "function index out of range"}
	}
	fn := hpreflect.ValueOf(c.Funcs[cs.Func])
	args, err := b.args(fn.Type(), cs.Args)
	if err != nil {
		return HpOutcome{ID: cs.ID, Status: HpStatusBadArgs, Detail: err.Error()}
	}
	o.Status = HpStatusOK
	before := make([]*HpLiteral, len(cs.Post))
	for i, a := range cs.Post {
		before[i] = HpRender(c.PkgPath, args[a])
	}
	if cs.Twice {
		if _, pv := hpCall(fn, args); pv != nil {
			return HpOutcome{ID: cs.ID, Status: HpStatusBadArgs, Detail: "the first of two calls panicked: " + *pv}
		}
	}
	outs, pv := hpCall(fn, args)
	if pv != nil {
		o.Panic = pv
		return o
	}
	for i, out := range outs {
		if fn.Type().Out(i) == hpErrorType {
			res := HpResult{IsError: true}
			if !out.IsNil() {
				msg := hpErrorText(out.Interface().(error))
				res.Err = &msg
				res.ErrTypes = hpErrorTypes(out.Interface().(error))
			}
			o.Results = append(o.Results, res)
			continue
		}
		res := HpResult{Literal: HpRender(c.PkgPath, out)}
		if fn.Type().Out(i).Implements(hpStringerType) {
			res.Str = hpStringOf(out)
		}
		o.Results = append(o.Results, res)
	}
	for i, a := range cs.Post {
		o.Post = append(o.Post, HpPost{Arg: a, Before: before[i], After: HpRender(c.PkgPath, args[a])})
	}
	return o
}

var hpStringerType = hpreflect.TypeOf((*interface{ String() string })(nil)).Elem()

// hpStringOf is v.String(), or nil for a nil pointer or interface or a
// String method that panics.
func hpStringOf(v hpreflect.Value) (s *string) {
	switch v.Kind() {
	case hpreflect.Ptr, hpreflect.Interface, hpreflect.Map, hpreflect.Slice:
		if v.IsNil() {
			return nil
		}
	}
	defer func() {
		if recover() != nil {
			s = nil
		}
	}()
	str := v.Interface().(interface{ String() string }).String()
	return &str
}

// hpErrorText is err.Error() that survives a panicking Error method.
// hpErrorTypes lists the concrete types of err and of the errors it wraps,
// depth first, at most 16.
func hpErrorTypes(err error) (out []string) {
	defer func() { _ = recover() }() // an Unwrap method that panics ends the list
	var walk func(error)
	walk = func(e error) {
		if e == nil || len(out) >= 16 {
			return
		}
		t := hpreflect.TypeOf(e)
		for t.Kind() == hpreflect.Ptr {
			t = t.Elem()
		}
		out = append(out, t.PkgPath()+"."+t.Name())
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

func hpErrorText(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = "(Error method panicked)"
		}
	}()
	return err.Error()
}

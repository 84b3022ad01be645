package proberuntime

import (
	hpreflect "reflect"
)

// HpConfig is what the generated part of the probe hands to HpMain.
type HpConfig struct {
	// PkgPath is the import path of the package under test; its types are
	// written without a qualifier.
	PkgPath string
	// Funcs are the functions, method expressions and constructors that
	// cases call, indexed by HpCase.Func and HpNode.Func.
	Funcs []interface{}
	// Types are the types values are built with, indexed by HpNode.Type.
	Types []hpreflect.Type
	// Counters are the coverage counters of the instrumented files, in the
	// order whose concatenation gives the block numbers reported in
	// HpOutcome.Cover.
	Counters [][]uint32
}

// HpCase is one candidate call.
type HpCase struct {
	ID   int       `json:"id"`
	Func int       `json:"f"`
	Args []*HpNode `json:"a"`
	// Post lists the arguments whose value after the call is recorded.
	Post []int `json:"p,omitempty"`
	// Twice makes the same call once before the recorded one, for what a
	// second call does (a cached result, a state already changed).
	Twice bool `json:"tw,omitempty"`
	// Mutant is the code mutant to run the call under (HpMutant); zero
	// for none.
	Mutant int `json:"m,omitempty"`
}

// Node kinds.
const (
	HpKindZero   = "zero"   // the zero value of Type
	HpKindLit    = "lit"    // a basic value written in Value
	HpKindSlice  = "slice"  // Elems
	HpKindArray  = "array"  // Elems
	HpKindMap    = "map"    // Elems as key, value, key, value, ...
	HpKindStruct = "struct" // Elems for the fields named in Names
	HpKindPtr    = "ptr"    // a pointer to Elems[0]
	HpKindCall   = "call"   // Funcs[Func](Elems...), first result; a non-nil trailing error fails the case
	HpKindIface  = "iface"  // Elems[0] stored in the interface type Type
	HpKindDeref  = "deref"  // *Elems[0], a non-nil pointer to a Type
	HpKindFunc   = "func"   // a function of type Type that ignores its arguments and returns Elems
)

// HpNode describes how to build one value.
type HpNode struct {
	Type  int       `json:"t"`
	Kind  string    `json:"k"`
	Value string    `json:"v,omitempty"`
	Elems []*HpNode `json:"e,omitempty"`
	Names []string  `json:"n,omitempty"`
	Func  int       `json:"f,omitempty"`
}

// Outcome statuses.
const (
	HpStatusOK      = "ok"      // the call returned or panicked
	HpStatusBadArgs = "badargs" // the arguments could not be built
	HpStatusTimeout = "timeout" // the call did not return in time; the probe exits
)

// HpOutcome is what happened to one case.
type HpOutcome struct {
	ID      int        `json:"id"`
	Status  string     `json:"s"`
	Detail  string     `json:"d,omitempty"`
	Results []HpResult `json:"r,omitempty"`
	// Panic is the panic value as fmt.Sprint writes it, when the call panicked.
	Panic *string  `json:"pn,omitempty"`
	Post  []HpPost `json:"po,omitempty"`
	// Cover lists the coverage blocks the case reached.
	Cover []int `json:"c,omitempty"`
}

// HpResult is one result of a call.
type HpResult struct {
	// Literal is the value as Go source, when it can be written.
	Literal *HpLiteral `json:"l,omitempty"`
	// IsError marks a result of static type error; Err is then its message,
	// or nil for a nil error.
	IsError bool    `json:"ie,omitempty"`
	Err     *string `json:"err,omitempty"`
	// ErrTypes are the concrete types of the error and of the errors it
	// wraps ("*strconv.NumError" as "strconv.NumError"), outermost first:
	// where its text comes from.
	ErrTypes []string `json:"et,omitempty"`
	// Str is what the result's String method returned, when its static
	// type has one: a test asserts on that when the result cannot be
	// written as a literal (*regexp.Regexp, time.Time).
	Str *string `json:"str,omitempty"`
}

// HpPost is the value of an argument before and after the call.
type HpPost struct {
	Arg    int        `json:"a"`
	Before *HpLiteral `json:"b"`
	After  *HpLiteral `json:"af"`
}

// HpLiteral is a value written as Go source.
type HpLiteral struct {
	Src string `json:"src,omitempty"`
	// Bad says why the value cannot be written (Src is then empty).
	Bad string `json:"bad,omitempty"`
	// Imports maps import paths the source needs to their package names.
	Imports map[string]string `json:"imp,omitempty"`
}

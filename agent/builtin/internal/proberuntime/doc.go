// Package proberuntime is the run-time half of the builtin agent's probe.
//
// The builtin agent embeds these sources and compiles them, with the package
// clause rewritten, into the package under test as _test.go files, next to a
// generated file that lists the functions, types and coverage counters of
// that package and calls HpMain. The probe reads candidate calls from a file,
// builds their arguments with reflect, runs each call with a time limit,
// recovers panics, writes results as Go source literals and records which
// coverage blocks each call reached.
//
// Because the code lands in a package nobody here controls, every top-level
// name starts with "hp" and every import is aliased with an "hp" prefix; the
// agent refuses to probe a package that declares such a name. The code uses
// no generics, no "any" and no recent built-ins, so it compiles in modules
// whose go.mod names an old language version.
package proberuntime

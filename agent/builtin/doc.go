// Package builtin is handoff's offline test writer for Go: an agent.Agent
// that needs no network and no model. It pins down what a package does
// today in readable table-driven tests (characterization tests, the way
// Randoop and EvoSuite do for Java).
//
// For a module (a .go file or a package directory) it:
//
//  1. loads the package with go/packages and go/types and lists its
//     exported functions and methods; those it cannot drive (function,
//     channel or unimplemented interface parameters, I/O, generics, results
//     a test cannot compare) are reported in agent.Report.Unsupported;
//  2. builds inputs from typed pools: zero and boundary values, the
//     package's own literals and constants, small slices, maps and structs
//     of those, receivers from the package's constructors or composite
//     literals;
//  3. compiles a probe — the package's test binary with its files
//     instrumented by go tool cover and a run-time added, all through a
//     build overlay so no file of the package changes — and runs the calls
//     in it under the sandbox, each with a time limit, twice (in order and
//     in reverse order) to drop calls whose outcome is not reproducible;
//  4. explores: calls that reached new statements are mutated (strings
//     gain the package's separators and keywords, numbers move, slices
//     grow and shrink) for a bounded number of rounds;
//  5. keeps few cases: for each function those covering most of its own
//     body, then those adding shared statements, then one per new kind of
//     outcome (error, panic, true/false, sign), each shrunk to the smallest
//     input that does the same;
//  6. writes one gofmt'ed file with a test per function, named cases and
//     exact expected values, runs it three times and drops what failed.
//
// The same source and Config.Seed give the same file, byte for byte, as
// long as the time budget (Config.Budget) does not cut exploration short.
// docs/builtin.md tells more, with examples.
package builtin

// Package handofftype holds the data of a handoff task: the request, its
// status at a moment and its verified result. Package handoff's Client
// takes and returns these types (handoff.Request is handofftype.Request);
// they live apart so that agents, runners and tools can use them without
// the client.
//
// Each type's JSON is what the command line prints with --json and what the
// database stores: its names never change, new fields are only added.
// Durations are time.Duration in Go and whole milliseconds in JSON, under
// names ending in "_ms".
package handofftype

// Package pipeline reads handoff pipeline files and runs them.
//
// A pipeline is a set of named stages joined by needs. A stage does one of
// three things:
//
//   - run: a shell command of the user's, in its own process group, with the
//     user's environment plus the pipeline's and the stage's env;
//   - generate: submit one test-generation task per module and finish as soon
//     as they are queued, so the stages after it go on while agents work;
//   - collect: wait for the tasks of named generate stages, with a timeout
//     and a policy saying how many must succeed.
//
// Load parses and validates a file before anything runs: unknown keys,
// cycles, needs naming no stage, and collects naming no generate stage are
// reported with file:line and the fix. Run schedules the stages as soon as
// their needs are done (or one at a time in blocking mode, the old way, for
// comparison), tells a Display what happens, and returns a Summary: the
// run's record, with its figures (critical path, saving) and its JSON form.
// Package report draws the live view and renders the Summary for people and
// CI systems (text timeline, SVG or HTML picture, Markdown step summary,
// JUnit XML); this package renders nothing.
//
// The package talks to the task engine through the small Tasks interface, so
// it does not import the public handoff package (which imports it).
package pipeline

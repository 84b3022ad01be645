// Package report shows pipeline runs to people and CI systems: the live
// view while a run goes (Live, a pipeline.Display), and, once it is over,
// the end-of-run text with its timeline, the SVG and HTML pictures, the
// Markdown step summary, JUnit XML and GitHub annotations (Write does them
// all as Outputs asks; WriteComparison shows both runs of a comparison).
// Durations are written in the one format of package human.
//
// Package pipeline runs the stages and keeps the record (pipeline.Summary,
// with its figures and its JSON form); this package only reads it.
package report

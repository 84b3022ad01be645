package pipeline

// Display shows a run while it goes: what is running now, and what just
// happened. report.Live is the one the command line uses, redrawn in place
// on a terminal and as plain lines in a CI log. The scheduler calls it from
// several goroutines at once.
type Display interface {
	// Start is called once, as the run starts. active returns a copy of the
	// run's record as it stands, safe to read while the run goes on: the
	// running stages and live tasks are drawn from it.
	Start(active func() *Summary)
	// Event reports what happened, a line (or a few) for a person.
	Event(text string)
	// StageFinished reports a stage that ended: a copy of its record, and
	// what it said (why it failed, or what it did).
	StageFinished(rec StageRecord, msg string)
	// Stop is called once, when the run is over; nothing is shown after it.
	Stop()
}

// noDisplay shows nothing.
type noDisplay struct{}

func (noDisplay) Start(func() *Summary)             {}
func (noDisplay) Event(string)                      {}
func (noDisplay) StageFinished(StageRecord, string) {}
func (noDisplay) Stop()                             {}

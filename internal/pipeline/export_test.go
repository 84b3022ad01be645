package pipeline

// LoadBlockingRun lets the external tests read the recorded blocking run.
var LoadBlockingRun = loadBlockingRun

// Package openhandstest is a stand-in OpenHands agent server (and the part
// of the V1 app server that handoff uses) for tests, built to the published
// OpenAPI documents.
//
// Conversations follow scripted scenarios (Succeed, MaxIterations, Stuck,
// Fail, NeverFinish, PauseThenResume, Wedged, Restart, Confirm) and move one
// step each time a client reads their status, so a client polling every
// millisecond sees a whole conversation in milliseconds. Faults are injected
// at the HTTP level: 429 with Retry-After, 503, 401 for a wrong key, a
// server that is down. Every exchange is recorded for contract tests.
//
//	srv := openhandstest.NewServer(t, openhandstest.Options{
//		APIKey:   "session-key",
//		Scenario: openhandstest.Scenario{Files: map[string]string{"calc_test.go": testSource}},
//	})
//	// point OPENHANDS_URL (openhands.Config.URL) at srv.URL
package openhandstest

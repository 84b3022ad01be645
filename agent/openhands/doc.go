// Package openhands is the handoff agent that runs test generation on
// OpenHands through its REST APIs, and follows each conversation to a real
// end instead of trusting an exit code.
//
// Two targets are supported:
//
//   - the agent server of OpenHands' software-agent-sdk (self-hosted;
//     X-Session-API-Key). The conversation gets the task's prompt, an LLM
//     configuration, the terminal, file-editor and task-tracker tools,
//     max_iterations, stuck detection and the never-confirm policy. The task
//     directory reaches the server over a shared mount (WorkspaceShared,
//     with an optional local→server path prefix map) or as an uploaded
//     tarball (WorkspaceUpload), whose changes are downloaded again.
//   - OpenHands Cloud or a self-hosted V1 app server (Bearer): a start task
//     brings up a sandbox on the repository and branch the user names; the
//     changes are read back through the app server's git and file routes.
//
// Durability: the conversation ID is derived from the task ID, the repair
// round and a counter, and recorded in the task's state before the
// conversation is created. A worker that restarts mid-task finds the ID and
// re-attaches instead of paying for a second conversation; the agent server
// answers a repeated ID with the existing conversation.
//
// Faults: 429 waits for Retry-After, 5xx and connection errors back off
// exponentially with jitter, 401/403 fail at once naming OPENHANDS_API_KEY,
// and a circuit breaker per server turns a dead server into fast failures.
// A conversation running past the task's deadline, its iterations or the
// budget is paused and the task ends with that reason (ErrDeadline,
// ErrMaxIterations, ErrBudget). An LLM error moves to the next model of
// HANDOFF_MODELS; a server restart mid-run is retried once.
//
// Secrets (OPENHANDS_API_KEY, LLM_API_KEY) travel only in request headers and
// bodies; they are scrubbed from every message built from a server's answer.
//
// Package openhandstest is a stand-in server, built to the published OpenAPI
// documents, for testing this agent and code that uses it.
package openhands

// Package llm is the agent backend that asks any OpenAI-compatible chat
// completions endpoint (OpenAI, OpenRouter, a local Ollama or vLLM) for
// tests, through openai-go.
//
// Each round is one loop step in the manner of TestGen-LLM, CoverUp and
// Qodo Cover: the prompt carries the module's source with line numbers, its
// existing tests, the lines the current tests do not reach (measured by the
// agent with go test -coverprofile or coverage.py, in the sandbox), the
// language's conventions and the output path; in repair rounds also the
// dropped tests with their reasons and excerpts and the functions still not
// fully covered, and the output file as verification left it, whose kept
// tests the model must copy unchanged. The model answers with the complete
// test file, as a JSON object through structured output (LLM_FORMAT=json,
// the default with api.openai.com) or in one fenced code block (any other
// endpoint); both are parsed strictly. A module too large for the context
// (LLM_CONTEXT_TOKENS) is cut to the functions still uncovered, the others
// shown as signatures.
//
// How each fault ends:
//
//   - 429 (honouring Retry-After), 408, 409, 5xx, timeouts and connection
//     faults are retried by the client with backoff; when retries run out the
//     next model of HANDOFF_MODELS is tried, then the round fails with
//     ErrUnavailable, marked transient (handoff retries the task later).
//   - Five failed calls in a row open the endpoint's circuit (ErrCircuitOpen,
//     transient) for a minute.
//   - 401/403 fail with ErrUnauthorized; 404 or model_not_found moves to the
//     next model, then ErrModel; other 4xx fail with ErrRequest.
//   - A refusal (or content_filter), an empty answer, an answer cut at
//     max_tokens (finish_reason length), an answer that does not parse and,
//     in repair rounds, an answer that rewrites kept tests get one
//     reformulation; a second such answer ends the round with ErrRefused,
//     ErrEmpty, ErrTruncated, ErrMalformed or ErrKeptChanged.
//   - A call whose worst case (prompt plus a full answer at the list price)
//     would take the task past its budget is not made: ErrBudget.
//
// In round 1 these end the task as FAILED (transient ones are retried); in a
// repair round the round adds nothing, the tests kept so far stay, and the
// result's agent details say why under "stopped".
//
// Token counts and cost per call, per round and per task are in the result's
// agent details; the model that wrote the file verification judged is the
// result's model. The API key travels only in the Authorization header: it is
// never in a process argument, a log line, a result or the task state.
package llm

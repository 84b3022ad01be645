package openhandstest

// Kind is what a scripted conversation does.
type Kind string

// The scripted behaviours. A conversation moves one step each time a client
// reads its status, so tests run as fast as the client polls.
const (
	// Succeed takes Steps actions, writes Files and finishes with a
	// FinishAction.
	Succeed Kind = "succeed"
	// MaxIterations takes actions until the conversation's max_iterations,
	// then ends in error with a ConversationErrorEvent MaxIterationsReached
	// (current servers).
	MaxIterations Kind = "max_iterations"
	// MaxIterationsLegacy takes max_iterations actions and then stays
	// running for ever, as older servers do.
	MaxIterationsLegacy Kind = "max_iterations_legacy"
	// Stuck ends with execution_status stuck after Steps actions.
	Stuck Kind = "stuck"
	// Fail ends in error after Steps actions with a ConversationErrorEvent
	// carrying ErrorCode and ErrorDetail (an LLM error by default).
	Fail Kind = "error"
	// NeverFinish takes Steps actions and then stays running for ever.
	NeverFinish Kind = "never_finish"
	// PauseThenResume pauses itself after Steps actions and finishes once
	// a client runs it again (POST /run, or resuming the Cloud sandbox).
	PauseThenResume Kind = "pause_then_resume"
	// Wedged stays idle for ever, and POST /run answers 409.
	Wedged Kind = "wedged"
	// Restart restarts the server after Steps actions: every running
	// conversation reloads as error, without an error event, and the
	// server's uptime starts again.
	Restart Kind = "restart"
	// Confirm waits for confirmation after Steps actions and finishes once
	// the client answers.
	Confirm Kind = "confirm"
)

// Scenario scripts one conversation.
type Scenario struct {
	// Kind is the behaviour; empty means Succeed.
	Kind Kind
	// Steps is the number of agent actions before the scripted end.
	// Zero means 2.
	Steps int
	// Files are written into the conversation's working directory, paths
	// relative to it, at the first step.
	Files map[string]string
	// FilesFunc, when set, chooses the files from the working directory
	// (for instance by the language of the module found there).
	FilesFunc func(workingDir string) map[string]string
	// CostPerStep is added to the accumulated cost at each step.
	CostPerStep float64
	// TokensPerStep is added to prompt and completion tokens at each step.
	TokensPerStep int
	// ErrorCode and ErrorDetail describe a Fail. Defaults: LLMRateLimitError
	// and a rate-limit message.
	ErrorCode, ErrorDetail string
	// UnknownStatus, when set, is reported as execution_status for the
	// first two polls (a status from a newer release).
	UnknownStatus string
	// UnknownEvents adds an event of a kind no release has to every step.
	UnknownEvents bool
	// Finish is the FinishAction's message. Default "Wrote the tests.".
	Finish string
	// CallsPerStep is the number of tool calls the agent makes in one step
	// (parallel tool calls: ActionEvents sharing one llm_response_id). The
	// server counts steps against max_iterations, not tool calls. Zero means 1.
	CallsPerStep int
	// Commit makes the scripted agent commit the files it wrote (git add and
	// git commit in its working directory), as agents sometimes do.
	Commit bool
	// EventsPerStep pads every step with that many extra events (agent
	// thoughts as MessageEvents), to make long event histories.
	EventsPerStep int
}

func (s Scenario) withDefaults() Scenario {
	if s.Kind == "" {
		s.Kind = Succeed
	}
	if s.Steps <= 0 {
		s.Steps = 2
	}
	if s.Kind == Fail && s.ErrorCode == "" {
		s.ErrorCode = "LLMRateLimitError"
		if s.ErrorDetail == "" {
			s.ErrorDetail = "litellm.RateLimitError: rate limit exceeded for the model"
		}
	}
	if s.Finish == "" {
		s.Finish = "Wrote the tests."
	}
	if s.CallsPerStep <= 0 {
		s.CallsPerStep = 1
	}
	return s
}

// Start describes a conversation being created, for Options.Choose.
type Start struct {
	ConversationID string
	Model          string
	WorkingDir     string
	Prompt         string
	MaxIterations  int
	// N counts the conversations created on this server, from 1.
	N int
	// Cloud is set for conversations created through the V1 app server.
	Cloud bool
}

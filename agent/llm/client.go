package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/sony/gobreaker/v2"
)

// answer is one completion, as the loop needs it.
type answer struct {
	Text    string // the message content
	Refusal string // the message's refusal, if the model refused
	Finish  string // stop, length, content_filter, ...
	Model   string // the model that answered, as the endpoint names it
	In, Out int64  // prompt and completion tokens
	Retries int    // requests retried by the client for this answer
}

// testFileSchema is the structured-output schema of an answer.
var testFileSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"file":  map[string]any{"type": "string", "description": "the complete content of the test file"},
		"notes": map[string]any{"type": "string", "description": "one sentence on what the tests cover"},
	},
	"required":             []string{"file", "notes"},
	"additionalProperties": false,
}

// complete sends one chat completion to model through the endpoint's
// circuit breaker. Retries of 429 (honouring Retry-After), 408, 409, 5xx and
// connection faults happen inside the openai-go client, with backoff.
func (a *Agent) complete(ctx context.Context, model string, format Format, msgs []openai.ChatCompletionMessageParamUnion, log io.Writer) (*answer, error) {
	var attempts atomic.Int32
	client := openai.NewClient(
		option.WithBaseURL(a.cfg.BaseURL+"/"),
		option.WithAPIKey(a.cfg.APIKey),
		option.WithHTTPClient(a.cfg.HTTPClient),
		option.WithMaxRetries(a.cfg.retries()),
		option.WithMaxRetryDelay(a.cfg.MaxRetryDelay),
		option.WithRequestTimeout(a.cfg.RequestTimeout),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			n := attempts.Add(1)
			res, err := next(r)
			switch {
			case err != nil:
				fmt.Fprintf(log, "[llm] request %d to %s: %s\n", n, a.host(), a.scrub(err.Error()))
			case res.StatusCode != http.StatusOK:
				fmt.Fprintf(log, "[llm] request %d to %s: HTTP %d (Retry-After %q)\n", n, a.host(), res.StatusCode,
					res.Header.Get("Retry-After"))
			}
			return res, err
		}),
	)
	params := openai.ChatCompletionNewParams{Model: model, Messages: msgs}
	if strings.HasPrefix(a.cfg.BaseURL, OpenAIURL) {
		params.MaxCompletionTokens = openai.Int(int64(a.cfg.MaxOutputTokens))
	} else {
		params.MaxTokens = openai.Int(int64(a.cfg.MaxOutputTokens))
	}
	if format == FormatJSON {
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name: "test_file", Strict: openai.Bool(true), Schema: testFileSchema,
			}},
		}
	}
	once := func() (*answer, error) {
		if a.cfg.Stream {
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			defer stream.Close()
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				return nil, err
			}
			return toAnswer(&acc.ChatCompletion)
		}
		cc, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			return nil, err
		}
		return toAnswer(cc)
	}
	ans, err := a.breaker().Execute(func() (*answer, error) {
		// openai-go retries 429, 5xx and connection faults itself, but not
		// a request that ran past its own timeout: those are retried here.
		for n := 0; ; n++ {
			ans, err := once()
			if err == nil || kindOf(err) != 0 {
				return ans, err
			}
			timedOut := errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
			if !timedOut || n >= a.cfg.retries() {
				return nil, a.classify(ctx, err)
			}
			delay := backoff(n, a.cfg.MaxRetryDelay)
			fmt.Fprintf(log, "[llm] no answer within %s; retrying in %s\n", a.cfg.RequestTimeout, delay.Round(time.Millisecond))
			select {
			case <-ctx.Done():
				return nil, a.classify(ctx, ctx.Err())
			case <-time.After(delay):
			}
		}
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, &callError{kind: faultTransient, err: fmt.Errorf("%w: %s failed %d times in a row; handoff waits %s before trying it again",
			ErrCircuitOpen, a.host(), a.cfg.BreakerFailures, a.cfg.BreakerCooldown)}
	}
	if err != nil {
		return nil, err
	}
	ans.Retries = max(0, int(attempts.Load())-1)
	return ans, nil
}

func toAnswer(cc *openai.ChatCompletion) (*answer, error) {
	if len(cc.Choices) == 0 {
		return nil, &callError{kind: faultAnswer, err: fmt.Errorf("%w: the answer has no choices", ErrMalformed)}
	}
	c := cc.Choices[0]
	return &answer{Text: c.Message.Content, Refusal: c.Message.Refusal, Finish: c.FinishReason, Model: cc.Model,
		In: cc.Usage.PromptTokens, Out: cc.Usage.CompletionTokens}, nil
}

// fault says how a failed call ends.
type fault int

const (
	faultTransient fault = iota + 1 // retries exhausted on 429, 5xx, timeouts, connection faults
	faultModel                      // the endpoint does not serve the model: try the next one
	faultAuth                       // the key was refused
	faultRequest                    // the endpoint refused the request
	faultAnswer                     // a 200 that is not a chat completion
	faultCancelled                  // the task's context ended
)

// callError is a classified failure of one call. Its message never holds
// the API key.
type callError struct {
	kind fault
	err  error
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

func kindOf(err error) fault {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.kind
	}
	return 0
}

// classify turns an openai-go error into a callError.
func (a *Agent) classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &callError{kind: faultCancelled, err: fmt.Errorf("llm: stopped: %w", context.Cause(ctx))}
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		msg := a.scrub(apiErr.Message)
		desc := fmt.Errorf("%s answered %d (%s%s): %s", a.host(), apiErr.StatusCode, apiErr.Type,
			map[bool]string{true: ", " + apiErr.Code}[apiErr.Code != ""], msg)
		switch c := apiErr.StatusCode; {
		case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c == http.StatusConflict || c >= 500:
			return &callError{kind: faultTransient, err: fmt.Errorf("%w after %d retries: %w", ErrUnavailable, a.cfg.retries(), desc)}
		case c == http.StatusUnauthorized || c == http.StatusForbidden:
			return &callError{kind: faultAuth, err: fmt.Errorf("%w: %w; check %s", ErrUnauthorized, desc, a.cfg.keyVar)}
		case c == http.StatusNotFound || apiErr.Code == "model_not_found":
			return &callError{kind: faultModel, err: fmt.Errorf("%w: %w", ErrModel, desc)}
		default:
			return &callError{kind: faultRequest, err: fmt.Errorf("%w: %w", ErrRequest, desc)}
		}
	}
	msg := a.scrub(err.Error())
	if strings.Contains(msg, "unmarshal") || strings.Contains(msg, "invalid character") || strings.Contains(msg, "JSON") {
		return &callError{kind: faultAnswer, err: fmt.Errorf("%w: %s answered something that is not a chat completion: %s", ErrMalformed, a.host(), msg)}
	}
	// Connection refused, reset, request timeout: the client retried already.
	return &callError{kind: faultTransient, err: fmt.Errorf("%w after %d retries: %s: %s", ErrUnavailable, a.cfg.retries(), a.host(), msg)}
}

// breaker returns the circuit breaker of the agent's endpoint.
func (a *Agent) breaker() *gobreaker.CircuitBreaker[*answer] {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cb := a.breakers[a.cfg.BaseURL]; cb != nil {
		return cb
	}
	cb := gobreaker.NewCircuitBreaker[*answer](gobreaker.Settings{
		Name:    a.cfg.BaseURL,
		Timeout: a.cfg.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(a.cfg.BreakerFailures)
		},
		// Only endpoint faults count: a refused key or a bad request says
		// nothing about the endpoint's health, and neither does cancellation.
		IsSuccessful: func(err error) bool { return err == nil || kindOf(err) != faultTransient },
	})
	a.breakers[a.cfg.BaseURL] = cb
	return cb
}

// host is the endpoint as logs and errors name it: scheme and host only.
func (a *Agent) host() string {
	u := a.cfg.BaseURL
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

// scrub removes the API key from text that came from elsewhere.
func (a *Agent) scrub(s string) string {
	if k := a.cfg.APIKey; len(k) >= 4 {
		s = strings.ReplaceAll(s, k, "[redacted]")
	}
	return s
}

// backoff is the wait before retry n+1: capped exponential with jitter.
func backoff(n int, maxDelay time.Duration) time.Duration {
	d := min(maxDelay, 500*time.Millisecond<<min(n, 10))
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// retries is the number of retries of one request; a negative MaxRetries
// means none.
func (c Config) retries() int { return max(0, c.MaxRetries) }

// Package llmtest is a stand-in for an OpenAI-compatible chat completions
// endpoint (POST /chat/completions), built to the published contract as
// openai-go v3 reads it: the chat.completion object with its choices,
// message content and refusal, finish_reason (stop, length,
// content_filter) and usage block; streaming as server-sent events of
// chat.completion.chunk objects ending with `data: [DONE]`, with a final
// usage chunk when stream_options.include_usage is set; errors as
// {"error": {"message", "type", "param", "code"}} with Retry-After on 429.
//
// Each test scripts the answers it needs, in order, with Reply values or a
// function of the request, and reads back every request the server saw.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is one scripted answer.
type Reply struct {
	// Content is the assistant message's content.
	Content string
	// Refusal, when set, is the message's refusal and Content is empty.
	Refusal string
	// FinishReason defaults to "stop" ("length" for an answer cut by
	// max_tokens, "content_filter" for a filtered one).
	FinishReason string
	// Model is the model the answer names; empty means the requested one.
	Model string
	// PromptTokens and CompletionTokens fill the usage block; zero means a
	// count derived from the text (a token per four bytes).
	PromptTokens, CompletionTokens int

	// Status, when not 0 or 200, answers with an error body instead.
	Status int
	// ErrType, ErrCode and ErrMessage fill the error body; defaults follow
	// the status (rate_limit_exceeded for 429, server_error for 5xx).
	ErrType, ErrCode, ErrMessage string
	// RetryAfter is sent as the Retry-After header (seconds).
	RetryAfter string

	// Raw, when set, is sent as the whole 200 response body (a malformed
	// answer from a broken proxy).
	Raw string
	// Hang holds the request open until the client gives up.
	Hang bool
}

// Request is a request the server received, decoded.
type Request struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`

	// Header holds the request's headers; Body its raw JSON.
	Header http.Header `json:"-"`
	Body   string      `json:"-"`
}

// StreamOptions is the request's stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one chat message of a request.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Text returns the message's text: its content string, or its text parts
// joined.
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Prompt returns every message's text, in order, separated by blank lines.
func (r Request) Prompt() string {
	var parts []string
	for _, m := range r.Messages {
		parts = append(parts, m.Text())
	}
	return strings.Join(parts, "\n\n")
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL to configure clients with (ends in /v1).
	URL string
	// Key, when set, is the API key the server requires as a Bearer token.
	Key string

	srv      *httptest.Server
	mu       sync.Mutex
	replies  []Reply
	handle   func(Request) Reply
	requests []Request
	seen     chan struct{}
}

// New starts a stand-in that answers with replies, in order. It is closed
// when the test ends.
func New(t testing.TB, replies ...Reply) *Server {
	s := &Server{replies: replies, seen: make(chan struct{}, 1000)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(s.srv.Close)
	return s
}

// Push appends scripted replies.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Handle answers with f once the scripted replies are used up.
func (s *Server) Handle(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle = f
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Seen receives a value for every request, once it is recorded.
func (s *Server) Seen() <-chan struct{} { return s.seen }

func (s *Server) next(r Request) Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	if len(s.replies) > 0 {
		rep := s.replies[0]
		s.replies = s.replies[1:]
		return rep
	}
	if s.handle != nil {
		return s.handle(r)
	}
	return Reply{Status: http.StatusInternalServerError, ErrMessage: "llmtest: no scripted reply left"}
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	var req Request
	raw, _ := io.ReadAll(hr.Body)
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, Reply{Status: 400, ErrType: "invalid_request_error",
			ErrMessage: "We could not parse the JSON body of your request."})
		return
	}
	req.Header, req.Body = hr.Header.Clone(), string(raw)
	if s.Key != "" && hr.Header.Get("Authorization") != "Bearer "+s.Key {
		writeError(w, Reply{Status: 401, ErrType: "invalid_request_error", ErrCode: "invalid_api_key",
			ErrMessage: "Incorrect API key provided."})
		return
	}
	switch {
	case req.Model == "":
		writeError(w, Reply{Status: 400, ErrType: "invalid_request_error", ErrMessage: "you must provide a model parameter"})
		return
	case len(req.Messages) == 0:
		writeError(w, Reply{Status: 400, ErrType: "invalid_request_error", ErrMessage: "'messages' must contain at least one message"})
		return
	}
	rep := s.next(req)
	defer func() { s.seen <- struct{}{} }()
	if rep.Hang {
		<-hr.Context().Done()
		return
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		writeError(w, rep)
		return
	}
	if rep.Raw != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(rep.Raw))
		return
	}
	model := rep.Model
	if model == "" {
		model = req.Model
	}
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	pt, ct := rep.PromptTokens, rep.CompletionTokens
	if pt == 0 {
		pt = max(1, len(string(raw))/4)
	}
	if ct == 0 {
		ct = max(1, (len(rep.Content)+len(rep.Refusal))/4)
	}
	u := usage{PromptTokens: pt, CompletionTokens: ct, TotalTokens: pt + ct}
	id := fmt.Sprintf("chatcmpl-llmtest%d", time.Now().UnixNano())
	if req.Stream {
		s.stream(w, req, rep, id, model, finish, u)
		return
	}
	var content, refusal *string
	if rep.Refusal != "" {
		refusal = &rep.Refusal
	} else {
		content = &rep.Content
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(completion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []choice{{Index: 0, Message: message{Role: "assistant", Content: content, Refusal: refusal},
			FinishReason: finish}},
		Usage: &u,
	})
}

func (s *Server) stream(w http.ResponseWriter, req Request, rep Reply, id, model, finish string, u usage) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	send := func(c chunk) {
		b, _ := json.Marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	base := chunk{ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: model}
	role := "assistant"
	empty := ""
	first := base
	first.Choices = []chunkChoice{{Index: 0, Delta: delta{Role: role, Content: &empty}}}
	send(first)
	text, field := rep.Content, "content"
	if rep.Refusal != "" {
		text, field = rep.Refusal, "refusal"
	}
	for len(text) > 0 {
		n := min(len(text), 40)
		piece := text[:n]
		text = text[n:]
		c := base
		d := delta{}
		if field == "content" {
			d.Content = &piece
		} else {
			d.Refusal = &piece
		}
		c.Choices = []chunkChoice{{Index: 0, Delta: d}}
		send(c)
	}
	last := base
	last.Choices = []chunkChoice{{Index: 0, Delta: delta{}, FinishReason: &finish}}
	send(last)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		uc := base
		uc.Choices = []chunkChoice{}
		uc.Usage = &u
		send(uc)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

func writeError(w http.ResponseWriter, rep Reply) {
	typ, code, msg := rep.ErrType, rep.ErrCode, rep.ErrMessage
	switch {
	case rep.Status == http.StatusTooManyRequests:
		typ, code = or(typ, "requests"), or(code, "rate_limit_exceeded")
		msg = or(msg, "Rate limit reached for requests. Please try again later.")
	case rep.Status >= 500:
		typ = or(typ, "server_error")
		msg = or(msg, "The server had an error while processing your request. Sorry about that!")
	default:
		typ = or(typ, "invalid_request_error")
		msg = or(msg, http.StatusText(rep.Status))
	}
	if rep.RetryAfter != "" {
		w.Header().Set("Retry-After", rep.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	var c *string
	if code != "" {
		c = &code
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": errorBody{Message: msg, Type: typ, Param: nil, Code: c}})
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage"`
}

type choice struct {
	Index        int       `json:"index"`
	Message      message   `json:"message"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason string    `json:"finish_reason"`
}

type message struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

type errorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

package llmtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/llm/llmtest"
)

func post(t *testing.T, s *llmtest.Server, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer k")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

const hello = `{"model":"m","messages":[{"role":"user","content":"hi"}]`

// TestContractThroughOpenAIGo: openai-go, the published client, reads the
// stand-in's answers with every required field present.
func TestContractThroughOpenAIGo(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Reply{Content: "hello", Model: "m-2025"}, llmtest.Reply{Refusal: "no", FinishReason: "stop"},
		llmtest.Reply{Content: "streamed answer that is longer than one chunk of forty bytes"})
	s.Key = "k"
	c := openai.NewClient(option.WithBaseURL(s.URL+"/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	cc, err := c.Chat.Completions.New(context.Background(), params)
	require.NoError(t, err)
	require.Equal(t, "m-2025", cc.Model)
	require.Equal(t, "hello", cc.Choices[0].Message.Content)
	require.Equal(t, "stop", cc.Choices[0].FinishReason)
	for _, f := range []bool{cc.JSON.ID.Valid(), cc.JSON.Created.Valid(), cc.JSON.Object.Valid(),
		cc.Usage.JSON.PromptTokens.Valid(), cc.Usage.JSON.CompletionTokens.Valid(), cc.Usage.JSON.TotalTokens.Valid(),
		cc.Choices[0].Message.JSON.Refusal.Valid() || cc.Choices[0].Message.JSON.Refusal.Raw() == "null"} {
		require.True(t, f)
	}
	require.Equal(t, cc.Usage.PromptTokens+cc.Usage.CompletionTokens, cc.Usage.TotalTokens)

	cc, err = c.Chat.Completions.New(context.Background(), params)
	require.NoError(t, err)
	require.Equal(t, "no", cc.Choices[0].Message.Refusal)
	require.Empty(t, cc.Choices[0].Message.Content)

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	require.NoError(t, stream.Err())
	require.Greater(t, chunks, 3)
	require.Equal(t, "streamed answer that is longer than one chunk of forty bytes", acc.Choices[0].Message.Content)
	require.Equal(t, "stop", acc.Choices[0].FinishReason)
	require.Positive(t, acc.Usage.TotalTokens)
	require.True(t, s.Requests()[2].Stream)
}

// TestStreamFraming: server-sent events end with data: [DONE], the usage
// chunk (only when asked) has no choices.
func TestStreamFraming(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Reply{Content: "x", FinishReason: "length"}, llmtest.Reply{Content: "y"})
	res := post(t, s, hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	var events []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, d)
		}
	}
	require.Equal(t, "[DONE]", events[len(events)-1])
	var usage struct {
		Choices []any          `json:"choices"`
		Usage   map[string]int `json:"usage"`
	}
	require.NoError(t, json.Unmarshal([]byte(events[len(events)-2]), &usage))
	require.Empty(t, usage.Choices)
	require.Positive(t, usage.Usage["total_tokens"])
	require.Contains(t, events[len(events)-3], `"finish_reason":"length"`)

	res = post(t, s, hello+`,"stream":true}`)
	body := new(strings.Builder)
	_, _ = bufio.NewReader(res.Body).WriteTo(body)
	require.NotContains(t, body.String(), `"total_tokens"`, "no usage chunk unless include_usage")
}

// TestErrors: error bodies have the published shape; 429 carries Retry-After;
// a wrong key is 401 invalid_api_key; a missing model is 400.
func TestErrors(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Reply{Status: 429, RetryAfter: "7"})
	res := post(t, s, hello+`}`)
	require.Equal(t, 429, res.StatusCode)
	require.Equal(t, "7", res.Header.Get("Retry-After"))
	var body struct {
		Error map[string]any `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.Equal(t, "rate_limit_exceeded", body.Error["code"])
	require.Contains(t, body.Error, "param")
	require.NotEmpty(t, body.Error["message"])
	require.NotEmpty(t, body.Error["type"])

	s.Key = "other"
	res = post(t, s, hello+`}`)
	require.Equal(t, 401, res.StatusCode)
	s.Key = ""
	res = post(t, s, `{"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 400, res.StatusCode)
	res = post(t, s, hello+`}`)
	require.Equal(t, 500, res.StatusCode, "no scripted reply left")
}

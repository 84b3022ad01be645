package llm

import (
	"fmt"
	"github.com/handoff-dev/handoff/agent"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// OpenRouterURL is the base URL used when only OPENROUTER_API_KEY is set.
const OpenRouterURL = "https://openrouter.ai/api/v1"

// OpenAIURL is the default base URL.
const OpenAIURL = "https://api.openai.com/v1"

// Format says how the model is asked to answer.
type Format string

// The answer formats.
const (
	// FormatAuto asks for structured output (json_schema) from
	// api.openai.com and for a fenced code block from other endpoints.
	FormatAuto Format = "auto"
	// FormatJSON asks for a JSON object {"file": ..., "notes": ...} through
	// response_format json_schema (OpenAI, vLLM, Ollama, most OpenRouter models).
	FormatJSON Format = "json"
	// FormatFenced asks for the file in one fenced code block: it works with
	// any chat model.
	FormatFenced Format = "fenced"
)

// Config configures the llm agent. Its zero value plus an API key and a
// model works: every other zero field means the documented default.
type Config struct {
	// BaseURL is the OpenAI-compatible endpoint (LLM_BASE_URL), e.g.
	// http://localhost:11434/v1 for Ollama. Default OpenAIURL, or
	// OpenRouterURL when the key came from OPENROUTER_API_KEY.
	BaseURL string
	// APIKey is the endpoint's key (LLM_API_KEY, falling back to
	// OPENROUTER_API_KEY). Local servers accept any value.
	APIKey string
	// Model is the default model (LLM_MODEL) when the task names none.
	Model string
	// Models is the ordered fallback list (HANDOFF_MODELS=a,b,c): a model
	// that keeps failing (server errors, unknown model) gives way to the next.
	Models []string

	// BudgetUSD caps the cost of a task across rounds (HANDOFF_BUDGET_USD);
	// the task's --budget-usd wins. Zero means no cap.
	BudgetUSD float64
	// Prices overrides or extends the price table (LLM_PRICES=
	// "model=input/output,..." in US dollars per million tokens).
	Prices map[string]Price

	// Format is how the model answers (LLM_FORMAT=auto|json|fenced).
	// Default auto.
	Format Format
	// Stream asks for streamed answers (LLM_STREAM=1). Default off.
	Stream bool
	// MaxOutputTokens caps one answer (LLM_MAX_TOKENS). Default 8192.
	MaxOutputTokens int
	// ContextTokens is the model's context window (LLM_CONTEXT_TOKENS); the
	// module is cut to what is still uncovered when the prompt would not fit.
	// Default 32768.
	ContextTokens int
	// CoverageTimeout bounds the agent's own coverage run that finds the
	// uncovered lines (LLM_COVERAGE_TIMEOUT). Default 3m.
	CoverageTimeout time.Duration

	// RequestTimeout bounds one HTTP request (LLM_TIMEOUT). Default 5m.
	RequestTimeout time.Duration
	// MaxRetries bounds retries of one request after 429, 5xx, 408 or a
	// connection error or timeout. Zero means 4; negative means none.
	MaxRetries int
	// MaxRetryDelay caps one wait between retries, Retry-After included.
	// Default 60s.
	MaxRetryDelay time.Duration
	// BreakerFailures is the number of consecutive failed calls (after
	// retries) that opens the circuit to an endpoint. Default 5.
	BreakerFailures int
	// BreakerCooldown is how long the circuit stays open. Default 60s.
	BreakerCooldown time.Duration

	// HTTPClient is used for every request; nil means a default client.
	HTTPClient *http.Client
	// Logger receives structured logs; nil means slog.Default(). The API key
	// never reaches it.
	Logger *slog.Logger

	envErr error
	keyVar string // the variable the key came from, for messages
}

// FromEnv reads a Config from the environment variables named on its
// fields. Values it cannot parse are reported by Check and Run.
func FromEnv() Config { return fromLookup(os.LookupEnv) }

func fromLookup(lookup func(string) (string, bool)) Config {
	c, err := parseEnv(lookup)
	c.envErr = err
	return c
}

func parseEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	c := Config{
		BaseURL: get("LLM_BASE_URL"),
		APIKey:  get("LLM_API_KEY"),
		Model:   get("LLM_MODEL"),
		Format:  Format(get("LLM_FORMAT")),
		Stream:  get("LLM_STREAM") == "1" || strings.EqualFold(get("LLM_STREAM"), "true"),
		keyVar:  "LLM_API_KEY",
	}
	if c.APIKey == "" {
		if c.APIKey = get("OPENROUTER_API_KEY"); c.APIKey != "" {
			c.keyVar = "OPENROUTER_API_KEY"
			if c.BaseURL == "" {
				c.BaseURL = OpenRouterURL
			}
		}
	}
	for _, m := range strings.Split(get("HANDOFF_MODELS"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.Models = append(c.Models, m)
		}
	}
	var err error
	if v := get("HANDOFF_BUDGET_USD"); v != "" {
		if c.BudgetUSD, err = strconv.ParseFloat(v, 64); err != nil || c.BudgetUSD < 0 {
			return c, fmt.Errorf("HANDOFF_BUDGET_USD=%q: want a non-negative number of US dollars", v)
		}
	}
	if v := get("LLM_PRICES"); v != "" {
		if c.Prices, err = ParsePrices(v); err != nil {
			return c, fmt.Errorf("LLM_PRICES: %w", err)
		}
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"LLM_MAX_TOKENS", &c.MaxOutputTokens}, {"LLM_CONTEXT_TOKENS", &c.ContextTokens}} {
		if v := get(n.name); v != "" {
			if *n.dst, err = strconv.Atoi(v); err != nil || *n.dst < 1 {
				return c, fmt.Errorf("%s=%q: want a positive number of tokens", n.name, v)
			}
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLM_TIMEOUT", &c.RequestTimeout}, {"LLM_COVERAGE_TIMEOUT", &c.CoverageTimeout}} {
		if v := get(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst <= 0 {
				return c, fmt.Errorf("%s=%q: want a duration such as 90s or 5m", d.name, v)
			}
		}
	}
	return c, nil
}

// validate reports configuration mistakes, naming the variable to change.
func (c Config) validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	switch c.Format {
	case "", FormatAuto, FormatJSON, FormatFenced:
	default:
		return fmt.Errorf("LLM_FORMAT=%q: want auto, json or fenced", c.Format)
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("LLM_BASE_URL=%q: want an http:// or https:// URL such as http://localhost:11434/v1", c.BaseURL)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = OpenAIURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.keyVar == "" {
		c.keyVar = "LLM_API_KEY"
	}
	if c.Format == "" || c.Format == FormatAuto {
		c.Format = FormatFenced
		if strings.HasPrefix(c.BaseURL, OpenAIURL) {
			c.Format = FormatJSON
		}
	}
	if c.MaxOutputTokens <= 0 {
		c.MaxOutputTokens = 8192
	}
	if c.ContextTokens <= 0 {
		c.ContextTokens = 32768
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CoverageTimeout, 3*time.Minute)
	def(&c.RequestTimeout, 5*time.Minute)
	def(&c.MaxRetryDelay, 60*time.Second)
	def(&c.BreakerCooldown, 60*time.Second)
	if c.MaxRetries == 0 {
		c.MaxRetries = 4
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = 5
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// models returns the ordered, de-duplicated list of models to try: the
// task's model (or the configured default), then the fallbacks.
func (c Config) models(taskModel string) []string {
	return agent.ModelOrder(taskModel, c.Model, c.Models)
}

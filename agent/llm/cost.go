package llm

import (
	"fmt"
	"strconv"
	"strings"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// DefaultPrices are list prices of common models (USD per million tokens,
// as published by the vendors at the time of writing). Override or extend
// them with LLM_PRICES; a model missing from the table costs nothing as far
// as the budget knows, which the result says.
var DefaultPrices = map[string]Price{
	"gpt-4o":                      {2.50, 10.00},
	"gpt-4o-mini":                 {0.15, 0.60},
	"gpt-4.1":                     {2.00, 8.00},
	"gpt-4.1-mini":                {0.40, 1.60},
	"gpt-4.1-nano":                {0.10, 0.40},
	"gpt-5":                       {1.25, 10.00},
	"gpt-5-mini":                  {0.25, 2.00},
	"gpt-5-nano":                  {0.05, 0.40},
	"o4-mini":                     {1.10, 4.40},
	"claude-sonnet-4":             {3.00, 15.00},
	"claude-opus-4":               {15.00, 75.00},
	"claude-3-5-haiku":            {0.80, 4.00},
	"gemini-2.5-pro":              {1.25, 10.00},
	"gemini-2.5-flash":            {0.30, 2.50},
	"deepseek-chat":               {0.27, 1.10},
	"qwen-2.5-coder-32b-instruct": {0.07, 0.16},
}

// ParsePrices reads "model=input/output,..." (USD per million tokens).
func ParsePrices(s string) (map[string]Price, error) {
	out := map[string]Price{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, rest, ok := strings.Cut(item, "=")
		in, outp, ok2 := strings.Cut(rest, "/")
		pi, err1 := strconv.ParseFloat(strings.TrimSpace(in), 64)
		po, err2 := strconv.ParseFloat(strings.TrimSpace(outp), 64)
		if !ok || !ok2 || strings.TrimSpace(model) == "" || err1 != nil || err2 != nil || pi < 0 || po < 0 {
			return nil, fmt.Errorf("%q: want model=input/output in US dollars per million tokens, e.g. gpt-4o=2.5/10", item)
		}
		out[strings.TrimSpace(model)] = Price{pi, po}
	}
	return out, nil
}

// priceOf looks model up in the overrides, then the defaults. Vendor
// prefixes ("openai/gpt-4o" on OpenRouter) and dated suffixes
// ("gpt-4o-2024-08-06") fall back to the base name.
func (c Config) priceOf(model string) (Price, bool) {
	for _, table := range []map[string]Price{c.Prices, DefaultPrices} {
		if p, ok := table[model]; ok {
			return p, true
		}
	}
	base := model[strings.LastIndex(model, "/")+1:]
	for _, table := range []map[string]Price{c.Prices, DefaultPrices} {
		if p, ok := table[base]; ok {
			return p, true
		}
		// the longest table name that prefixes base ("gpt-4o-mini-2024..." → gpt-4o-mini)
		best := ""
		for name := range table {
			if strings.HasPrefix(base, name+"-") && len(name) > len(best) {
				best = name
			}
		}
		if best != "" {
			return table[best], true
		}
	}
	return Price{}, false
}

// cost is what tokens of model cost in US dollars.
func (p Price) cost(in, out int64) float64 {
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
}

// estimateTokens is a rough token count of text: four bytes a token.
func estimateTokens(text string) int64 { return int64(len(text)/4 + 1) }

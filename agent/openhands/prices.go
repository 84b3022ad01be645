package openhands

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input, Output float64
}

// prices are list prices of common models, keyed by the model's name
// without provider prefix and date suffix. They are used only when the
// server reports no cost (the agent server takes cost from LiteLLM, which
// has no price for many models routed through other providers). A model
// matches the longest key it starts with. OPENHANDS_PRICES adds or
// overrides entries.
var prices = map[string]Price{
	"claude-opus-4":     {15, 75},
	"claude-opus-4-5":   {5, 25},
	"claude-sonnet-4":   {3, 15},
	"claude-3-7-sonnet": {3, 15},
	"claude-3-5-sonnet": {3, 15},
	"claude-haiku-4-5":  {1, 5},
	"claude-3-5-haiku":  {0.8, 4},
	"gpt-4o":            {2.5, 10},
	"gpt-4o-mini":       {0.15, 0.6},
	"gpt-4.1":           {2, 8},
	"gpt-4.1-mini":      {0.4, 1.6},
	"gpt-5":             {1.25, 10},
	"gpt-5-mini":        {0.25, 2},
	"o3":                {2, 8},
	"o4-mini":           {1.1, 4.4},
	"gemini-2.5-pro":    {1.25, 10},
	"gemini-2.5-flash":  {0.3, 2.5},
}

var dateSuffix = regexp.MustCompile(`-\d{8}$|-\d{4}-\d{2}-\d{2}$`)

// priceOf finds the price of model in extra, then in the built-in table.
func priceOf(model string, extra map[string]Price) (Price, bool) {
	name := strings.ToLower(model)
	if p, ok := extra[name]; ok {
		return p, true
	}
	name = dateSuffix.ReplaceAllString(name[strings.LastIndex(name, "/")+1:], "")
	best, found := "", false
	var price Price
	for _, table := range []map[string]Price{prices, extra} {
		for k, p := range table {
			k = strings.ToLower(k)
			if (name == k || strings.HasPrefix(name, k+"-") || strings.HasPrefix(name, k+":")) && len(k) >= len(best) {
				best, price, found = k, p, true
			}
		}
	}
	return price, found
}

// costFromTokens prices token usage.
func costFromTokens(p Price, prompt, completion int64) float64 {
	return (float64(prompt)*p.Input + float64(completion)*p.Output) / 1e6
}

// parsePrices reads OPENHANDS_PRICES: model=input/output pairs, in US
// dollars per million tokens, separated by commas.
func parsePrices(v string) (map[string]Price, error) {
	out := map[string]Price{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		model, pair, ok := strings.Cut(item, "=")
		in, outp, ok2 := strings.Cut(pair, "/")
		i, err1 := strconv.ParseFloat(strings.TrimSpace(in), 64)
		o, err2 := strconv.ParseFloat(strings.TrimSpace(outp), 64)
		if !ok || !ok2 || err1 != nil || err2 != nil || i < 0 || o < 0 || strings.TrimSpace(model) == "" {
			return nil, fmt.Errorf("OPENHANDS_PRICES=%q: want model=input/output in US dollars per million tokens, "+
				"e.g. openrouter/qwen/qwen3-coder=0.4/1.6", v)
		}
		out[strings.ToLower(strings.TrimSpace(model))] = Price{i, o}
	}
	return out, nil
}

// Command inventory prints a stock report for a few sample items. The
// example pipeline's staging-deploy stage builds it and runs it with -check.
package main

import (
	"flag"
	"fmt"
	"os"

	"example.com/inventory/orders"
	"example.com/inventory/pricing"
	"example.com/inventory/report"
	"example.com/inventory/sku"
	"example.com/inventory/stock"
)

type item struct {
	code  string
	level stock.Level
	cents int64
}

func main() {
	check := flag.Bool("check", false, "exit non-zero if the sample data is inconsistent, print nothing otherwise")
	flag.Parse()
	items := []item{
		{"tee-0042-m", stock.Level{OnHand: 120, Reserved: 30, ReorderPoint: 40}, 1999},
		{"HOOD-0007-XL", stock.Level{OnHand: 12, Reserved: 10, ReorderPoint: 5}, 4950},
		{"cap-0100-s", stock.Level{OnHand: 0, ReorderPoint: 10}, 1200},
	}
	var lines []orders.Line
	for _, it := range items {
		c, err := sku.Parse(it.code)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if !*check {
			fmt.Printf("%s %s %s %s\n", report.Pad(c.String(), 14), report.Pad(stock.Status(it.level), 4),
				report.Bar(it.level.Available(), it.level.OnHand, 10), pricing.FormatCents(it.cents))
		}
		if it.level.Available() > 0 {
			lines = append(lines, orders.Line{SKU: c.String(), Quantity: 1, UnitCents: it.cents})
		}
	}
	if err := orders.Validate(lines); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !*check {
		fmt.Printf("sample order: %s, total %s\n", report.Plural(len(lines), "line"), pricing.FormatCents(orders.Total(lines)))
	}
}

package handoff_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/handoff-dev/handoff"
)

// exampleWorkspace makes a throwaway git repository holding one Go file.
func exampleWorkspace() string {
	ws, err := os.MkdirTemp("", "handoff-example-")
	if err != nil {
		log.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module example.com/shop\n\ngo 1.22\n",
		"price.go": `package shop

// Discount returns price reduced by pct percent, never below zero.
func Discount(price, pct int) int {
	if pct >= 100 {
		return 0
	}
	return price - price*pct/100
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(body), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"},
		{"-c", "user.email=e@example.com", "-c", "user.name=e", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	return ws
}

// Submit returns at once; Status never waits; Wait collects the verified
// outcome later, from this process or any other sharing the database.
func ExampleClient_Submit() {
	ws := exampleWorkspace()
	defer os.RemoveAll(ws)
	ctx := context.Background()

	agents, err := handoff.DefaultAgents()
	if err != nil {
		log.Fatal(err)
	}
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, Agents: agents})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.StartWorker(ctx); err != nil { // usually a separate `handoff worker`
		log.Fatal(err)
	}

	id, err := c.Submit(ctx, handoff.Request{Module: "price.go", Coverage: handoff.Coverage(90)})
	if err != nil {
		log.Fatal(err)
	}
	st, _ := c.Status(ctx, id)
	fmt.Println("agent:", st.Agent, "output:", st.Output)

	res, err := c.Wait(ctx, id, handoff.WaitOptions{Timeout: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.State, "success:", res.Success, "files:", res.Files)
	fmt.Printf("coverage %.0f%% -> %.0f%%\n", res.Coverage.Before, res.Coverage.After)
	// Output:
	// agent: builtin output: price_test.go
	// COMPLETED success: true files: [price_test.go]
	// coverage 0% -> 100%
}

// A wait that times out leaves the task running; collect it later.
func ExampleClient_Wait_timeout() {
	ws := exampleWorkspace()
	defer os.RemoveAll(ws)
	ctx := context.Background()
	agents, _ := handoff.DefaultAgents()
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, Agents: agents})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())

	id, err := c.Submit(ctx, handoff.Request{Module: "price.go"})
	if err != nil {
		log.Fatal(err)
	}
	// No worker runs in this process yet, so the wait times out.
	_, err = c.Wait(ctx, id, handoff.WaitOptions{Timeout: 100 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	fmt.Println(errors.Is(err, handoff.ErrWaitTimeout))

	st, _ := c.Cancel(ctx, id)
	fmt.Println(st.State)
	// Output:
	// true
	// CANCELLED
}

// Several modules from one state of the workspace: every request is checked
// first, and either all tasks are queued or none.
func ExampleClient_SubmitMany() {
	ws := exampleWorkspace()
	defer os.RemoveAll(ws)
	ctx := context.Background()
	agents, _ := handoff.DefaultAgents()
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, Agents: agents})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())

	_, err = c.SubmitMany(ctx, []handoff.Request{{Module: "price.go"}, {Module: "missing.go"}})
	fmt.Println(errors.Is(err, handoff.ErrInvalidRequest))
	list, _ := c.List(ctx, handoff.ListFilter{})
	fmt.Println("tasks after a rejected batch:", len(list))

	ids, err := c.SubmitMany(ctx, []handoff.Request{{Module: "price.go"}, {Module: ".", Output: "shop_test.go"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued:", len(ids))
	for _, id := range ids {
		c.Cancel(ctx, id) //nolint:errcheck // the example stops here
	}
	// Output:
	// true
	// tasks after a rejected batch: 0
	// queued: 2
}

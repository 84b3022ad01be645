package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newApplyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "apply TASK_ID",
		Short: "Write a finished task's kept tests into its workspace",
		Long: `apply writes the kept tests of a task that a worker on another machine ran into the workspace
the task was submitted from: that worker could not, so they wait in the database. wait and
generate do this for you; apply is for a task nobody waited on. The rules are a worker's: a file
you changed since the submit is never overwritten, and when the module changed the kept tests
are verified against it first. Run it on the machine that submitted the task. A task whose
tests were already written is shown as it is.`,
		Example: `  handoff apply 0193a1b2-...
  handoff apply 7c1e9d2f --json`,
		Args: exactArgs(1, "one task ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openTasks(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			res, err := c.Apply(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printResult(res)
		},
	}
}

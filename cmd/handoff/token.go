package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/store"
)

func newTokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens of `handoff serve`",
		Long: `An API token lets a client of ` + "`handoff serve`" + ` use the routes its scopes allow: submit (upload
workspaces, submit tasks, record applied tests), read (status, results, files, list, events),
cancel, admin (all of them). The database keeps only a token's SHA-256: a lost token cannot be
shown again; revoke it and create another.`,
		Args: exactArgs(0, "a subcommand: create, list or revoke"),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var name, scopes string
	create := &cobra.Command{
		Use:   "create --name NAME --scope SCOPE[,SCOPE...]",
		Short: "Create a token and print it on stdout, once",
		Example: `  handoff token create --name ci --scope submit,read
  HANDOFF_TOKEN=$(handoff token create --name laptop --scope submit,read,cancel)`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usageErr("--name is required: name the token after who uses it, like ci")
			}
			ctx := cmd.Context()
			c, err := a.openWith(ctx, 0, nil)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			secret, tok, err := c.TaskStore().CreateToken(ctx, name, strings.Split(scopes, ","))
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintln(a.stdout, secret)
			fmt.Fprintf(a.stderr, "token %s (%s) created with scopes %s; it is shown only now\n", tok.Name, tok.ID, strings.Join(tok.Scopes, ","))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "the token's name (who uses it)")
	create.Flags().StringVar(&scopes, "scope", "read", "scopes, comma-separated: "+strings.Join(store.Scopes, ", "))
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never the tokens themselves)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			toks, err := c.TaskStore().Tokens(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.stdout, toks)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tSCOPES\tCREATED\tLAST USED\tREVOKED")
			ago := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return human.Duration(time.Since(t).Round(time.Second)) + " ago"
			}
			for _, t := range toks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, strings.Join(t.Scopes, ","), ago(t.CreatedAt), ago(t.LastUsedAt), ago(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:     "revoke NAME|ID",
		Short:   "Revoke a token: it stops working at once",
		Example: "  handoff token revoke ci",
		Args:    exactArgs(1, "a token's name or ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			if err := c.TaskStore().RevokeToken(ctx, args[0]); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(a.stderr, "token %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/notifier"
)

func newNotifierCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notifier",
		Short: "The email outbox: what is pending, sent and dead (operators)",
	}
	cmd.AddCommand(newNotifierStatusCommand())
	return cmd
}

func newNotifierStatusCommand() *cobra.Command {
	var asJSON bool
	var dead int
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Messages of the outbox by state, the oldest due one's age, and the newest dead messages with their errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := config(cmd)
			if err != nil {
				return err
			}
			a, err := app.Open(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			s, err := notifier.ReadStatus(cmd.Context(), a.Pool(), dead)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return printNotifierStatus(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&dead, "dead", 20, "how many of the newest dead messages to list")
	return cmd
}

func printNotifierStatus(w io.Writer, s notifier.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PENDING\tSENT\tDEAD\tCANCELED\tOLDEST DUE")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\n", s.Pending, s.Sent, s.Dead, s.Canceled, s.OldestPending.Round(time.Second))
	if len(s.DeadMessages) > 0 {
		fmt.Fprintln(tw, "\nDEAD MESSAGE KEY\tTEMPLATE\tRECIPIENT\tATTEMPTS\tAT\tERROR")
		for _, d := range s.DeadMessages {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Key, d.Template, d.Recipient, d.Attempts, d.UpdatedAt.UTC().Format(time.RFC3339), d.LastError)
		}
	}
	return tw.Flush()
}

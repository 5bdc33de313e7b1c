// Command gpack packs software out of a functional package store (Guix's
// /gnu/store, Nix's /nix/store) so that it runs on machines that have
// neither, without root.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gpack/gpack/internal/usererr"
)

// Exit statuses, set in one place.
const (
	exitOK       = 0
	exitError    = 1   // the work failed; the message says why
	exitUsage    = 2   // bad flags or arguments
	exitNotFound = 3   // gpack why: no reference chain
	exitSignal   = 130 // interrupted (SIGINT or SIGTERM)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue *usererr.Error
	if errors.As(err, &ue) && ue.Kind == usererr.Usage && ue.Fix == "" {
		ue.Fix = "see '" + cmd.CommandPath() + " --help'"
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "gpack: interrupted")
		return exitSignal
	}
	fmt.Fprintln(os.Stderr, "gpack: "+err.Error())
	switch usererr.KindOf(err) {
	case usererr.Usage:
		return exitUsage
	case usererr.NotFound:
		return exitNotFound
	}
	return exitError
}

// usage marks err, from cobra, as bad usage of cmd and points to its help.
func usage(cmd *cobra.Command, err error) error {
	return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Fix: "see '" + cmd.CommandPath() + " --help'", Err: err}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gpack",
		Short: "Pack store items so they run where there is no store and no root",
		Long: `gpack packs software out of a functional package store (Guix's /gnu/store,
Nix's /nix/store) so that it runs on machines that have neither, without root.

EXIT STATUS
  0    success
  1    the work failed; the message names the path and what to do
  2    bad flags or arguments
  3    gpack why: no reference chain between the two items
  130  interrupted`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(usage)
	root.AddCommand(newClosureCommand(), newWhyCommand(), newPackCommand())
	return root
}

// exactArgs and minArgs mark argument-count errors as usage errors.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return usage(cmd, err)
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usage(cmd, err)
		}
		return nil
	}
}

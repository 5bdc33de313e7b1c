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
)

// Exit statuses, set in one place.
const (
	exitOK       = 0
	exitError    = 1   // the work failed; the message says why
	exitUsage    = 2   // bad flags or arguments
	exitNotFound = 3   // gpack why: no reference chain
	exitSignal   = 130 // interrupted (SIGINT or SIGTERM)
)

// usageError marks errors in how gpack was called.
type usageError struct{ error }

// exitCodeError carries a status other than exitError without a message.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *exitCodeError
	var ue usageError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "gpack: interrupted")
		return exitSignal
	case errors.As(err, &ce):
		if ce.msg != "" {
			fmt.Fprintln(os.Stderr, "gpack: "+ce.msg)
		}
		return ce.code
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "gpack: %v (see 'gpack --help')\n", err)
		return exitUsage
	}
	fmt.Fprintln(os.Stderr, "gpack: "+err.Error())
	return exitError
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
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newClosureCommand(), newWhyCommand(), newPackCommand())
	return root
}

// exactArgs and minArgs mark argument-count errors as usage errors.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

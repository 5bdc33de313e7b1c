// Command gpack packs software out of a functional package store (Guix's
// /gnu/store, Nix's /nix/store) so that it runs on machines that have
// neither, without root.
//
// The command only wires: each subcommand is a file with newXCommand,
// XOptions.AddFlags and runX, and the work lives in closure/, pack/ and
// formats/. Exit statuses are decided here, in run, and nowhere else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gpack/gpack/internal/usererr"
)

// Exit statuses, set in one place.
const (
	exitOK       = 0
	exitError    = 1 // the work failed; the message says why
	exitUsage    = 2 // bad flags or arguments, an unknown command
	exitNotFound = 3 // gpack why: no reference chain
	// A signal that stops gpack gives 128 + its number, as a shell
	// reports a process killed by it: 129 SIGHUP, 130 SIGINT, 131
	// SIGQUIT, 143 SIGTERM.
	exitSignal = 128
)

// interrupts are the signals that stop gpack the way Ctrl-C does: the
// context is cancelled, so output and temporary files are removed before
// gpack exits with 128 + the signal's number. SIGHUP is one because a
// closed terminal or a dropped ssh session must not leave a .NAME.tmp-*
// behind; SIGQUIT (Ctrl-\) is one too, and still prints the goroutines'
// stacks first, as Go's own handling of it would.
var interrupts = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func main() {
	ctx, caught := notifyInterrupts(context.Background())
	os.Exit(run(ctx, caught, os.Args[1:], os.Stdout, os.Stderr))
}

// notifyInterrupts returns a context that ends at the first of interrupts,
// and a function that says which signal that was (0 for none). A second
// signal ends gpack at once, for a user who will not wait for the
// cleanup.
func notifyInterrupts(parent context.Context) (context.Context, func() syscall.Signal) {
	ctx, cancel := context.WithCancel(parent)
	var caught atomic.Int32
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, interrupts...)
	go func() {
		s := (<-ch).(syscall.Signal)
		caught.Store(int32(s))
		if s == syscall.SIGQUIT {
			dumpStacks(os.Stderr)
		}
		cancel()
		s = (<-ch).(syscall.Signal)
		os.Exit(exitSignal + int(s))
	}()
	return ctx, func() syscall.Signal { return syscall.Signal(caught.Load()) }
}

// dumpStacks writes every goroutine's stack to w, as Go does on SIGQUIT.
func dumpStacks(w io.Writer) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			fmt.Fprintf(w, "SIGQUIT: quit\n\n%s\n", buf[:n])
			return
		}
		buf = make([]byte, 2*len(buf))
	}
}

// run runs gpack with args and returns its exit status: the one place
// where errors become statuses.
func run(ctx context.Context, caught func() syscall.Signal, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		// Even after a signal: the output was complete before it came.
		return exitOK
	}
	if s := caught(); s != 0 {
		fmt.Fprintf(stderr, "gpack: interrupted by %s\n", signalName(s))
		return exitSignal + int(s)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "gpack: interrupted")
		return exitSignal + int(syscall.SIGINT)
	}
	var ue *usererr.Error
	if errors.As(err, &ue) && ue.Kind == usererr.Usage && ue.Fix == "" {
		ue.Fix = "see '" + cmd.CommandPath() + " --help'"
	}
	fmt.Fprintln(stderr, "gpack: "+err.Error())
	switch usererr.KindOf(err) {
	case usererr.Usage:
		return exitUsage
	case usererr.NotFound:
		return exitNotFound
	}
	return exitError
}

// signalName is SIGHUP for syscall.SIGHUP.
func signalName(s syscall.Signal) string {
	for _, n := range []struct {
		s    syscall.Signal
		name string
	}{{syscall.SIGHUP, "SIGHUP"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGQUIT, "SIGQUIT"}, {syscall.SIGTERM, "SIGTERM"}} {
		if n.s == s {
			return n.name
		}
	}
	return s.String()
}

// exitStatusHelp ends the long help of every command.
const exitStatusHelp = `

EXIT STATUS
  0    success
  1    the work failed; the message names the path and what to do
  2    bad flags or arguments, or an unknown command
  3    gpack why: no reference chain between the two items
  129  hung up (SIGHUP), 130 interrupted (SIGINT, Ctrl-C), 131 quit
       (SIGQUIT, Ctrl-\, after the goroutines' stacks), 143 terminated
       (SIGTERM): the output and every temporary file are removed first`

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gpack",
		Short: "Pack store items so they run where there is no store and no root",
		Long: `gpack packs software out of a functional package store (Guix's /gnu/store,
Nix's /nix/store) so that it runs on machines that have neither, without root.` + exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With a RunE of its own the root sees the arguments that name
		// no command, and refuses them as bad usage (exit 2); cobra's
		// own "unknown command" is a plain error.
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			e := usererr.Usagef("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				e.What += " (did you mean " + strings.Join(s, " or ") + "?)"
			}
			e.Fix = "see 'gpack --help' for the commands"
			return e
		},
	}
	root.SetFlagErrorFunc(usage)
	root.AddCommand(newClosureCommand(), newWhyCommand(), newPackCommand(), newVersionCommand())
	// --version prints what gpack version does.
	root.Version = "-" // any: the template says it all
	root.SetVersionTemplate(versionText())
	return root
}

// usage marks err, from cobra, as bad usage of cmd and points to its help.
func usage(cmd *cobra.Command, err error) error {
	return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Fix: "see '" + cmd.CommandPath() + " --help'", Err: err}
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

package proc

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals that people and job managers send to a
// program to stop, reload or resize it. SIGKILL and SIGSTOP cannot be caught;
// SIGTSTP, SIGTTIN and SIGTTOU stop the launcher and the program alike,
// because they share a process group.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// Forwarder relays the signals the launcher receives to the program.
type Forwarder struct {
	ch   chan os.Signal
	done chan struct{}
}

// CatchSignals starts catching the forwarded signals. Signals that the
// launcher was started with ignored (nohup, a background job of a
// non-interactive shell, systemd's IgnoreSIGPIPE; the bits of ignored, as
// in engine.StartState) are ignored again rather than caught: the Go
// runtime installed its handlers over SIG_IGN, and the launcher must not
// die of, nor relay, a signal that the program ignores.
func CatchSignals(ignored uint64) *Forwarder {
	f := &Forwarder{ch: make(chan os.Signal, 16), done: make(chan struct{})}
	for sig := 1; sig <= 64; sig++ {
		if ignored&(1<<(sig-1)) != 0 {
			signal.Ignore(syscall.Signal(sig))
		}
	}
	var sigs []os.Signal
	for _, s := range forwardedSignals {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	signal.Notify(f.ch, sigs...)
	return f
}

// ForwardTo relays caught signals to c until stop.
func (f *Forwarder) ForwardTo(c *Child) {
	go func() {
		for {
			select {
			case s := <-f.ch:
				if sig, ok := s.(syscall.Signal); ok && !fromTerminal(s) {
					c.Signal(sig)
				}
			case <-f.done:
				return
			}
		}
	}()
}

// Stop ends catching and forwarding.
func (f *Forwarder) Stop() {
	signal.Stop(f.ch)
	close(f.done)
}

// fromTerminal reports whether s probably came from the controlling terminal
// (Ctrl-C, Ctrl-\, a resize, a hangup). The terminal sends those to its whole
// foreground process group, which holds the program as well as the launcher,
// so relaying them would deliver them twice: a shell trap or Python's
// KeyboardInterrupt would run twice. A Go program cannot see the sender of a
// signal (no siginfo), so this asks whether our process group is the
// terminal's foreground group; the cost is that a kill -INT aimed at a
// launcher running in the foreground of a terminal is not relayed.
func fromTerminal(s os.Signal) bool {
	switch s {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH, syscall.SIGHUP:
		return InForeground()
	}
	return false
}

// InForeground reports whether the launcher's process group owns its
// controlling terminal, which is when a shell does job control over it.
func InForeground() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false // no controlling terminal
	}
	defer unix.Close(fd)
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

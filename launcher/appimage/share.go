package appimage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher"
	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/userns"
)

// A mount shared by the runs of one user, image and mount namespace.
//
// A FUSE mount made for one run starts with nothing cached: every run
// sends the kernel's requests anew, and every page the program reads
// crosses FUSE and is decompressed again. So the first run starts a
// server, a copy of the runtime (--gpack-serve) in a session of its own,
// which mounts the image over FUSE in new user and mount namespaces, as
// a run does, keeps descriptors of those namespaces, and serves the image
// while runs use it and for lingerVar seconds (default 15) after the last
// one ends. Each run, the first included, asks the server for the
// descriptors over an abstract Unix socket named after the user, the
// image's digest and the run's mount namespace, and runs its program
// with the userns engine's child entering those namespaces: the page
// cache, the names and the attributes of earlier runs are there.
//
// The socket's name holds the caller's mount namespace so that runs see
// the host as they would with a mount of their own: a batch job with a
// private /tmp never gets another job's. The server takes only its own
// user's connections, and a run only its own user's server (SO_PEERCRED
// both ways). Whatever fails (no user namespaces, /dev/fuse closed, a
// server that exits), the run mounts the image for itself.

// lingerVar sets how long, in seconds, the server outlives the last run
// that used it; 0 turns sharing off.
const lingerVar = "GPACK_APPIMAGE_LINGER"

const defaultLinger = 15 * time.Second

// linger reads lingerVar; ok is false when sharing is off.
func linger() (time.Duration, bool) {
	v := os.Getenv(lingerVar)
	if v == "" {
		return defaultLinger, true
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return time.Duration(n * float64(time.Second)), true
}

// serverName is the abstract socket name of the server for this user,
// image and mount namespace.
func (r *run) serverName() (string, error) {
	ns, err := os.Readlink("/proc/self/ns/mnt") // "mnt:[4026531841]"
	if err != nil {
		return "", fmt.Errorf("reading the mount namespace: %w", err)
	}
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "mnt:["), "]")
	// The runtime's version too: a server of another runtime (a newer
	// gpack wrote the same image) does not serve this one.
	return "@gpack-appimage-" + launcher.Version + "-" + strconv.Itoa(os.Getuid()) + "-" + r.l.Hex()[:32] + "-" + ns, nil
}

// runShared runs the program from the shared mount, starting its server
// if there is none. ran is false, with the reason, when it could not.
func (r *run) runShared(name string, args []string) (status int, err error, ran bool) {
	if _, ok := linger(); !ok {
		return 0, errors.New(lingerVar + " turns the shared mount off"), false
	}
	if err := (userns.Engine{}).Available(); err != nil {
		return 0, err, false
	}
	sock, err := r.serverName()
	if err != nil {
		return 0, err, false
	}
	c, err := dialServer(sock)
	if err != nil {
		if err := r.startServer(); err != nil {
			return 0, err, false
		}
		if c, err = dialServer(sock); err != nil {
			return 0, err, false
		}
	} else {
		r.debug("shared mount: a server is there")
	}
	// The connection stays open while the program runs: it tells the
	// server that the mount is in use.
	defer syscall.Close(c.fd)
	// Shut down first: the reader below is blocked on the socket, and a
	// close alone would not end its read.
	defer unix.Shutdown(c.fd, unix.SHUT_RDWR)
	defer syscall.Close(c.user)
	defer syscall.Close(c.mnt)
	// What the server says meanwhile is a read error of the image: the
	// user hears of it once, as from a mount of the run's own.
	go func() {
		b := make([]byte, 4096)
		said := false
		for {
			n, err := unix.Read(c.fd, b)
			if n <= 0 && !errors.Is(err, unix.EINTR) {
				return
			}
			if n > 0 && !said {
				said = true
				r.say(string(b[:n]))
			}
		}
	}()
	status, ran, err = launcher.RunJoined(r.start, r.m, name, args, r.env(c.dir, args[0]), &engine.Join{User: c.user, Mnt: c.mnt})
	return status, err, ran
}

// conn is a run's connection to the server, and what the server sent.
type conn struct {
	fd        int
	dir       string // the mount point, APPDIR
	user, mnt int    // the namespaces' descriptors
}

// dialServer connects to the server at sock and receives the mount.
func dialServer(sock string) (*conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("shared mount: %w", err)
	}
	fail := func(err error) (*conn, error) {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		return fail(fmt.Errorf("shared mount: no server: %w", err))
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || cred.Uid != uint32(os.Getuid()) {
		return fail(errors.New("shared mount: the socket " + sock + " is not the user's"))
	}
	// A server that hangs must not hang the run.
	tv := unix.Timeval{Sec: 10}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(8))
	var n, oobn int
	for {
		// With SO_RCVTIMEO set, a signal (the Go runtime's preemption
		// among them) interrupts the call whatever SA_RESTART says.
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fail(fmt.Errorf("shared mount: receiving the namespaces: %w", err))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fail(errors.New("shared mount: the server sent no namespaces"))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 2 {
		for _, f := range fds {
			unix.Close(f)
		}
		return fail(errors.New("shared mount: the server sent no namespaces"))
	}
	tv = unix.Timeval{}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &conn{fd: fd, dir: string(buf[:n]), user: fds[0], mnt: fds[1]}, nil
}

// startServer starts the server and waits until it says it serves (or
// that another one does, or why it cannot).
func (r *run) startServer() error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		pw.Close()
		return err
	}
	defer null.Close()
	p, err := os.StartProcess(r.exe, []string{r.exe, serveArg}, &os.ProcAttr{
		// Not the run's working directory, which the server would keep
		// busy (an unmount would fail) for as long as it lingers.
		Dir:   "/",
		Files: []*os.File{null, pw, null},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	pw.Close()
	if err != nil {
		return fmt.Errorf("shared mount: starting the server: %w", err)
	}
	// The server outlives this run: it is not waited for here, and init
	// (or the session's subreaper) reaps it.
	pid := p.Pid
	p.Release()
	var b [512]byte
	n := 0
	for n < len(b) {
		k, err := pr.Read(b[n:])
		n += k
		if err != nil || bytes.IndexByte(b[:n], '\n') >= 0 {
			break
		}
	}
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	switch {
	case line == "ok":
		r.debug("shared mount: started a server (pid " + strconv.Itoa(pid) + ")")
		return nil
	case line == "busy":
		r.debug("shared mount: another run started the server first")
		return nil
	case line == "":
		return errors.New("shared mount: the server ended without a word")
	}
	return errors.New("shared mount: " + line)
}

// Arguments of the runtime that only the runtime passes.
const (
	serveArg = "--gpack-serve"
	holdArg  = "--gpack-hold"
)

// serve is the server (--gpack-serve): it binds the socket, mounts the
// image in new namespaces (whose child execs this runtime with holdArg,
// which exits at once), says "ok" on its standard output (a pipe to the
// run that started it) and closes it, then hands the namespaces to every
// run of the user that connects, until no run has used them for the
// linger time.
func (r *run) serve() int {
	out := os.Stdout
	say := func(msg string) {
		if out != nil {
			fmt.Fprintln(out, msg)
		}
	}
	done := func() {
		if out != nil {
			out.Close()
			out = nil
		}
	}
	defer done()
	wait, _ := linger()
	sock, err := r.serverName()
	if err != nil {
		say(err.Error())
		return 1
	}
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		say("socket: " + err.Error())
		return 1
	}
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: sock}); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			say("busy")
			return 0
		}
		say("binding " + sock + ": " + err.Error())
		return 1
	}
	if err := unix.Listen(lfd, 128); err != nil {
		say("listening: " + err.Error())
		return 1
	}
	mnt, err := os.MkdirTemp("", "gpack-appimage-")
	if err != nil {
		say(err.Error())
		return 1
	}
	defer os.Remove(mnt)
	user, mntNS := -1, -1
	var openErr error
	started := func(pid int) {
		p := "/proc/" + strconv.Itoa(pid) + "/ns/"
		if user, openErr = unix.Open(p+"user", unix.O_RDONLY|unix.O_CLOEXEC, 0); openErr == nil {
			mntNS, openErr = unix.Open(p+"mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		}
	}
	// A read error goes to the runs connected then (each says it once).
	var mu sync.Mutex
	clients := map[int]bool{}
	damaged := func(err error) {
		msg := []byte(r.exe + " is damaged (copy it again): " + err.Error())
		mu.Lock()
		defer mu.Unlock()
		for fd := range clients {
			unix.Write(fd, msg)
		}
	}
	serve := func(fd int) error { return serveFUSE(r.im, fd, damaged) }
	if err := launcher.HoldFUSE(r.start, mnt, r.m, []string{r.exe, holdArg}, os.Environ(), serve, started); err != nil {
		say("mounting the image: " + err.Error())
		return 1
	}
	if openErr != nil || user < 0 || mntNS < 0 {
		say(fmt.Sprintf("keeping the namespaces: %v", openErr))
		return 1
	}
	say("ok")
	done()

	// in counts the runs connected (clients); once it falls to 0, the
	// timer ends the server after wait unless a run connects first.
	// closing, set under mu, stops accepting for good.
	in, closing := 0, false
	end := make(chan struct{})
	timer := time.AfterFunc(wait, func() {
		mu.Lock()
		defer mu.Unlock()
		if in == 0 && !closing {
			closing = true
			unix.Shutdown(lfd, unix.SHUT_RDWR)
			close(end)
		}
	})
	uid := uint32(os.Getuid())
	rights := unix.UnixRights(user, mntNS)
	go func() {
		for {
			cfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
			if err != nil {
				if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
					continue
				}
				return
			}
			cred, err := unix.GetsockoptUcred(cfd, unix.SOL_SOCKET, unix.SO_PEERCRED)
			mu.Lock()
			if err != nil || cred.Uid != uid || closing {
				mu.Unlock()
				unix.Close(cfd)
				continue
			}
			in++
			clients[cfd] = true
			timer.Stop()
			mu.Unlock()
			go func() {
				defer func() {
					mu.Lock()
					delete(clients, cfd)
					unix.Close(cfd)
					if in--; in == 0 && !closing {
						timer.Reset(wait)
					}
					mu.Unlock()
				}()
				for {
					err := unix.Sendmsg(cfd, []byte(mnt), rights, nil, 0)
					if err == nil {
						break
					}
					if !errors.Is(err, unix.EINTR) {
						return
					}
				}
				// The run sends nothing: its end of the connection
				// closes when its program has ended.
				b := make([]byte, 1)
				for {
					n, err := unix.Read(cfd, b)
					if n <= 0 && !errors.Is(err, unix.EINTR) {
						return
					}
				}
			}()
		}
	}()
	<-end
	return 0
}

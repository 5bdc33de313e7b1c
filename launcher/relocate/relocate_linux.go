package relocate

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// StateDir is the directory, in the pack, of the relocation's state, its
// journal and its lock.
const StateDir = ".gpack/relocate"

// refresh is how often the link's times are renewed while the program
// runs: /tmp cleaners remove what is days old.
const refresh = time.Hour

// Engine rewrites the pack's store references once, in place, to a prefix
// of the same length whose symlink points at the pack's store, and then
// runs the program natively: no namespace, no tracing.
type Engine struct{}

func (Engine) Name() string { return "relocate" }

// Available checks that the link directory can hold the user's link safely.
func (Engine) Available() error {
	if err := safeDir(linkDir); err != nil {
		return &engine.UnavailableError{What: "relocation is not possible here", Err: err}
	}
	return nil
}

// Relocated reports whether the pack at root has been relocated (or its
// relocation has begun): its files then name the prefix rather than the
// store, and the relocate engine is the one to run it.
func Relocated(root string) bool {
	_, err := os.Lstat(root + "/" + StateDir + "/state")
	return err == nil
}

// Run relocates the pack if it has not been, makes sure the prefix's link
// is the user's and points at this pack, and runs the program natively.
func (Engine) Run(j *engine.Job) (int, error) {
	root, err := filepath.EvalSymlinks(j.Root)
	if err != nil {
		return 0, errs.Wrap(err, "finding the pack")
	}
	storeDir := root + j.Store
	entries, err := proc.ReadDir(storeDir)
	if err != nil {
		return 0, errs.Wrap(err, "listing the pack's store")
	}
	var items []string
	for _, e := range entries {
		items = append(items, e.Name)
	}
	st, err := readState(root)
	if err != nil && !os.IsNotExist(errUnwrap(err)) {
		return 0, err
	}
	var prefix, link string
	if st != nil {
		if st.Store != j.Store {
			return 0, errors.New("the pack was relocated for the store " + st.Store + ", not " + j.Store)
		}
		prefix = st.Prefix
		link = strings.TrimRight(prefix, "/")
	} else if prefix, link, err = Prefix(j.Store, os.Geteuid(), items); err != nil {
		return 0, err
	}
	if st == nil {
		// Whether the pack can be written at all, before anything is
		// made in /tmp for it.
		if err := makeStateDir(root); err != nil {
			return 0, err
		}
	}
	// The link before any file changes: a relocation begun but not
	// finished leaves files that name the prefix, which every engine then
	// reaches through it.
	if err := ensureLink(link, storeDir); err != nil {
		return 0, err
	}
	j.Debug("relocate: ", link, " -> ", storeDir)
	if st == nil || !st.Complete {
		if err := relocatePack(j, root, storeDir, prefix, items); err != nil {
			return 0, err
		}
	} else if st.Root != root {
		// Moved or copied since: the link followed; the record too,
		// where the pack can still be written.
		st.Root = root
		if err := writeState(root, st); err != nil {
			j.Debug("relocate: the state keeps the old root: ", err.Error())
		}
	}
	// The program's path as the pack's own files now spell it, padding
	// included: what a program that execs its siblings passes on.
	status, err := runNative(j, prefix+j.Program[len(j.Store):], link)
	if err == nil && status != 0 && j.Debugging() {
		if st, _ := readState(root); st != nil && st.Compressed > 0 {
			j.Debug("relocate: the program failed (status ", strconv.Itoa(status), "); if it read a store path out of "+
				"compressed data, relocation could not rewrite it: the pack has ", strconv.Itoa(st.Compressed),
				" compressed files, such as ", st.FirstCompressed)
		}
	}
	return status, err
}

// Link makes sure that the link of the relocated pack at root leads to its
// store, for an engine other than relocate: the pack's files name it. It
// returns the link, and an error when it is not the user's or cannot be
// made.
func Link(root, store string) (string, error) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", errs.Wrap(err, "finding the pack")
	}
	st, err := readState(real)
	if err != nil {
		return "", err
	}
	link := strings.TrimRight(st.Prefix, "/")
	return link, ensureLink(link, real+store)
}

// readState reads the pack's relocation state; an error wrapping
// ErrNotExist when there is none.
func readState(root string) (*State, error) {
	b, err := proc.ReadFile(root+"/"+StateDir+"/state", 1<<16)
	if err != nil {
		return nil, err
	}
	return ParseState(b)
}

// writeState replaces the state file at once: a new file renamed over it.
func writeState(root string, st *State) error {
	path := root + "/" + StateDir + "/state"
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := writeFile(tmp, st.Format()); err != nil {
		return err
	}
	if err := syscall.Rename(tmp, path); err != nil {
		syscall.Unlink(tmp)
		return errs.Wrap(err, "writing ", path)
	}
	return nil
}

// writeFile writes data to a new file at path, with plain system calls
// (package proc explains why).
func writeFile(path string, data []byte) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return errs.Wrap(err, "writing ", path)
	}
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			syscall.Close(fd)
			return errs.Wrap(err, "writing ", path)
		}
		data = data[n:]
	}
	return errs.Wrap(syscall.Close(fd), "writing ", path)
}

// makeStateDir makes StateDir, which needs .gpack writable for a moment.
func makeStateDir(root string) error {
	dir := root + "/" + StateDir
	if _, err := os.Lstat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	var st unix.Stat_t
	if err := unix.Stat(parent, &st); err != nil {
		return errs.Wrap(err, "looking at ", parent)
	}
	if st.Mode&0o200 == 0 && st.Uid == uint32(os.Geteuid()) {
		if err := syscall.Chmod(parent, st.Mode&0o7777|0o200); err == nil {
			defer syscall.Chmod(parent, st.Mode&0o7777)
		}
	}
	if err := syscall.Mkdir(dir, 0o755); err != nil && err != syscall.EEXIST {
		return errs.Wrap(err, "the pack cannot be written (making "+dir+")")
	}
	return nil
}

// relocatePack rewrites the pack, or waits for the launcher that does.
func relocatePack(j *engine.Job, root, storeDir, prefix string, items []string) error {
	if err := makeStateDir(root); err != nil {
		return err
	}
	dir := root + "/" + StateDir
	var w watcher
	said := false
	for {
		l, ok, err := tryLock(dir + "/lock")
		if err != nil {
			return err
		}
		if ok {
			err := rewriteLocked(j, root, storeDir, prefix, items, l)
			l.release()
			return err
		}
		if !said {
			j.Debug("relocate: another launcher is relocating the pack; waiting for it")
			said = true
		}
		if st, err := readState(root); err == nil && st.Complete {
			return nil
		}
		if stale, owner := w.stale(dir + "/lock"); stale {
			j.Debug("relocate: the relocation lock is stale (", strings.TrimSpace(owner), "): taking it over")
			takeOver(dir+"/lock", owner)
			w = watcher{}
		}
		time.Sleep(poll)
	}
}

// rewriteLocked is the relocation proper, under the lock.
func rewriteLocked(j *engine.Job, root, storeDir, prefix string, items []string, l *lock) error {
	st, err := readState(root)
	if err == nil && st.Complete {
		return nil // done while we waited for the lock
	}
	dir := root + "/" + StateDir
	// What a crashed run left half done: modes and times first.
	if err := replay(dir + "/journal"); err != nil {
		return err
	}
	if st == nil {
		st = &State{Prefix: prefix, Store: j.Store, Root: root}
	}
	if st.Prefix != prefix {
		return errors.New("the pack's relocation state names the prefix " + st.Prefix + ", not " + prefix)
	}
	// The state first, incomplete: from here on files may name prefix.
	if err := writeState(root, st); err != nil {
		return err
	}
	jn, err := openJournal(dir + "/journal")
	if err != nil {
		return err
	}
	start := time.Now()
	r := &rewriter{storeDir: storeDir, prefix: prefix, sc: NewScanner(j.Store, items), journal: jn, owns: l.owns}
	err = r.run()
	jn.close()
	if err != nil {
		if err == errLostLock {
			return err
		}
		// Put back what this run changed, so that the pack is as it
		// was, with some references rewritten: the next run goes on.
		replay(dir + "/journal")
		return errs.Wrap(err, "relocating the pack")
	}
	if err := syscall.Unlink(dir + "/journal"); err != nil {
		return errs.Wrap(err, "removing the relocation journal")
	}
	st.Complete = true
	st.Compressed, st.FirstCompressed = r.compressed, r.firstCompressed
	if err := writeState(root, st); err != nil {
		return err
	}
	j.Debug("relocate: rewrote ", strconv.Itoa(r.files), " files and ", strconv.Itoa(r.links), " symlinks in ",
		time.Since(start).Round(time.Millisecond).String())
	return nil
}

// runNative runs the program at path as the launcher's child, so that the
// launcher can renew link's times while it runs, forward signals and return
// its status as the other engines do.
func runNative(j *engine.Job, path, link string) (int, error) {
	fwc := make(chan *proc.Forwarder, 1)
	go func() { fwc <- proc.CatchSignals(j.Start.Ignored) }()
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		(<-fwc).Stop()
		return 0, errs.Wrap(err, "creating the report pipe")
	}
	plan := &proc.Plan{CloneFlags: uintptr(syscall.SIGCHLD), ReportFD: uintptr(p[1]), PPid: uintptr(os.Getpid())}
	if err := plan.SetExec(path, j.Args, j.EnvironAt(link)); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		(<-fwc).Stop()
		return 0, &engine.ExecError{Path: j.Program, Err: err}
	}
	if j.Start.Captured {
		plan.SetExact(j.Start.Mask, j.Start.Ignored, j.Start.Closed)
		plan.SetLimits(j.Start.Nofile, j.Start.AS, j.Start.Raised)
	}
	proc.RestoreFileLimit()
	fw := <-fwc
	runtime.LockOSThread() // PR_SET_PDEATHSIG follows the cloning thread
	defer runtime.UnlockOSThread()
	pid, err := proc.Start(plan)
	syscall.Close(p[1])
	if err != nil {
		syscall.Close(p[0])
		fw.Stop()
		return 0, errs.Wrap(err, "starting the program's process")
	}
	c := &proc.Child{Pid: pid}
	fw.ForwardTo(c)
	report, _ := proc.ReadAll(p[0], proc.MaxReport)
	syscall.Close(p[0])
	var execErr error
	for _, rec := range proc.ParseRecords(report) {
		if rec.Kind == proc.RecExec {
			execErr = &engine.ExecError{Path: j.Program, Err: syscall.Errno(rec.Errno)}
		}
	}
	if execErr == nil {
		j.Debug("engine relocate: running ", path)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				touch(link)
			}
		}
	}()
	ws, err := c.Wait()
	close(done)
	if err != nil {
		return 0, &engine.ExecError{Path: j.Program, Err: errs.Wrap(err, "waiting for it")}
	}
	if execErr != nil {
		fw.Stop()
		return 0, execErr
	}
	return proc.Status(ws), nil
}

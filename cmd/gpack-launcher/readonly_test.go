package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStoreReadOnly tries every kind of change to the pack's store through
// the store path: with the store's shell and the host's tools (touch,
// redirections, mkdir, rmdir, rm, mv, ln, chmod, chown, cp, truncate, in
// the store and from a working directory inside it), then with the rofs
// tracee, which makes each system call itself (open flags, the *at forms,
// openat2, mknod, xattrs, truncate, bind, calls on descriptors…). The store
// must stay as it is, and every call must get the errno that the kernel
// gives on a real read-only bind mount of the store, which the test makes
// first as the reference: under the userns engine, which binds the store
// read-only, and under the ptrace engine, which answers for the kernel.
// Reads and writes to the working directory still work.
//
// The pack is its user's own, as an extracted pack is: without the
// read-only store, the user could chmod its files and then change them.
func TestStoreReadOnly(t *testing.T) {
	p := testPack(t)
	root := ownedPack(t, p, testUID)
	packStore := filepath.Join(root, p.store.Dir)
	before := treeState(t, packStore)
	script := readOnlyScript(p)
	sh := filepath.Join(p.store.Path("dash"), "bin", "sh")
	data, err := os.ReadFile(filepath.Join(root, p.store.Path("noref"), "share", "data.txt"))
	if err != nil {
		t.Fatal(err)
	}

	want, storeDir := splitStoreDir(readOnlyReference(t, p, packStore, sh, script))
	checkReference(t, want)
	t.Logf("the store directory itself on the reference machine:\n%s", strings.Join(storeDir, "\n"))
	if after := treeState(t, packStore); !slices.Equal(after, before) {
		t.Fatalf("the reference run changed the read-only store:\n%s", treeDiff(before, after))
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, root: root, noStoreDir: host.noStoreDir,
					usernsOff: host.usernsOff, args: []string{"bin/sh", "-c", script}})
				if r.status != 0 || r.stderr != "" {
					t.Errorf("status %d, stderr:\n%s", r.status, r.stderr)
				}
				got, storeDir := splitStoreDir(r.stdout)
				if got != want {
					t.Errorf("the answers differ from a read-only mount's (-want +got):\n%s", lineDiff(want, got))
				}
				for _, l := range storeDir {
					if strings.HasSuffix(l, ": ok") || strings.Contains(l, "unknown") {
						t.Errorf("the store directory itself: %s", l)
					}
				}
				if after := treeState(t, packStore); !slices.Equal(after, before) {
					t.Errorf("the program changed the pack's store:\n%s", treeDiff(before, after))
				}
				if b, err := os.ReadFile(filepath.Join(r.dir, "copy")); err != nil || string(b) != string(data) {
					t.Errorf("the copy of a store file in the working directory: %q, %v", b, err)
				}
			})
		}
	})
}

// readOnlyScript is the shell script of TestStoreReadOnly. Each line of its
// output is a label and "ok" or the errno name of the failure.
func readOnlyScript(p *pack) string {
	share := filepath.Join(p.store.Path("noref"), "share")
	vars := map[string]string{
		"S":     p.store.Dir,
		"SHARE": share,
		"DATA":  filepath.Join(share, "data.txt"),
		"LINK":  filepath.Join(p.store.Path("linkonly"), "share", "target"),
		"PROF":  filepath.Join(p.store.Path("profile"), "bin", "hello"),
		"RUN":   filepath.Join(p.store.Path("unixsock"), "run"),
		"ROFS":  filepath.Join(p.store.Path("rofs"), "bin", "rofs"),
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&b, "%s='%s'\n", k, vars[k])
	}
	b.WriteString(`W=$PWD
errname() {
	case $1 in
	*"Read-only file system"*) echo EROFS ;;
	*"Permission denied"*) echo EACCES ;;
	*"File exists"*) echo EEXIST ;;
	*"No such file or directory"*) echo ENOENT ;;
	*"Invalid cross-device link"*) echo EXDEV ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Directory not empty"*) echo ENOTEMPTY ;;
	*"Is a directory"*) echo EISDIR ;;
	*"Not a directory"*) echo ENOTDIR ;;
	*"Device or resource busy"*) echo EBUSY ;;
	*) echo "unknown: $1" ;;
	esac
}
try() {
	label=$1
	shift
	if out=$("$@" 2>&1); then echo "$label: ok"; else echo "$label: $(errname "$out")"; fi
}
echo host > "$W/file"
echo "cat data: $(cat "$DATA")"
echo "ls share: $(ls "$SHARE" | tr '\n' ' ')"
echo "cat through links: $(cat "$LINK")"
try "touch new" touch "$SHARE/new"
try "touch data" touch "$DATA"
try "touch -d data" touch -d @1 "$DATA"
try "touch -h link" touch -h "$LINK"
try "> new" eval ': > "$SHARE/new"'
try "> data" eval ': > "$DATA"'
try ">> data" eval ': >> "$DATA"'
try ">> link" eval ': >> "$LINK"'
try ">> profile link" eval ': >> "$PROF"'
try "mkdir" mkdir "$SHARE/dir"
try "mkdir existing" mkdir "$SHARE"
try "mkdir -p" mkdir -p "$SHARE/a/b"
try "mkdir item" mkdir "$S/newitem"
try "touch item" touch "$S/newitem"
try "rmdir empty" rmdir "$RUN"
try "rmdir non-empty" rmdir "$SHARE"
try "rm" rm "$DATA"
try "rm missing" rm "$SHARE/nosuch"
try "rm -f missing" rm -f "$SHARE/nosuch"
try "rm -rf" rm -rf "$SHARE"
try "rm link" rm "$LINK"
try "mv in the store" mv "$DATA" "$SHARE/moved"
try "mv out of the store" mv "$DATA" "$W/moved"
try "mv into the store" mv "$W/file" "$SHARE/"
try "mv item" mv "$SHARE" "$S/renamed"
try "ln -s" ln -s data.txt "$SHARE/link"
try "ln -s existing" ln -s data.txt "$DATA"
try "ln" ln "$DATA" "$SHARE/hard"
try "ln out of the store" ln "$DATA" "$W/hard"
try "ln into the store" ln "$W/file" "$SHARE/hard"
try "chmod" chmod 644 "$DATA"
try "chmod u+w dir" chmod u+w "$SHARE"
try "chmod through a link" chmod 644 "$PROF"
try "chmod -R" chmod -R u+w "$SHARE"
try "chown" chown "$(id -u)" "$DATA"
try "chown -h link" chown -h "$(id -u)" "$LINK"
try "chgrp" chgrp "$(id -g)" "$DATA"
try "cp into the store" cp "$W/file" "$SHARE/copy"
try "truncate" truncate -s 0 "$DATA"
try "truncate -c missing" truncate -c -s 0 "$SHARE/nosuch"
try "cd; touch" eval 'cd "$SHARE" && touch rel'
try "cd; > file" eval 'cd "$SHARE" && : > rel'
try "cd; rm" eval 'cd "$SHARE" && rm data.txt'
try "cd; mkdir" eval 'cd "$SHARE" && mkdir d'
try "cd; ln -s" eval 'cd "$SHARE" && ln -s data.txt l'
try "cd; chmod" eval 'cd "$SHARE" && chmod 600 data.txt'
try "host write" eval 'echo hi > "$W/out" && test "$(cat "$W/out")" = hi'
try "host mkdir" mkdir "$W/d"
try "host mv" mv "$W/out" "$W/d/out"
try "host ln -s to the store" ln -s "$DATA" "$W/d/l"
try "host cp from the store" cp "$DATA" "$W/copy"
try "host chmod" chmod 600 "$W/copy"
try "host rm -r" rm -r "$W/d"
echo "host copy: $(cat "$W/copy")"
"$ROFS" "$W"
# The store directory itself: the mount point of the userns engine's view,
# whose answers depend on the host around it.
try "store dir: rmdir" rmdir "$S"
try "store dir: mv" mv "$S" "$W/x"
try "store dir: rm -rf" rm -rf "$S"
`)
	return b.String()
}

// readOnlyReference runs script where the pack's store is bound read-only at
// the store path by the test itself, with no launcher: what the kernel
// answers on a read-only mount.
func readOnlyReference(t *testing.T, p *pack, packStore, sh, script string) string {
	t.Helper()
	dir := p.userDir(t, "work", testUID)
	uid := strconv.Itoa(testUID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"`, "sh", packStore, p.store.Dir,
		"setpriv", "--reuid="+uid, "--regid="+uid, "--clear-groups", "--", sh, "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/nonexistent", "TMPDIR=" + dir}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 {
		t.Fatalf("the reference run on a read-only bind mount: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String()
}

// splitStoreDir separates the lines about the store directory itself, whose
// errno depends on the host and the engine: its parent, which the user may
// not change, is the host's, or one the engine made.
func splitStoreDir(out string) (rest string, storeDir []string) {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "store dir: ") {
			storeDir = append(storeDir, strings.TrimSuffix(l, "\n"))
		} else {
			b.WriteString(l)
		}
	}
	return b.String(), storeDir
}

// readOnlyOK are the labels of the reference's lines that must end in
// "ok": calls that change nothing in the store. Those of the host's files
// start with "host ". Lines that show contents start with readOnlyShows.
var (
	readOnlyOK = []string{
		"rm -f missing",                           // rm -f does not try: lstat says ENOENT
		"truncate -c missing",                     // truncate -c does not create
		"access data R_OK",                        // reads
		"openat share data.txt O_RDONLY",          // reads
		"openat2 share data.txt IN_ROOT O_RDONLY", // reads
		"open data O_RDONLY|O_CREAT",              // O_CREAT of a file that exists opens it
		"open data O_PATH|O_WRONLY",               // O_PATH ignores O_WRONLY
		"open store/../host O_CREAT",              // .. leads out of the store
		"symlink to the store on the host",        // the target is only a string
		"utimensat data OMIT",                     // changes no time
	}
	readOnlyShows = []string{"cat ", "ls ", "host copy", "read data"}
)

// checkReference guards against a reference that is not read-only (a
// mount that failed to be read-only would make every engine look right):
// every change to the store must have failed with an errno, and the rest
// succeeded.
func checkReference(t *testing.T, ref string) {
	t.Helper()
	var bad []string
	for _, l := range strings.Split(strings.TrimSuffix(ref, "\n"), "\n") {
		label, result, found := strings.Cut(l, ": ")
		switch {
		case !found:
			bad = append(bad, l+" (no result)")
		case slices.ContainsFunc(readOnlyShows, func(p string) bool { return strings.HasPrefix(label, p) }):
		case strings.HasPrefix(label, "host ") || slices.Contains(readOnlyOK, label):
			if result != "ok" {
				bad = append(bad, l+" (want ok)")
			}
		case len(result) < 2 || result[0] != 'E' || strings.ToUpper(result) != result:
			bad = append(bad, l+" (want an errno)")
		}
	}
	if len(bad) > 0 {
		t.Fatalf("the reference run on a read-only bind mount is not what a read-only store gives:\n%s\nreference:\n%s",
			strings.Join(bad, "\n"), ref)
	}
}

// ownedPack lays out a pack of the fixture's store owned by uid, as a pack
// its user extracted is, and removes it when the test ends.
func ownedPack(t *testing.T, p *pack, uid int) string {
	t.Helper()
	dir, err := os.MkdirTemp(p.base, "owned")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { (&pack{base: dir}).remove() })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "p")
	if err := assemble(root, p.store, true); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// treeState lists every file under dir with what a change would touch:
// type and mode, owner, size, modification and change times, and the
// content's hash or the link's target.
func treeState(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		what := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			what, err = os.Readlink(path)
		case info.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(path)
			what = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, fmt.Sprintf("%s %v %d:%d %d mtime %d.%09d ctime %d.%09d %s", rel, info.Mode(), st.Uid, st.Gid,
			st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, what))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// treeDiff shows what changed between two treeState listings.
func treeDiff(before, after []string) string {
	return lineDiff(strings.Join(before, "\n"), strings.Join(after, "\n"))
}

// lineDiff lists the lines only in want (-) and only in got (+), in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}

// TestRelativeChdir changes into a store directory by a relative path from
// the host (env -C does the chdir as given), then asks for the working
// directory: the store path, under every engine. The ptrace engine caches
// the working directory per tracee; chdir's own translation must not leave
// the directory it started from in that cache, or every relative path after
// it (getcwd's answer here, and where a relative write goes) is judged
// against the old one.
func TestRelativeChdir(t *testing.T) {
	p := testPack(t)
	share := filepath.Join(p.store.Path("noref"), "share")
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				dir := p.userDir(t, "work", testUID)
				rel, err := filepath.Rel(dir, share)
				if err != nil {
					t.Fatal(err)
				}
				r := p.run(t, invocation{engine: engine, dir: dir, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", "env -C " + rel + " pwd"}})
				if r.status != 0 || r.stdout != share+"\n" || r.stderr != "" {
					t.Errorf("status %d, stdout %q, stderr %q; want 0, %q", r.status, r.stdout, r.stderr, share+"\n")
				}
			})
		}
	})
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apptainer/sif/v2/pkg/sif"

	gsif "github.com/gpack/gpack/formats/sif"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/target"
	"github.com/gpack/gpack/internal/teststore"
)

// apptainerBin is the real Apptainer, which scripts/deps.sh builds from
// source (Debian 12 has no package).
func apptainerBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("apptainer")
	if err != nil {
		need.Missing(t, "apptainer", "make deps builds it from source into /usr/local (scripts/deps.sh)")
	}
	return p
}

// capNames are the Linux capabilities by number, as Apptainer names them.
var capNames = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}

// missingCaps are the capabilities that this machine's root lacks in its
// bounding set (a container or a VM's sandbox may keep some back): root's
// apptainer run asks for all of them and fails ("Requesting capability
// set ... while permitted capability set is ..."), unless told to drop
// them.
func missingCaps(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			var missing []string
			for i, name := range capNames {
				if bnd&(1<<i) == 0 {
					missing = append(missing, name)
				}
			}
			return missing
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return nil
}

type apptainerResult struct {
	stdout, stderr string
	code           int
}

// apptainer runs Apptainer as uid on the target machine, the store
// hidden, in dir, which is also HOME and holds Apptainer's cache and
// temporary files. As root, run and exec drop the capabilities root does
// not have here.
func apptainer(t *testing.T, bin, store string, uid int, dir string, args ...string) apptainerResult {
	t.Helper()
	if uid == 0 && (args[0] == "run" || args[0] == "exec") {
		if caps := missingCaps(t); len(caps) > 0 {
			args = append([]string{args[0], "--drop-caps", strings.Join(caps, ",")}, args[1:]...)
		}
	}
	cmd := target.Command(store, uid, dir, append([]string{bin}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir, "LANG=C",
		"APPTAINER_CACHEDIR=" + filepath.Join(dir, "cache"), "APPTAINER_TMPDIR=" + dir}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := apptainerResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("apptainer %v: %v", args, err)
	}
	t.Logf("as %d: apptainer %s\n%s%s", uid, strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

// expect fails unless r succeeded with exactly stdout, and with no
// warning or error on stderr.
func (r apptainerResult) expect(t *testing.T, what, stdout string) {
	t.Helper()
	if r.code != 0 || r.stdout != stdout {
		t.Errorf("%s: exit %d, stdout %q, want %q; stderr:\n%s", what, r.code, r.stdout, stdout, r.stderr)
	}
	for _, bad := range []string{"WARNING", "ERROR", "FATAL"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("%s: stderr says %s:\n%s", what, bad, r.stderr)
		}
	}
}

// TestSifApptainer packs the real Nix store's profile as SIF images and
// gives them to the real Apptainer, as root and as an unprivileged user,
// with the host's store hidden: apptainer run (the entry point), exec,
// inspect --runscript and --labels, for every compressor; and apptainer
// build, which takes a gpack image as the source of a new one.
func TestSifApptainer(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store and Apptainer")
	}
	need.Root(t) // test users, and apptainer as root
	bin := apptainerBin(t)
	ns := nixstore.New(t)
	profile := ns.Items["profile"]
	labels := strings.Join([]string{
		"org.gpack.roots: " + profile,
		"org.gpack.store: /nix/store",
		"org.label-schema.build-arch: " + runtime.GOARCH,
		"org.label-schema.build-date: 1970-01-01T00:00:01Z",
		"org.label-schema.description: gpack image of " + profile,
		"org.label-schema.name: profile",
		"org.label-schema.schema-version: 1.0",
	}, "\n") + "\n"
	users := []int{0, nobody}

	for _, comp := range []string{"gzip", "xz", "zstd", "lz4", "none"} {
		t.Run(comp, func(t *testing.T) {
			dir := userDir(t)
			img := packTo(t, filepath.Join(dir, "hello.sif"), "-f", "sif", "-C", comp, "--entry-point", "bin/hello-script", profile)
			for _, uid := range users {
				t.Run(fmt.Sprint(uid), func(t *testing.T) {
					home := dir
					if uid == 0 {
						home = t.TempDir()
					}
					apptainer(t, bin, ns.Dir, uid, home, "run", img, "ignored").expect(t, "run", fmt.Sprintf("hello from nix\n%d\n", uid))
					apptainer(t, bin, ns.Dir, uid, home, "exec", img, "bash", "-c", `echo "$1" two | sed s/two/2/; echo "${PATH%%:*}"`, "sh", "one").
						expect(t, "exec", "one 2\n"+profile+"/bin\n")
					apptainer(t, bin, ns.Dir, uid, home, "inspect", "--runscript", img).expect(t, "inspect --runscript",
						"# /.singularity.d/runscript is a symlink to the entry point, run without a shell\n"+
							"exec "+profile+"/bin/hello-script \"$@\"\n")
					apptainer(t, bin, ns.Dir, uid, home, "inspect", "--labels", img).expect(t, "inspect --labels", labels)
				})
			}
		})
	}

	// -A and -E: the runscript passes the arguments, the environment
	// script sets the variables.
	t.Run("entry point arguments", func(t *testing.T) {
		dir := userDir(t)
		img := packTo(t, filepath.Join(dir, "args.sif"), "-f", "sif", "--entry-point", "bin/bash",
			"-A", "-c", "-A", `echo "args: $* $GREETING"`, "-A", "sh", "-E", "GREETING=hi there", profile)
		apptainer(t, bin, ns.Dir, nobody, dir, "run", img, "a b", "c").expect(t, "run", "args: a b c hi there\n")
	})

	// apptainer build extracts the source image (unsquashfs), adds its
	// own /.singularity.d files (chmodding the runscripts through their
	// links) and writes a new SIF.
	for _, uid := range []int{nobody, 0} {
		t.Run(fmt.Sprintf("build new.sif old.sif as %d", uid), func(t *testing.T) {
			if caps := missingCaps(t); uid == 0 && len(caps) > 0 {
				// It runs unsquashfs in a container of its own, which
				// asks for every capability, whatever -c's config says.
				t.Skipf("root lacks %v here: apptainer build as root fails for any source image", caps)
			}
			dir := userDir(t)
			old := packTo(t, filepath.Join(dir, "old.sif"), "-f", "sif", "--entry-point", "bin/hello-script", profile)
			nw := filepath.Join(dir, "new.sif")
			home := dir
			if uid == 0 {
				home = t.TempDir()
			}
			if r := apptainer(t, bin, ns.Dir, uid, home, "build", nw, old); r.code != 0 || !strings.Contains(r.stderr, "INFO:    Build complete: "+nw) {
				t.Fatalf("apptainer build: exit %d\n%s", r.code, r.stderr)
			}
			os.Chown(nw, nobody, nobody)
			apptainer(t, bin, ns.Dir, nobody, dir, "run", nw).expect(t, "run the new image", "hello from nix\n65534\n")
			// The new image keeps gpack's labels (from labels.json) and
			// adds Apptainer's.
			r := apptainer(t, bin, ns.Dir, nobody, dir, "inspect", "--labels", nw)
			got := map[string]bool{}
			for _, l := range lines(r.stdout) {
				got[l] = true
			}
			for _, l := range append(lines(labels), "org.label-schema.usage.apptainer.version: "+apptainerVersion(t, bin),
				"org.label-schema.usage.singularity.deffile.bootstrap: localimage") {
				if strings.HasPrefix(l, "org.label-schema.build-date: ") {
					continue // the new image's own date
				}
				if !got[l] {
					t.Errorf("inspect --labels of the new image lacks %q:\n%s", l, r.stdout)
				}
			}
		})
	}
}

// apptainerVersion is what apptainer --version says after "apptainer version ".
func apptainerVersion(t *testing.T, bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "apptainer version ")
}

// TestSifDeterministic: the same items give the same image with one core
// or two and with umask 022 or 077, mode 644 either way; without -o it is
// <first-item-name>.sif.
func TestSifDeterministic(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, c := range []string{"gzip", "zstd"} {
		var first string
		for i, env := range [][]string{{"GOMAXPROCS=1"}, {"GOMAXPROCS=2"}} {
			wd := filepath.Join(dir, fmt.Sprintf("%s-%d", c, i))
			if err := os.Mkdir(wd, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", fmt.Sprintf("umask %s && exec \"$@\"", []string{"022", "077"}[i]), "sh",
				gpackBin, "pack", "-q", "-f", "sif", "-C", c, "--entry-point", "bin/hello", ts.Path("profile"), ts.Path("script"))
			cmd.Dir = wd
			cmd.Env = append(os.Environ(), env...)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v %s", err, b)
			}
			if string(b) != "profile.sif\n" {
				t.Errorf("gpack printed %q, want profile.sif, the first item's name", b)
			}
			out := filepath.Join(wd, "profile.sif")
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("%s: %v, want mode 644 whatever the umask", out, err)
			}
			if h := fileHash(t, out); first == "" {
				first = h
			} else if h != first {
				t.Errorf("-C %s: GOMAXPROCS=1 umask 022 and GOMAXPROCS=2 umask 077 give different images", c)
			}
		}
	}
}

// TestSifBadUsage: what -f sif refuses, before any work, with one line.
func TestSifBadUsage(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, tc := range []struct {
		name string
		args []string
		has  []string
	}{
		{"stdout", []string{"-o", "-"}, []string{"-f sif cannot be written to standard output"}},
		{"push", []string{"--push", "localhost:5000/x"}, []string{"--push applies to -f docker and oci, not to -f sif"}},
		{"arch", []string{"--arch", "vax"}, []string{"--arch vax: a SIF image records"}},
		{"block size", []string{"--block-size", "3K"}, []string{"--block-size 3072"}},
		{"compressor", []string{"-C", "lzma"}, []string{`-C unknown compression "lzma"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"pack", "-q", "-f", "sif"}, tc.args...)
			if !slices.Contains(tc.args, "-o") {
				args = append(args, "-o", filepath.Join(dir, tc.name+".sif"))
			}
			r := gpack(t, 0, append(args, ts.Path("profile"))...)
			oneLineError(t, r, exitUsage, tc.has...)
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				t.Errorf("%s holds %d entries after a refused pack", dir, len(ents))
			}
		})
	}
}

// TestSifLabelsOfSeveralItems: for a profile gpack makes of several
// items, the labels Prepare writes into labels.json (before the closure
// is read) are those the metadata object says (from the built tree), but
// for the architecture.
func TestSifLabelsOfSeveralItems(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img := packTo(t, filepath.Join(openTempDir(t), "two.sif"), "-f", "sif", ts.Path("script"), ts.Path("hello"))
	f, err := sif.LoadContainerFromPath(img, sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		t.Fatal(err)
	}
	defer f.UnloadContainer()
	md, err := f.GetDescriptor(sif.WithDataType(sif.DataGenericJSON))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := md.GetData()
	if err != nil {
		t.Fatal(err)
	}
	var m gsif.Metadata
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	part, err := f.GetDescriptor(sif.WithPartitionType(sif.PartPrimSys))
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	im, err := squashfs.Open(io.NewSectionReader(file, part.Offset(), part.Size()), part.Size(), squashfs.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inside, err := fs.ReadFile(im, gsif.LabelsPath)
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]string
	if err := json.Unmarshal(inside, &labels); err != nil {
		t.Fatal(err)
	}
	roots := []string{ts.Path("hello"), ts.Path("script")}
	slices.Sort(roots)
	if got, want := labels[gsif.LabelRoots], strings.Join(roots, " "); got != want {
		t.Errorf("labels.json roots %q, want %q", got, want)
	}
	labels[gsif.LabelArch] = runtime.GOARCH
	if !maps.Equal(labels, m.Data.Attributes.Labels) {
		t.Errorf("labels.json %v and the metadata's labels %v differ (but for the architecture)", labels, m.Data.Attributes.Labels)
	}
}

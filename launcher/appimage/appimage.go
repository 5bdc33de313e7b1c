package appimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gpack/gpack/formats/appimage/layout"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/launcher"
	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/engine"
)

const msgPrefix = "gpack-appimage: "

// Environment variables the runtime reads.
const (
	extractAndRunVar = "APPIMAGE_EXTRACT_AND_RUN"
	debugVar         = "GPACK_DEBUG"
)

// cacheSize bounds the squashfs reader's cache of decompressed blocks.
const cacheSize = 16 << 20

// run is one start of the runtime.
type run struct {
	start   launcher.StartState
	debugOn bool
	exe     string // the AppImage file
	f       *os.File
	l       *layout.Layout
	im      *squashfs.Image
	m       *contract.Manifest
}

func (r *run) say(msg string) { io.WriteString(os.Stderr, msgPrefix+msg+"\n") }

func (r *run) debug(msg string) {
	if r.debugOn {
		r.say(msg)
	}
}

// Main is the whole of the AppImage runtime (cmd/gpack-launcher built with
// the appimage tag): it reads the AppImage it was started from, and
// runs the program that argv asks for, or one of the --appimage-* and
// --gpack-* commands. It returns the status to exit with.
func Main(st launcher.StartState) int {
	r := &run{start: st, debugOn: os.Getenv(debugVar) != "" && os.Getenv(debugVar) != "0"}
	status, err := r.main(os.Args)
	if err != nil {
		r.say(err.Error())
	}
	return status
}

func (r *run) main(args []string) (int, error) {
	if len(args) == 2 && args[1] == holdArg {
		// The child of the shared mount's namespaces: its exec says
		// they are ready (share.go).
		return 0, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return engine.ExitCannotRun, fmt.Errorf("cannot find the AppImage's own path: %w", err)
	}
	r.exe = exe
	if err := r.open(); err != nil {
		return engine.ExitCannotRun, err
	}
	defer r.f.Close()
	if len(args) == 0 {
		args = []string{exe}
	}
	name, entryErr := r.entryPoint()
	// A link named after one of the pack's programs runs that program
	// (busybox style); the AppImage under any other name runs the entry
	// point.
	if b := filepath.Base(args[0]); b != filepath.Base(exe) {
		if _, ok := r.m.Programs[b]; ok {
			name, entryErr = b, nil
		}
	}
	if len(args) > 1 && strings.HasPrefix(args[1], "--appimage-") || len(args) > 1 && strings.HasPrefix(args[1], "--gpack-") {
		switch args[1] {
		case "--appimage-offset":
			fmt.Println(r.l.Offset)
			return 0, nil
		case "--appimage-extract":
			keep := func(string) bool { return true }
			if len(args) > 2 {
				pat := args[2]
				if _, err := path.Match(pat, ""); err != nil {
					return 2, fmt.Errorf("--appimage-extract %q: %w", pat, err)
				}
				keep = func(p string) bool { ok, _ := path.Match(pat, p); return ok }
			}
			return r.extractHere(keep)
		case "--appimage-extract-and-run":
			if entryErr != nil {
				return engine.ExitNotFound, entryErr
			}
			return r.runExtracted(name, append([]string{args[0]}, args[2:]...), false)
		case "--appimage-mount":
			return r.mountOnly()
		case "--gpack-run":
			if len(args) < 3 {
				return 2, fmt.Errorf("--gpack-run NAME [ARG...]: the programs are %s", strings.Join(r.programs(), " "))
			}
			if _, ok := r.m.Programs[args[2]]; !ok {
				return engine.ExitNotFound, fmt.Errorf("--gpack-run %s: the AppImage has no such program; it has %s", args[2], strings.Join(r.programs(), " "))
			}
			return r.runProgram(args[2], args[2:])
		case serveArg:
			return r.serve(), nil
		case "--gpack-cache":
			if len(args) != 3 {
				return 2, errors.New("--gpack-cache list|clean")
			}
			if err := cacheCommand(os.Stdout, args[2], r.l.Hex()); err != nil {
				return 1, err
			}
			return 0, nil
		case "--appimage-help", "--gpack-help":
			fmt.Print(help)
			return 0, nil
		}
		// Unknown --appimage-/--gpack- options go to the program, as the
		// AppImage runtime passes what it does not know.
	}
	if entryErr != nil {
		return engine.ExitNotFound, entryErr
	}
	return r.runProgram(name, args)
}

const help = `This AppImage was made by gpack pack -f appimage. It runs its entry point
with the arguments given, and also takes, as its first argument:
  --gpack-run NAME [ARG...]    run the pack's program NAME
  --gpack-cache list|clean     list the extraction cache, or remove all of it
                               but this AppImage's
  --appimage-extract [PATTERN] extract the pack (or the paths PATTERN matches)
                               into ./squashfs-root
  --appimage-extract-and-run   run from the extraction cache, never FUSE
  --appimage-offset            print where the squashfs image starts
  --appimage-mount             mount the image and print where, until killed
A link to the AppImage named after a program runs that program.
APPIMAGE_EXTRACT_AND_RUN=1 runs from the extraction cache, GPACK_DEBUG=1 says
how it runs.
`

// open reads the AppImage's layout, image and manifest.
func (r *run) open() error {
	f, err := os.Open(r.exe)
	if err != nil {
		return fmt.Errorf("cannot read the AppImage: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("cannot read the AppImage: %w", err)
	}
	l, err := layout.Read(f, fi.Size())
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", r.exe, err)
	}
	im, err := squashfs.Open(io.NewSectionReader(f, l.Offset, l.Size), l.Size, squashfs.ReadOptions{CacheSize: cacheSize})
	if err != nil {
		f.Close()
		return fmt.Errorf("%s is damaged: %w", r.exe, err)
	}
	mf, err := im.Open(contract.ManifestPath)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s is damaged: %w", r.exe, err)
	}
	b, err := io.ReadAll(io.LimitReader(mf, 1<<20))
	mf.Close()
	if err == nil {
		r.m, err = contract.ParseManifest(bytes.NewReader(b))
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("%s is damaged: its manifest: %w", r.exe, err)
	}
	r.f, r.l, r.im = f, l, im
	return nil
}

// entryPoint is the program AppRun names: AppRun is a link to bin/NAME.
func (r *run) entryPoint() (string, error) {
	t, err := r.im.ReadLink("AppRun")
	if err != nil {
		return "", fmt.Errorf("%s has no AppRun link: %w", r.exe, err)
	}
	name := path.Base(t)
	if _, ok := r.m.Programs[name]; !ok || path.Dir(path.Clean(t)) != "bin" {
		return "", fmt.Errorf("%s has no entry point (AppRun names %s, which the pack lacks): run one of its programs "+
			"with --gpack-run NAME: %s", r.exe, t, strings.Join(r.programs(), " "))
	}
	return name, nil
}

func (r *run) programs() []string {
	var ns []string
	for n := range r.m.Programs {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// env is the program's environment: the caller's, with what the AppImage
// specification sets for the payload.
func (r *run) env(appdir, argv0 string) []string {
	env := os.Environ()
	owd, _ := os.Getwd()
	set := map[string]string{"APPIMAGE": r.exe, "APPDIR": appdir, "ARGV0": argv0, "OWD": owd}
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"APPDIR", "APPIMAGE", "ARGV0", "OWD"} {
		out = append(out, k+"="+set[k])
	}
	return out
}

// runProgram runs the program name with args, the fastest way the host
// allows: served over FUSE in a user namespace, else from the extraction
// cache, else (the cache cannot be written) the last resorts of
// runExtracted.
func (r *run) runProgram(name string, args []string) (int, error) {
	if v := os.Getenv(extractAndRunVar); v != "" && v != "0" {
		r.debug(extractAndRunVar + " is set: running from the extraction cache")
		return r.runExtracted(name, args, false)
	}
	if v := os.Getenv("GPACK_ENGINE"); v != "" && v != "auto" && v != "userns" {
		r.debug("GPACK_ENGINE=" + v + ": running from the extraction cache")
		return r.runExtracted(name, args, false)
	}
	// An extraction that is there already runs at native speed, with no
	// FUSE round trips and the page cache of earlier runs: a run that
	// wanted it (APPIMAGE_EXTRACT_AND_RUN, a node without user
	// namespaces that shares the home) made it, and using it writes
	// nothing. bench/appimage.sh, Python importing 200 modules: 159 ms
	// from the cache, 522 ms over FUSE, 154 ms direct.
	if dir, ok := cacheEntry(r.l); ok {
		r.debug("cache: " + dir + " is there: running from it rather than over FUSE")
		return launcher.RunPack(r.start, dir, name, args, r.env(dir, args[0])), nil
	}
	if status, err, ran := r.runShared(name, args); ran {
		return status, err
	} else if err != nil {
		r.debug(err.Error())
	}
	if status, err, ran := r.runFUSE(name, args); ran {
		return status, err
	} else if err != nil {
		r.debug("fuse: " + err.Error())
	}
	return r.runExtracted(name, args, true)
}

// runExtracted runs the program name from the extraction cache, through
// the launcher's engines (relocation where user namespaces are off).
// Where the cache cannot be written, it runs the program with ptrace from
// the image mounted by fusermount (when mount is set and the host has
// it), else from an extraction made for this run alone.
func (r *run) runExtracted(name string, args []string, mount bool) (int, error) {
	dir, err := cached(r.f, r.l, r.im, r.debug)
	var unwritable *unwritableError
	if errors.As(err, &unwritable) {
		r.debug("cache: " + err.Error())
		if mount {
			if status, err, ran := r.runMounted(name, args); ran {
				return status, err
			} else {
				r.debug("fusermount: " + err.Error())
			}
		}
		return r.runTemporary(name, args)
	}
	if err != nil {
		return engine.ExitCannotRun, err
	}
	return launcher.RunPack(r.start, dir, name, args, r.env(dir, args[0])), nil
}

// extractHere is --appimage-extract: the image, or what keep keeps, into
// ./squashfs-root, as the AppImage runtime does.
func (r *run) extractHere(keep func(string) bool) (int, error) {
	const dst = "squashfs-root"
	if err := os.Mkdir(dst, 0o700); err != nil {
		return 1, fmt.Errorf("--appimage-extract: %w", err)
	}
	if err := extract(r.im, dst, keep); err != nil {
		return 1, fmt.Errorf("--appimage-extract: %w", err)
	}
	if err := os.Chmod(dst, perm(r.im.Root())); err != nil {
		return 1, err
	}
	if err := setTime(dst, r.im.Root()); err != nil {
		return 1, err
	}
	return 0, nil
}

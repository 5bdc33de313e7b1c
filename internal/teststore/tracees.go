package teststore

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Greeting is the first line hello prints.
const Greeting = "hello from the store: greetings from libgreet\n"

// Placeholders in Tracee.Args and Tracee.Stdout, which only the runner of a
// tracee knows; replace them with strings.ReplaceAll.
const (
	// WorkDir stands for the absolute path of the tracee's working
	// directory, which the tracee may write to (and leaves as it was).
	WorkDir = "\x00WORKDIR"
	// Argv0 stands for the argv[0] the tracee was started with.
	Argv0 = "\x00ARGV0"
)

// A Tracee is a program of the store that does one thing a launcher must get
// right when it shows the store at its path by intercepting system calls
// (the ptrace engine): many threads, vfork, hundreds of processes, relative
// paths after chdir, the /proc links that name the program and its
// directory, statx and openat2, AF_UNIX addresses, an interpreter that is a
// script, absolute symlinks between items, Go's runtime, a pipeline. Each
// prints what it saw, so that a test compares its output, run through a
// launcher with the store hidden, with Stdout: what it prints where the
// store exists at its path.
type Tracee struct {
	// Name is unique among the tracees, and fit to name a pack's wrapper.
	Name string
	// Item and Path locate the program: Path is relative to the item, and
	// may lead through a symlink.
	Item, Path string
	// Args are the arguments after argv[0].
	Args []string
	// Stdout is the exact output, with placeholders.
	Stdout string
}

// Program returns the absolute store path of the tracee's program.
func (tr Tracee) Program(s *Store) string { return filepath.Join(s.Path(tr.Item), tr.Path) }

// Tracees returns every tracee of the store with its expected output. It
// reads the store's files and asks the running kernel whether it has statx
// and openat2, because the expected output depends on both.
func (s *Store) Tracees() ([]Tracee, error) {
	threads, err := s.threadsOutput()
	if err != nil {
		return nil, fmt.Errorf("teststore: %w", err)
	}
	hello := filepath.Join(s.Path("hello"), "bin", "hello")
	sh := filepath.Join(s.Path("dash"), "bin", "sh")
	share := filepath.Join(s.Path("noref"), "share")
	selfexe := filepath.Join(s.Path("selfexe"), "bin", "selfexe")
	exeLinks := "/proc/self/exe: " + selfexe + "\n/proc/PID/exe: " + selfexe + "\nargv[0]: " + Argv0 + "\n"
	chain := filepath.Join(s.Path("chain"), "bin")
	return []Tracee{
		{Name: "threads", Item: "threads", Path: "bin/threads", Stdout: threads},
		{Name: "spawn", Item: "forker", Path: "bin/forker", Args: []string{"spawn"},
			Stdout: Greeting + "spawned\nspawn exit 0\n"},
		{Name: "forker", Item: "forker", Path: "bin/forker", Stdout: "forked 200 ok\n"},
		{Name: "cwd", Item: "cwd", Path: "bin/cwd", Stdout: "getcwd: " + share + "\n" +
			"/proc/self/cwd: " + share + "\n" +
			"realpath data.txt: " + share + "/data.txt\n" +
			"data.txt: " + dataText +
			"../share/data.txt: " + dataText +
			"./data.txt: " + dataText +
			"after chdir ..: " + s.Path("noref") + "\n" +
			"after fchdir: " + share + "\n"},
		{Name: "selfexe", Item: "selfexe", Path: "bin/selfexe", Stdout: exeLinks},
		// The profile's links are absolute symlinks into other items: the
		// kernel follows them, and /proc/self/exe names the target.
		{Name: "selfexe-link", Item: "profile", Path: "bin/selfexe", Stdout: exeLinks},
		{Name: "hello-link", Item: "profile", Path: "bin/hello", Args: []string{"via link"},
			Stdout: Greeting + "via link\n"},
		{Name: "newsys", Item: "newsys", Path: "bin/newsys", Stdout: s.newsysOutput()},
		{Name: "unixsock", Item: "unixsock", Path: "bin/unixsock", Args: []string{WorkDir},
			Stdout: "server getsockname: " + WorkDir + "/sock\n" +
				"client got pong\n" +
				"client getpeername: " + WorkDir + "/sock\n" +
				"server got ping\n"},
		// chain's interpreter is interp, a script whose own interpreter is
		// the store's dash: the kernel runs dash interp chain x.
		{Name: "chain", Item: "chain", Path: "bin/chain", Args: []string{"x"},
			Stdout: "interp: " + chain + "/interp\n" +
				"script: " + chain + "/chain\n" +
				"chain: " + chain + "/chain x\n" +
				Greeting + "x\n"},
		{Name: "gostatic", Item: "gostatic", Path: "bin/gostatic", Stdout: s.goOutput("gostatic", "static")},
		{Name: "godynamic", Item: "godynamic", Path: "bin/godynamic", Stdout: s.goOutput("godynamic", "dynamic")},
		{Name: "hostlink", Item: "hostlink", Path: "bin/hostlink", Args: []string{WorkDir},
			Stdout: s.hostlinkOutput()},
		// A pipeline of store programs started by the store's shell, each
		// by its store path.
		{Name: "pipeline", Item: "dash", Path: "bin/sh", Args: []string{"-c",
			hello + ` p1 p2 | ` + sh + ` -c 'while read -r l; do echo "1:$l"; done' | ` +
				sh + ` -c 'while read -r l; do echo "2:$l"; done'`},
			Stdout: "2:1:" + Greeting + "2:1:p1\n2:1:p2\n"},
	}, nil
}

// threadsOutput is what threads prints: the bytes its 8 threads read in
// 100 rounds of its own binary and hello's, and the FNV-1a of each.
func (s *Store) threadsOutput() (string, error) {
	files := []string{
		filepath.Join(s.Path("threads"), "bin", "threads"),
		filepath.Join(s.Path("hello"), "bin", "hello"),
	}
	const threads, rounds = 8, 100
	out := fmt.Sprintf("threads ok %d threads %d rounds", threads, rounds)
	var size int64
	var sums string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		h := fnv.New64a()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
		size += n
		sums += fmt.Sprintf(" %016x", h.Sum64())
	}
	return out + fmt.Sprintf(" %d bytes", threads*rounds*size) + sums + "\n", nil
}

// newsysOutput is what newsys prints on this kernel.
func (s *Store) newsysOutput() string {
	dataInfo := fmt.Sprintf("reg 0444 %d\n", len(dataText))
	target := filepath.Join(s.Path("noref"), "share", "data.txt")
	statx := []string{
		"data: " + dataInfo,
		"link nofollow: " + fmt.Sprintf("lnk 0777 %d\n", len(target)),
		"link: " + dataInfo,
		"storefd data: " + dataInfo,
	}
	openat2 := []string{
		"data: " + dataText,
		"data NO_MAGICLINKS: " + dataText,
		"link NO_MAGICLINKS: " + dataText,
		"link NO_SYMLINKS: ELOOP\n",
		"storefd data BENEATH: " + dataText,
		"storefd link BENEATH: EXDEV\n",
		"storefd /data IN_ROOT: " + dataText,
	}
	var b strings.Builder
	hasStatx, hasOpenat2 := kernelHas()
	for _, l := range statx {
		if !hasStatx {
			l, _, _ = strings.Cut(l, ": ")
			l += ": ENOSYS\n"
		}
		b.WriteString("statx " + l)
	}
	for i, l := range openat2 {
		if !hasOpenat2 {
			l, _, _ = strings.Cut(l, ": ")
			l += ": ENOSYS\n"
		}
		b.WriteString("openat2 " + l)
		if i == 0 && hasStatx && hasOpenat2 {
			b.WriteString("the file openat2 opened is the one statx saw: yes\n")
		}
	}
	return b.String()
}

// kernelHas reports whether the running kernel has statx and openat2:
// newsys prints ENOSYS for the calls it lacks, and so must the expectation.
func kernelHas() (statx, openat2 bool) {
	var stx unix.Statx_t
	statx = !errors.Is(unix.Statx(unix.AT_FDCWD, "/", 0, unix.STATX_TYPE, &stx), unix.ENOSYS)
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err == nil {
		unix.Close(fd)
	}
	return statx, !errors.Is(err, unix.ENOSYS)
}

// goOutput is what gotracee prints, built as item.
func (s *Store) goOutput(item, linked string) string {
	out := "linked: " + linked + "\n" +
		"executable: " + filepath.Join(s.Path(item), "bin", item) + "\n" +
		"data: " + dataText +
		"readers: 8 goroutines read it 50 times each\n"
	for i := range 4 {
		out += Greeting + "from go " + strconv.Itoa(i) + "\n"
	}
	return out
}

func (b *builder) cwd() error {
	dir := fmt.Sprintf("-DDATA_DIR=%q", filepath.Join(b.item("noref"), "share"))
	return b.program("cwd", "cwd.c", b.libcRpath(), dir)
}

// startstate is not a tracee: what it prints depends on how it was
// started, which is the point; tests compare its output across starts.
func (b *builder) startstate() error {
	return b.program("startstate", "startstate.c", b.libcRpath())
}

// badinterp names an ELF interpreter that the store lacks, so the kernel
// answers ENOENT to its execve although the program is there.
func (b *builder) badinterp() error {
	bin := filepath.Join(b.item("badinterp"), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	return b.gcc("selfexe.c", filepath.Join(bin, "badinterp"),
		"-Wl,--dynamic-linker="+filepath.Join(b.item("libc"), "lib", "ld-missing.so.2"), b.libcRpath())
}

// badshebang is a script whose #! interpreter the store lacks.
func (b *builder) badshebang() error {
	return b.shellScript(filepath.Join(b.item("badshebang"), "bin", "badshebang"),
		filepath.Join(b.item("dash"), "bin", "nosuch-sh"), "echo unreachable\n")
}

func (b *builder) selfexe() error {
	return b.program("selfexe", "selfexe.c", b.libcRpath())
}

func (b *builder) newsys() error {
	return b.program("newsys", "newsys.c", b.libcRpath(),
		fmt.Sprintf("-DSTORE_DIR=%q", b.s.Dir),
		fmt.Sprintf("-DDATA_REL=%q", Hash("noref")+"-noref/share/data.txt"),
		fmt.Sprintf("-DLINK_REL=%q", Hash("linkonly")+"-linkonly/share/target"))
}

// unixsock also has an empty directory, run/, where a test that makes the
// pack's copy of it writable binds a socket under the store path.
func (b *builder) unixsock() error {
	if err := os.MkdirAll(filepath.Join(b.item("unixsock"), "run"), 0o755); err != nil {
		return err
	}
	return b.program("unixsock", "unixsock.c", b.libcRpath())
}

// rofs tries every kind of change to the store's files, which a launcher
// must refuse as a read-only mount does; the launcher's tests run it. It is
// no Tracee: what it prints depends on the store being read-only.
func (b *builder) rofs() error {
	return b.program("rofs", "rofs.c", b.libcRpath(),
		fmt.Sprintf("-DSTORE_DIR=%q", b.s.Dir),
		fmt.Sprintf("-DNOREF=%q", b.item("noref")),
		fmt.Sprintf("-DLINKONLY=%q", b.item("linkonly")),
		fmt.Sprintf("-DUNIXSOCK=%q", b.item("unixsock")))
}

// chain is a script whose interpreter, interp, is itself a script with the
// store's dash as its interpreter; interp says what it was given and runs
// the script with dash.
func (b *builder) chain() error {
	bin := filepath.Join(b.item("chain"), "bin")
	sh := filepath.Join(b.item("dash"), "bin", "sh")
	interp := filepath.Join(bin, "interp")
	if err := b.shellScript(interp, sh,
		"echo \"interp: $0\"\necho \"script: $1\"\nexec "+sh+" \"$@\"\n"); err != nil {
		return err
	}
	return b.shellScript(filepath.Join(bin, "chain"), interp,
		"echo \"chain: $0 $*\"\nexec "+b.helloBin()+" \"$@\"\n")
}

func (b *builder) gostatic() error { return b.goProgram("gostatic", false) }

func (b *builder) godynamic() error { return b.goProgram("godynamic", true) }

// goProgram puts gotracee into <item>/bin/<name>: static without cgo; with
// cgo, dynamic, and patchelf gives it the store's ld.so as its interpreter
// and the store's libc as its RUNPATH, like dash. The store paths it uses go
// into <item>/etc/gotracee.conf, which it finds from its own path.
func (b *builder) goProgram(name string, cgo bool) error {
	bin, err := goBuild(b.src, cgo)
	if err != nil {
		return err
	}
	prog := filepath.Join(b.item(name), "bin", name)
	if err := writeFile(prog, bin, 0o755); err != nil {
		return err
	}
	if cgo {
		cmd := exec.Command("patchelf", "--set-interpreter", b.ldso(),
			"--set-rpath", filepath.Join(b.item("libc"), "lib"), prog)
		if output, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("patchelf %s: %w\n%s", prog, err, output)
		}
	}
	conf := "hello=" + b.helloBin() + "\ndata=" + filepath.Join(b.item("noref"), "share", "data.txt") + "\n"
	return writeFile(filepath.Join(b.item(name), "etc", "gotracee.conf"), []byte(conf), 0o644)
}

// goBuilds holds the two builds of gotracee, static and dynamic, for the
// life of the process: they do not depend on the store, and each link takes
// longer than compiling every C program of the store.
var goBuilds [2]struct {
	once sync.Once
	bin  []byte
	err  error
}

// goBuild builds testdata/teststore/gotracee with the go command in PATH,
// once per process, and returns the binary.
func goBuild(src string, cgo bool) ([]byte, error) {
	i, env := 0, "CGO_ENABLED=0"
	if cgo {
		i, env = 1, "CGO_ENABLED=1"
	}
	g := &goBuilds[i]
	g.once.Do(func() {
		dir, err := os.MkdirTemp("", "gotracee")
		if err != nil {
			g.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "gotracee")
		// -trimpath and -buildvcs=false keep the build directory and the
		// commit out of the binary, so that stores are deterministic.
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
		cmd.Dir = filepath.Join(src, "gotracee")
		cmd.Env = append(os.Environ(), env, "GOOS=linux", "GOARCH=amd64", "LC_ALL=C")
		if output, err := cmd.CombinedOutput(); err != nil {
			g.err = fmt.Errorf("go build %s: %w\n%s", cmd.Dir, err, output)
			return
		}
		g.bin, g.err = os.ReadFile(out)
	})
	return g.bin, g.err
}

// hostlink makes symlinks outside the store, in its working directory, that
// lead into it, and goes through them with every kind of path-carrying
// system call.
func (b *builder) hostlink() error {
	return b.program("hostlink", "hostlink.c", b.libcRpath(),
		fmt.Sprintf("-DSTORE_DIR=%q", b.s.Dir),
		fmt.Sprintf("-DHELLO=%q", b.helloBin()),
		fmt.Sprintf("-DSHARE_REL=%q", Hash("noref")+"-noref/share"),
		fmt.Sprintf("-DPROFILE_HELLO=%q", filepath.Join(b.item("profile"), "bin", "hello")),
		fmt.Sprintf("-DSELFEXE=%q", filepath.Join(b.item("selfexe"), "bin", "selfexe")),
		fmt.Sprintf("-DDASH=%q", filepath.Join(b.item("dash"), "bin", "sh")))
}

// hostlinkOutput is what hostlink prints on this kernel.
func (s *Store) hostlinkOutput() string {
	share := filepath.Join(s.Path("noref"), "share")
	selfexe := filepath.Join(s.Path("selfexe"), "bin", "selfexe")
	data := strings.TrimSuffix(dataText, "\n")
	dataStat := fmt.Sprintf("reg 0444 %d", len(dataText))
	hasStatx, hasOpenat2 := kernelHas()
	ifHas := func(has bool, out string) string {
		if has {
			return out
		}
		return "ENOSYS"
	}
	lines := [][2]string{
		{"stat abs", "reg 0555"},
		{"lstat abs", "lnk"},
		{"stat rel", "reg 0555"},
		{"stat chain1", "reg 0555"},
		{"stat plink", "reg 0555"},
		{"stat share/data.txt", dataStat},
		{"stat relshare/data.txt", dataStat},
		{"stat dirchain/data.txt", dataStat},
		{"stat share/", "dir 0555"},
		{"lstat share/", "dir 0555"},
		{"lstat share", "lnk"},
		{"stat store/.../data.txt", dataStat},
		{"stat up/<store>/.../data.txt", dataStat},
		// ".." after a link is the parent of where the link leads.
		{"stat share/../share/data.txt", dataStat},
		{"stat dangling", "ENOENT"},
		{"lstat dangling", "lnk"},
		{"stat loop1", "ELOOP"},
		{"stat hl", "reg 0644 10"},
		{"fstatat workfd abs", "reg 0555"},
		{"fstatat workfd abs nofollow", "lnk"},
		{"fstatat workfd share/empty", "reg 0444 0"},
		{"statx share/data.txt", ifHas(hasStatx, dataStat)},
		{"statx share nofollow", ifHas(hasStatx, "lnk")},
		{"statx share/ nofollow", ifHas(hasStatx, "dir 0555")},
	}
	if runtime.GOARCH == "amd64" {
		lines = append(lines, [][2]string{{"SYS_stat rel", "reg 0555"}, {"SYS_lstat rel", "lnk"}}...)
	}
	lines = append(lines, [][2]string{
		{"access abs X_OK", "ok"},
		{"faccessat workfd chain1 X_OK", "ok"},
		{"statfs share", "ok"},
		{"inotify_add_watch share", "ok"},
		{"open share/data.txt", data},
		{"openat workfd relshare/data.txt", data},
		{"openat workfd dirchain/data.txt", data},
		{"open share/data.txt O_NOFOLLOW", data},
		{"open hl", "host data"},
		{"open dangling", "ENOENT"},
		{"openat2 share/data.txt", ifHas(hasOpenat2, data)},
		{"openat2 share/data.txt NO_SYMLINKS", ifHas(hasOpenat2, "ELOOP")},
	}...)
	if runtime.GOARCH == "amd64" {
		lines = append(lines, [2]string{"SYS_open relshare/data.txt", data})
	}
	lines = append(lines, [][2]string{
		{"sharefd is", share},
		{"fstatat sharefd data.txt nofollow", dataStat},
		{"fstatat sharefd empty", "reg 0444 0"},
		{"openat sharefd data.txt", data},
		{"openat sharefd ../share/data.txt", data},
		{"openat2 sharefd data.txt BENEATH", ifHas(hasOpenat2, data)},
		{"list sharefd", "data.txt empty"},
		{"readlink abs", "the link's own text"},
		{"readlink rel", "the link's own text"},
		{"readlinkat workfd relshare", "the link's own text"},
		{"readlink plink", "the link's own text"},
		// share/.. is the noref item, which has no dirchain.
		{"readlink share/../dirchain", "ENOENT"},
		{"realpath chain1", filepath.Join(s.Path("hello"), "bin", "hello")},
		{"chdir share", "ok"},
		{"getcwd", share},
		{"open data.txt", data},
		{"chdir ..", "ok"},
		{"getcwd", s.Path("noref")},
		{"fchdir workfd", "ok"},
		{"getcwd", "the working directory"},
		{"chdir dirchain", "ok"},
		{"getcwd", share},
		{"chdir work", "ok"},
	}...)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l[0] + ": " + l[1] + "\n")
	}
	for _, e := range []struct{ label, arg string }{
		{"exec abs", "one"}, {"exec rel", "two"}, {"exec chain1", "three"}, {"exec plink", "four"},
		{"execveat workfd abs", "five"},
	} {
		b.WriteString(e.label + ":\n" + Greeting + e.arg + "\n" + e.label + ": exit 0\n")
	}
	b.WriteString("exec se:\n/proc/self/exe: " + selfexe + "\n/proc/PID/exe: " + selfexe + "\n" +
		"argv[0]: " + WorkDir + "/se\nexec se: exit 0\n")
	b.WriteString("exec script:\nscript: 1 six\nexec script: exit 0\n")
	b.WriteString("exec dangling:\nexec dangling: exec ENOENT\nexec dangling: exit 127\n")
	return b.String()
}

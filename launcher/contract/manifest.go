package contract

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gpack/gpack/launcher/internal/errs"
)

// The manifest's first line. A reader refuses any other version because a
// new version is allowed to change the meaning of existing lines; additions
// that old launchers can skip go in new line kinds instead.
const (
	manifestMagic   = "gpack-manifest"
	manifestVersion = "1"
)

// maxManifestLine bounds one line: a store path is at most PATH_MAX (4096)
// bytes and a name at most NAME_MAX (255), so 64 KiB leaves room for future
// line kinds without letting a corrupt file exhaust memory.
const maxManifestLine = 64 << 10

// Manifest tells the launcher which store program each wrapper stands for.
//
// Its text form is a line "gpack-manifest\t1", then one line per fact, fields
// separated by tabs and lines ended by "\n":
//
//	store	/nix/store
//	program	hello	/nix/store/<hash>-hello/bin/hello
//	entry	/nix/store/<hash>-hello/bin/hello	"--greeting"	"hi there"
//	env	PATH	prefix	"/nix/store/<hash>-profile/bin"
//	env	SSL_CERT_DIR	set	"/nix/store/<hash>-profile/etc/ssl/certs"
//
// The entry line, written only for a pack with an entry point, holds the
// program and its arguments, each argument in Go's quoted form
// (strconv.Quote), so that any bytes, tabs and newlines among them, survive.
// Each env line is a variable the launcher sets for the program (Env).
// Readers ignore lines of unknown kinds and extra trailing fields on known
// ones, so that later writers can add facts without breaking older packs'
// launchers.
type Manifest struct {
	// Store is the absolute store directory the programs were built for,
	// such as /nix/store or /gnu/store.
	Store string
	// Programs maps the name of each wrapper in ROOT/bin to the absolute
	// path, inside Store, of the program it starts.
	Programs map[string]string
	// Entry is the entry point that ROOT/run (EntryPath) starts: a store
	// program, as in Programs, then the arguments it gets before the
	// caller's; nil for a pack without one.
	Entry []string
	// Env are variables the launcher sets for every program of the pack,
	// in order: the profile's search paths (gpack pack -R --env) and -E.
	Env []EnvVar
}

// EnvVar is a variable of the manifest's Env. With Prefix, Value goes
// before the variable's value where it has one, ':'-separated; without,
// Value replaces it. Store paths in Value are the store's: an engine that
// shows the store elsewhere translates them (WithEnv).
type EnvVar struct {
	Name   string
	Value  string
	Prefix bool
}

// WithEnv returns env (NAME=VALUE strings) with vars applied, each store
// path prefix store+"/" in their values written as at+"/" (for the
// relocate engine; store "" translates nothing). A prefix already at the
// front of the variable (a pack run from a program of the same pack) is
// not added twice.
func WithEnv(env []string, vars []EnvVar, store, at string) []string {
	if len(vars) == 0 {
		return env
	}
	out := slices.Clone(env)
	for _, v := range vars {
		val := v.Value
		if store != "" && at != "" {
			val = strings.ReplaceAll(val, store+"/", at+"/")
		}
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, v.Name+"=") })
		if v.Prefix && i >= 0 {
			old := out[i][len(v.Name)+1:]
			switch {
			case old == "":
			case old == val || strings.HasPrefix(old, val+":"):
				continue
			default:
				val += ":" + old
			}
		}
		if i >= 0 {
			out[i] = v.Name + "=" + val
		} else {
			out = append(out, v.Name+"="+val)
		}
	}
	return out
}

// ParseManifest reads a manifest in the text form that WriteTo produces and
// checks it the same way WriteTo does.
func ParseManifest(r io.Reader) (*Manifest, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxManifestLine)
	sc.Split(scanLF)
	m := &Manifest{Programs: map[string]string{}}
	haveStore := false
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		fields := strings.Split(line, "\t")
		at := "manifest line " + strconv.Itoa(n)
		if n == 1 {
			if err := checkMagic(fields); err != nil {
				return nil, errs.Wrap(err, at)
			}
			continue
		}
		switch fields[0] {
		case "store":
			if len(fields) < 2 {
				return nil, errors.New(at + ": a store line needs the store directory")
			}
			if haveStore {
				return nil, errors.New(at + ": a second store line")
			}
			haveStore = true
			m.Store = fields[1]
		case "program":
			if len(fields) < 3 {
				return nil, errors.New(at + ": a program line needs a name and a store path")
			}
			name := fields[1]
			if _, dup := m.Programs[name]; dup {
				return nil, errors.New(at + ": program " + strconv.Quote(name) + " is listed twice")
			}
			m.Programs[name] = fields[2]
		case "env":
			if len(fields) < 4 || (fields[2] != "prefix" && fields[2] != "set") {
				return nil, errors.New(at + ": an env line needs a name, prefix or set, and a quoted value")
			}
			val, err := strconv.Unquote(fields[3])
			if err != nil || !strings.HasPrefix(fields[3], "\"") {
				return nil, errors.New(at + ": env value " + strconv.Quote(fields[3]) + " is not a quoted string")
			}
			m.Env = append(m.Env, EnvVar{Name: fields[1], Value: val, Prefix: fields[2] == "prefix"})
		case "entry":
			if len(fields) < 2 {
				return nil, errors.New(at + ": an entry line needs a store path")
			}
			if m.Entry != nil {
				return nil, errors.New(at + ": a second entry line")
			}
			m.Entry = []string{fields[1]}
			for _, q := range fields[2:] {
				arg, err := strconv.Unquote(q)
				if err != nil || !strings.HasPrefix(q, "\"") {
					return nil, errors.New(at + ": entry argument " + strconv.Quote(q) + " is not a quoted string")
				}
				m.Entry = append(m.Entry, arg)
			}
		default:
			// Unknown kinds (and empty lines) belong to newer writers.
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errors.New("manifest line " + strconv.Itoa(n+1) + " is longer than " +
				strconv.Itoa(maxManifestLine) + " bytes")
		}
		return nil, errs.Wrap(err, "reading the manifest")
	}
	if n == 0 {
		return nil, errors.New("the manifest is empty: want a first line " +
			strconv.Quote(manifestMagic+"\t"+manifestVersion))
	}
	if !haveStore {
		return nil, errors.New("the manifest has no store line")
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// scanLF splits lines at "\n" only: bufio.ScanLines would also drop a "\r"
// before it, so a path ending in "\r" would not survive a round trip.
func scanLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func checkMagic(fields []string) error {
	switch {
	case fields[0] != manifestMagic:
		return errors.New("not a gpack manifest: the first line is " +
			strconv.Quote(strings.Join(fields, "\t")) + ", want " +
			strconv.Quote(manifestMagic+"\t"+manifestVersion))
	case len(fields) < 2 || fields[1] != manifestVersion:
		v := ""
		if len(fields) >= 2 {
			v = fields[1]
		}
		return errors.New("manifest version " + strconv.Quote(v) +
			" is not supported by this launcher, which reads version " + manifestVersion +
			": use the launcher of the gpack that wrote the pack")
	}
	return nil
}

// WriteTo writes the manifest in its text form: programs sorted by name, so
// that the same manifest always gives the same bytes. It writes nothing if
// the manifest is invalid: a store that is not a clean absolute path, a name
// that is empty, ".", "..", or contains a tab, newline, NUL or '/', or a
// program path that is not a clean absolute path inside the store.
func (m *Manifest) WriteTo(w io.Writer) (int64, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	var b strings.Builder
	b.WriteString(manifestMagic + "\t" + manifestVersion + "\n")
	b.WriteString("store\t" + m.Store + "\n")
	for _, name := range slices.Sorted(maps.Keys(m.Programs)) {
		b.WriteString("program\t" + name + "\t" + m.Programs[name] + "\n")
	}
	if len(m.Entry) > 0 {
		b.WriteString("entry\t" + m.Entry[0])
		for _, a := range m.Entry[1:] {
			b.WriteString("\t" + strconv.Quote(a))
		}
		b.WriteString("\n")
	}
	for _, v := range m.Env {
		op := "set"
		if v.Prefix {
			op = "prefix"
		}
		b.WriteString("env\t" + v.Name + "\t" + op + "\t" + strconv.Quote(v.Value) + "\n")
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), errs.Wrap(err, "writing the manifest")
}

// check reports the first problem that would make the manifest unreadable or
// unsafe for the launcher, in name order so that the error is deterministic.
func (m *Manifest) check() error {
	if err := checkPath(m.Store); err != nil {
		return errs.Wrap(err, "manifest store ", strconv.Quote(m.Store))
	}
	if m.Store == "/" {
		return errors.New("manifest store is /: the store must be a directory below /")
	}
	for _, name := range slices.Sorted(maps.Keys(m.Programs)) {
		if err := checkName(name); err != nil {
			return errs.Wrap(err, "manifest program name ", strconv.Quote(name))
		}
		p := m.Programs[name]
		if err := checkPath(p); err != nil {
			return errs.Wrap(err, "manifest program ", name, " path ", strconv.Quote(p))
		}
		if !strings.HasPrefix(p, m.Store+"/") {
			return errors.New("manifest program " + name + " path " + strconv.Quote(p) +
				" is not inside the store " + m.Store)
		}
	}
	for _, v := range m.Env {
		if !envName(v.Name) {
			return errors.New("manifest env name " + strconv.Quote(v.Name) + " is not a variable name (letters, digits and _, not first a digit)")
		}
		if strings.ContainsRune(v.Value, 0) {
			return errors.New("manifest env " + v.Name + " holds a NUL byte")
		}
	}
	if m.Entry != nil {
		if len(m.Entry) == 0 {
			return errors.New("manifest entry is empty: want a program")
		}
		p := m.Entry[0]
		if err := checkPath(p); err != nil {
			return errs.Wrap(err, "manifest entry path ", strconv.Quote(p))
		}
		if !strings.HasPrefix(p, m.Store+"/") {
			return errors.New("manifest entry path " + strconv.Quote(p) + " is not inside the store " + m.Store)
		}
	}
	return nil
}

// checkName accepts names that can be a file in ROOT/bin and a manifest field.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case name == "." || name == "..":
		return errors.New("is not a file name")
	case strings.ContainsAny(name, "\t\n\x00"):
		return errors.New("contains a tab, newline or NUL")
	case strings.Contains(name, "/"):
		return errors.New("contains '/'")
	}
	return nil
}

// checkPath accepts clean absolute paths that fit in a manifest field. Clean
// matters because the launcher compares and joins them as strings.
func checkPath(p string) error {
	switch {
	case !filepath.IsAbs(p):
		return errors.New("is not absolute")
	case filepath.Clean(p) != p:
		return errors.New("is not clean (want " + strconv.Quote(filepath.Clean(p)) + ")")
	case strings.ContainsAny(p, "\t\n\x00"):
		return errors.New("contains a tab, newline or NUL")
	}
	return nil
}

// envName accepts the names a shell exports: letters, digits and '_', not
// first a digit.
func envName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

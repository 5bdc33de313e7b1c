package pack

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// EnvVar is one variable of a pack's environment. With Prefix, Value goes
// before the variable's value where one is set, ':'-separated (a search
// path); without, Value replaces it.
type EnvVar struct {
	Name   string
	Value  string
	Prefix bool
}

// layouts are the search paths of the usual layouts, in the order the
// environment lists them, each set when the profile has one of its
// directories:
//
//   - PATH: bin and sbin, where the profile's programs are;
//   - MANPATH, INFOPATH: share/man and share/info, for man and info;
//   - PKG_CONFIG_PATH: lib/pkgconfig and share/pkgconfig, for building
//     against the profile's libraries;
//   - ACLOCAL_PATH: share/aclocal, for autoreconf with the profile's m4;
//   - TERMINFO_DIRS: share/terminfo, so that ncurses programs find their
//     terminal descriptions, which the host may lack;
//   - XDG_DATA_DIRS: share, when it has applications, icons, mime or
//     glib-2.0 schemas; XDG_CONFIG_DIRS: etc/xdg;
//   - GUIX_LOCPATH: lib/locale, Guix's glibc's locale data;
//   - SSL_CERT_DIR and SSL_CERT_FILE: etc/ssl/certs and its
//     ca-certificates.crt, which OpenSSL, GnuTLS and Go read, so that TLS
//     works on a host whose certificates are elsewhere.
//
// Compilers' CPATH and LIBRARY_PATH are left out: Guix sets them only for
// a toolchain, and on the target they would change how the host's own
// compiler builds.
var layouts = []struct {
	name   string
	dirs   []string
	prefix bool
	when   []string // and one of these exists below the profile
}{
	{name: "PATH", dirs: []string{"bin", "sbin"}, prefix: true},
	{name: "MANPATH", dirs: []string{"share/man"}, prefix: true},
	{name: "INFOPATH", dirs: []string{"share/info"}, prefix: true},
	{name: "PKG_CONFIG_PATH", dirs: []string{"lib/pkgconfig", "share/pkgconfig"}, prefix: true},
	{name: "ACLOCAL_PATH", dirs: []string{"share/aclocal"}, prefix: true},
	{name: "TERMINFO_DIRS", dirs: []string{"share/terminfo"}, prefix: true},
	{name: "XDG_DATA_DIRS", dirs: []string{"share"}, prefix: true,
		when: []string{"share/applications", "share/icons", "share/mime", "share/glib-2.0/schemas"}},
	{name: "XDG_CONFIG_DIRS", dirs: []string{"etc/xdg"}, prefix: true},
	{name: "GUIX_LOCPATH", dirs: []string{"lib/locale"}, prefix: true},
	{name: "SSL_CERT_DIR", dirs: []string{"etc/ssl/certs"}},
	{name: "SSL_CERT_FILE", dirs: []string{"etc/ssl/certs/ca-certificates.crt"}},
}

// SearchPaths is the environment of the profile, as the pack records it:
// every variable of the profile's etc/profile (a Guix profile's is a list
// of export lines, which name the search paths its packages declare),
// then those of the usual layouts (layouts) that it does not set. view is
// the profile gpack made, or nil.
func SearchPaths(profile string, view *Profile) []EnvVar {
	var out []EnvVar
	set := map[string]bool{}
	if f, err := view.Open(profile + "/etc/profile"); err == nil {
		for _, v := range ParseEtcProfile(io.LimitReader(f, 1<<20)) {
			if !set[v.Name] {
				set[v.Name] = true
				out = append(out, v)
			}
		}
		f.Close()
	}
	for _, l := range layouts {
		if set[l.name] {
			continue
		}
		if len(l.when) > 0 && !anyExists(view, profile, l.when) {
			continue
		}
		var parts []string
		for _, d := range l.dirs {
			if _, err := view.Stat(profile + "/" + d); err == nil {
				parts = append(parts, profile+"/"+d)
			}
		}
		if len(parts) > 0 {
			set[l.name] = true
			out = append(out, EnvVar{Name: l.name, Value: strings.Join(parts, ":"), Prefix: l.prefix})
		}
	}
	return out
}

func anyExists(view *Profile, profile string, rels []string) bool {
	for _, r := range rels {
		if _, err := view.Stat(profile + "/" + r); err == nil {
			return true
		}
	}
	return false
}

// parseExport splits "export NAME=VALUE" (no regexp: this package is
// linked into the AppImage runtime, which counts its bytes).
func parseExport(line string) (name, val string, ok bool) {
	rest, ok := strings.CutPrefix(line, "export ")
	if !ok {
		return "", "", false
	}
	name, val, ok = strings.Cut(rest, "=")
	if !ok || !IsEnvName(name) {
		return "", "", false
	}
	return name, val, true
}

// IsEnvName reports whether s is a name a shell exports: letters, digits
// and '_', not first a digit.
func IsEnvName(s string) bool {
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

// guixProfile replaces each ${GUIX_PROFILE:-DEFAULT} with DEFAULT: the
// profile's own path when GUIX_PROFILE is unset, which is how the pack's
// programs see it.
func guixProfile(val string) string {
	const open = "${GUIX_PROFILE:-"
	var b strings.Builder
	for {
		i := strings.Index(val, open)
		if i < 0 {
			b.WriteString(val)
			return b.String()
		}
		j := strings.IndexAny(val[i+len(open):], "}$")
		if j < 0 || val[i+len(open)+j] != '}' {
			b.WriteString(val)
			return b.String()
		}
		b.WriteString(val[:i])
		b.WriteString(val[i+len(open) : i+len(open)+j])
		val = val[i+len(open)+j+1:]
	}
}

// ParseEtcProfile reads the export lines of a profile's etc/profile:
// NAME="VALUE" sets, and NAME="VALUE${NAME:+:}$NAME" (or VALUE:$NAME)
// prefixes; ${GUIX_PROFILE:-P} stands for P. A line it cannot read
// without running a shell (other variables, commands) is left out.
func ParseEtcProfile(r io.Reader) []EnvVar {
	var out []EnvVar
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, val, ok := parseExport(line)
		if !ok {
			continue
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		val = guixProfile(val)
		v := EnvVar{Name: name}
		for _, suffix := range []string{"${" + name + ":+:}$" + name, "${" + name + ":+:}${" + name + "}", ":$" + name, ":${" + name + "}"} {
			if rest, ok := strings.CutSuffix(val, suffix); ok {
				val, v.Prefix = rest, true
				break
			}
		}
		if strings.ContainsAny(val, "$`\\\"'") || bytes.ContainsAny([]byte(val), "\x00\n") {
			continue
		}
		v.Value = val
		out = append(out, v)
	}
	return out
}

package pack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseEtcProfile(t *testing.T) {
	const p = "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-profile"
	text := `# Source this file to define all the relevant environment variables in Bash
export PATH="${GUIX_PROFILE:-` + p + `}/bin${PATH:+:}$PATH"
export GUIX_LOCPATH="${GUIX_PROFILE:-` + p + `}/lib/locale${GUIX_LOCPATH:+:}$GUIX_LOCPATH"
export SSL_CERT_DIR="${GUIX_PROFILE:-` + p + `}/etc/ssl/certs"
export MANPATH=` + p + `/share/man:$MANPATH
export FROM_CMD="$(uname)"
export OTHER="$HOME/x"
if true; then export INSIDE=1; fi
export PLAIN=value
`
	got := ParseEtcProfile(strings.NewReader(text))
	want := []EnvVar{
		{Name: "PATH", Value: p + "/bin", Prefix: true},
		{Name: "GUIX_LOCPATH", Value: p + "/lib/locale", Prefix: true},
		{Name: "SSL_CERT_DIR", Value: p + "/etc/ssl/certs"},
		{Name: "MANPATH", Value: p + "/share/man", Prefix: true},
		{Name: "PLAIN", Value: "value"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestSearchPaths(t *testing.T) {
	profile := t.TempDir()
	for _, d := range []string{"bin", "share/man/man1", "lib/pkgconfig", "share/pkgconfig", "share/applications", "etc/ssl/certs", "share/terminfo"} {
		if err := os.MkdirAll(filepath.Join(profile, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(profile, "etc/ssl/certs/ca-certificates.crt"), []byte("pem"), 0o644)
	// etc/profile sets MANPATH its own way: it wins.
	os.WriteFile(filepath.Join(profile, "etc/profile"), []byte("export MANPATH=\"/elsewhere/man${MANPATH:+:}$MANPATH\"\n"), 0o644)
	got := SearchPaths(profile, nil)
	want := []EnvVar{
		{Name: "MANPATH", Value: "/elsewhere/man", Prefix: true},
		{Name: "PATH", Value: profile + "/bin", Prefix: true},
		{Name: "PKG_CONFIG_PATH", Value: profile + "/lib/pkgconfig:" + profile + "/share/pkgconfig", Prefix: true},
		{Name: "TERMINFO_DIRS", Value: profile + "/share/terminfo", Prefix: true},
		{Name: "XDG_DATA_DIRS", Value: profile + "/share", Prefix: true},
		{Name: "SSL_CERT_DIR", Value: profile + "/etc/ssl/certs"},
		{Name: "SSL_CERT_FILE", Value: profile + "/etc/ssl/certs/ca-certificates.crt"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	// share without applications, icons, mime or schemas: no XDG_DATA_DIRS.
	os.Remove(filepath.Join(profile, "share/applications"))
	for _, v := range SearchPaths(profile, nil) {
		if v.Name == "XDG_DATA_DIRS" {
			t.Errorf("XDG_DATA_DIRS for a share/ of man pages only")
		}
	}
}

// FuzzParseEtcProfile: any text gives variables with shell names and
// values free of what a shell would expand, never a panic.
func FuzzParseEtcProfile(f *testing.F) {
	f.Add("export PATH=\"${GUIX_PROFILE:-/gnu/store/x-profile}/bin${PATH:+:}$PATH\"\n")
	f.Add("export A=1\nexport B=\"$(x)\"\nexport C=${GUIX_PROFILE:-\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, v := range ParseEtcProfile(strings.NewReader(text)) {
			if !IsEnvName(v.Name) || strings.ContainsAny(v.Value, "$`\\\"'\x00\n") {
				t.Fatalf("%q gives %+v", text, v)
			}
		}
	})
}

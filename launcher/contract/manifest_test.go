package contract

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
)

const (
	helloPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxy-hello/bin/hello"
	dashPath  = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-dash/bin/sh"
)

func TestManifestWriteTo(t *testing.T) {
	m := &Manifest{Store: "/nix/store", Programs: map[string]string{
		"sh":    dashPath,
		"hello": helloPath,
	}}
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Programs come sorted by name whatever the map order.
	want := "gpack-manifest\t1\nstore\t/nix/store\n" +
		"program\thello\t" + helloPath + "\n" +
		"program\tsh\t" + dashPath + "\n"
	if got := buf.String(); got != want {
		t.Errorf("WriteTo wrote\n%q\nwant\n%q", got, want)
	}
	if n != int64(len(want)) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, len(want))
	}
	for range 20 {
		var again bytes.Buffer
		if _, err := m.WriteTo(&again); err != nil || again.String() != want {
			t.Fatalf("WriteTo is not deterministic: %q, %v", again.String(), err)
		}
	}
	back, err := ParseManifest(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Store != m.Store || !maps.Equal(back.Programs, m.Programs) {
		t.Errorf("round trip: got %+v, want %+v", back, m)
	}
}

func TestManifestEmptyPrograms(t *testing.T) {
	var buf bytes.Buffer
	if _, err := (&Manifest{Store: "/gnu/store"}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.Store != "/gnu/store" || len(m.Programs) != 0 || m.Programs == nil {
		t.Errorf("got %+v", m)
	}
}

func TestParseManifestForwardCompatible(t *testing.T) {
	text := "gpack-manifest\t1\n" +
		"mount\t/nix/store/x-profile/bin\n" + // a kind from the future
		"\n" +
		"program\thello\t" + helloPath + "\tsome-future-field\n" +
		"store\t/nix/store\textra\n" +
		"program\tsh\t" + dashPath // no final newline
	m, err := ParseManifest(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hello": helloPath, "sh": dashPath}
	if m.Store != "/nix/store" || !maps.Equal(m.Programs, want) {
		t.Errorf("got %+v", m)
	}
}

func TestParseManifestErrors(t *testing.T) {
	head := "gpack-manifest\t1\nstore\t/nix/store\n"
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "the manifest is empty"},
		{"not a manifest", "#!/bin/sh\n", "not a gpack manifest"},
		{"wrong magic", "gpack-manifesto\t1\nstore\t/nix/store\n", "not a gpack manifest"},
		{"newer version", "gpack-manifest\t2\nstore\t/nix/store\n", `manifest version "2" is not supported`},
		{"no version", "gpack-manifest\nstore\t/nix/store\n", `manifest version "" is not supported`},
		{"no store", "gpack-manifest\t1\nprogram\thello\t" + helloPath + "\n", "no store line"},
		{"two stores", head + "store\t/gnu/store\n", "line 3: a second store line"},
		{"short store", "gpack-manifest\t1\nstore\n", "line 2: a store line needs"},
		{"short program", head + "program\thello\n", "line 3: a program line needs"},
		{"twice", head + "program\thello\t" + helloPath + "\nprogram\thello\t" + helloPath + "\n", `"hello" is listed twice`},
		{"relative store", "gpack-manifest\t1\nstore\tnix/store\n", "is not absolute"},
		{"unclean store", "gpack-manifest\t1\nstore\t/nix//store/\n", "is not clean"},
		{"root store", "gpack-manifest\t1\nstore\t/\n", "store is /"},
		{"empty name", head + "program\t\t" + helloPath + "\n", `name "": is empty`},
		{"slash name", head + "program\ta/b\t" + helloPath + "\n", "contains '/'"},
		{"dot name", head + "program\t..\t" + helloPath + "\n", "is not a file name"},
		{"outside store", head + "program\thello\t/usr/bin/hello\n", "is not inside the store"},
		{"the store itself", head + "program\thello\t/nix/store\n", "is not inside the store"},
		{"store prefix", head + "program\thello\t/nix/storehouse/x\n", "is not inside the store"},
		{"relative program", head + "program\thello\tbin/hello\n", "is not absolute"},
		{"long line", head + "program\thello\t/nix/store/" + strings.Repeat("x", maxManifestLine) + "\n", "line 3 is longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(strings.NewReader(tc.text))
			if err == nil {
				t.Fatalf("ParseManifest(%q) = %+v, want an error containing %q", tc.text, m, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestManifestWriteToRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"empty name", Manifest{Store: "/nix/store", Programs: map[string]string{"": helloPath}}, "is empty"},
		{"tab", Manifest{Store: "/nix/store", Programs: map[string]string{"a\tb": helloPath}}, "contains a tab, newline or NUL"},
		{"newline", Manifest{Store: "/nix/store", Programs: map[string]string{"a\nb": helloPath}}, "contains a tab, newline or NUL"},
		{"slash", Manifest{Store: "/nix/store", Programs: map[string]string{"bin/hello": helloPath}}, "contains '/'"},
		{"dot", Manifest{Store: "/nix/store", Programs: map[string]string{".": helloPath}}, "is not a file name"},
		{"no store", Manifest{Programs: map[string]string{"hello": helloPath}}, "is not absolute"},
		{"tab in store", Manifest{Store: "/nix/st\tore"}, "contains a tab"},
		{"newline in path", Manifest{Store: "/nix/store", Programs: map[string]string{"hello": "/nix/store/x\n/bin/hello"}}, "contains a tab"},
		{"outside", Manifest{Store: "/nix/store", Programs: map[string]string{"hello": "/gnu/store/x-hello/bin/hello"}}, "is not inside the store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := tc.m.WriteTo(&buf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WriteTo error %v, want one containing %q", err, tc.want)
			}
			if n != 0 || buf.Len() != 0 {
				t.Errorf("WriteTo wrote %d bytes (%q) before failing", n, buf.String())
			}
		})
	}
}

// FuzzParseManifest checks that whatever ParseManifest accepts, WriteTo
// writes, and that the result parses back to the same manifest.
func FuzzParseManifest(f *testing.F) {
	f.Add("gpack-manifest\t1\nstore\t/nix/store\nprogram\thello\t" + helloPath + "\n")
	f.Add("gpack-manifest\t1\nstore\t/gnu/store\nfuture\tx\nprogram\tsh\t/gnu/store/a-dash/bin/sh\textra\n")
	f.Add("gpack-manifest\t1\n")
	f.Add("gpack-manifest\t1\nstore\t/nix/store\nenv\tPATH\tprefix\t\"/nix/store/p/bin\"\nenv\tX\tset\t\"\"\n")
	f.Add("gpack-manifest\t1\nstore\t/nix/store\nentry\t" + helloPath + "\t\"a\\tb\"\t\"\\n\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseManifest(strings.NewReader(text))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatalf("parsed %q but WriteTo fails: %v", text, err)
		}
		back, err := ParseManifest(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("WriteTo output %q does not parse: %v", buf.String(), err)
		}
		if back.Store != m.Store || !maps.Equal(back.Programs, m.Programs) || !slices.Equal(back.Entry, m.Entry) || !slices.Equal(back.Env, m.Env) {
			t.Fatalf("round trip changed %+v into %+v", m, back)
		}
	})
}

// TestManifestEntry: the entry point's arguments survive a round trip
// whatever their bytes, and a bad entry is refused.
func TestManifestEntry(t *testing.T) {
	m := &Manifest{Store: "/nix/store", Programs: map[string]string{"hello": helloPath},
		Entry: []string{helloPath, "--greeting", "tab\there", "new\nline", "", "\"quoted\""}}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "entry\t"+helloPath+"\t\"--greeting\"\t\"tab\\there\"") {
		t.Errorf("entry line not as documented:\n%s", buf.String())
	}
	back, err := ParseManifest(&buf)
	if err != nil || !slices.Equal(back.Entry, m.Entry) {
		t.Errorf("round trip: %q, %v; want %q", back.Entry, err, m.Entry)
	}
	for _, tc := range []struct {
		text, err string
	}{
		{"entry\t/elsewhere/bin/x\n", "not inside the store"},
		{"entry\t" + helloPath + "\tbare\n", "not a quoted string"},
		{"entry\t" + helloPath + "\nentry\t" + helloPath + "\n", "a second entry line"},
		{"entry\n", "needs a store path"},
	} {
		_, err := ParseManifest(strings.NewReader("gpack-manifest\t1\nstore\t/nix/store\n" + tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.err)
		}
	}
}

func TestWithEnv(t *testing.T) {
	vars := []EnvVar{
		{Name: "PATH", Value: "/nix/store/p-profile/bin", Prefix: true},
		{Name: "MANPATH", Value: "/nix/store/p-profile/share/man", Prefix: true},
		{Name: "SSL_CERT_DIR", Value: "/nix/store/p-profile/etc/ssl/certs"},
	}
	for _, tc := range []struct {
		name      string
		env       []string
		store, at string
		want      []string
	}{
		{"prefix and set", []string{"PATH=/usr/bin", "SSL_CERT_DIR=/etc/ssl", "HOME=/h"}, "", "",
			[]string{"PATH=/nix/store/p-profile/bin:/usr/bin", "SSL_CERT_DIR=/nix/store/p-profile/etc/ssl/certs", "HOME=/h", "MANPATH=/nix/store/p-profile/share/man"}},
		{"empty variable", []string{"PATH="}, "", "",
			[]string{"PATH=/nix/store/p-profile/bin", "MANPATH=/nix/store/p-profile/share/man", "SSL_CERT_DIR=/nix/store/p-profile/etc/ssl/certs"}},
		{"already in front", []string{"PATH=/nix/store/p-profile/bin:/usr/bin", "MANPATH=/nix/store/p-profile/share/man"}, "", "",
			[]string{"PATH=/nix/store/p-profile/bin:/usr/bin", "MANPATH=/nix/store/p-profile/share/man", "SSL_CERT_DIR=/nix/store/p-profile/etc/ssl/certs"}},
		{"relocated", []string{"PATH=/usr/bin"}, "/nix/store", "/tmp/gpack-x",
			[]string{"PATH=/tmp/gpack-x/p-profile/bin:/usr/bin", "MANPATH=/tmp/gpack-x/p-profile/share/man", "SSL_CERT_DIR=/tmp/gpack-x/p-profile/etc/ssl/certs"}},
	} {
		if got := WithEnv(tc.env, vars, tc.store, tc.at); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	var m bytes.Buffer
	in := &Manifest{Store: "/nix/store", Programs: map[string]string{}, Env: append(vars, EnvVar{Name: "ODD", Value: "tab\tnew\nline \"q\""})}
	if _, err := in.WriteTo(&m); err != nil {
		t.Fatal(err)
	}
	back, err := ParseManifest(&m)
	if err != nil || !slices.Equal(back.Env, in.Env) {
		t.Errorf("env round trip: %v, %v", back, err)
	}
	for _, bad := range []string{"1X", "A-B", "", "A=B"} {
		in := &Manifest{Store: "/nix/store", Env: []EnvVar{{Name: bad, Value: "x"}}}
		if _, err := in.WriteTo(&m); err == nil {
			t.Errorf("env name %q accepted", bad)
		}
	}
}

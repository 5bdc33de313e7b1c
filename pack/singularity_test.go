package pack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSingularity(t *testing.T) {
	profile := t.TempDir()
	for _, d := range []string{"etc", "bin"} {
		if err := os.MkdirAll(filepath.Join(profile, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name        string
		entry       string
		etcProfile  bool
		wantRun     string // the runscript's target, "" for none
		wantSourced bool
		links       []LinkRequest
		wantEtc     bool
		noVar       bool // a link makes /var
	}{
		{name: "no entry point", wantEtc: true},
		{name: "entry point in the profile", entry: "bin/hello", wantRun: profile + "/bin/hello", wantEtc: true},
		{name: "absolute entry point", entry: "/gnu/store/x-hello/bin/hello", wantRun: "/gnu/store/x-hello/bin/hello", wantEtc: true},
		{name: "Guix profile", etcProfile: true, wantSourced: true, wantEtc: true},
		{name: "-S /etc", links: []LinkRequest{{Link: "/etc", Target: "etc"}}},
		{name: "-S /etc/profile", links: []LinkRequest{{Link: "/etc/profile", Target: "etc/profile"}}},
		{name: "-S /etcetera", links: []LinkRequest{{Link: "/etcetera", Target: "etc"}}, wantEtc: true},
		{name: "-S /var", links: []LinkRequest{{Link: "/var", Target: "var"}}, wantEtc: true, noVar: true},
		{name: "-S /var/lib", links: []LinkRequest{{Link: "var/lib/", Target: "var/lib"}}, wantEtc: true, noVar: true},
		{name: "-S /variable", links: []LinkRequest{{Link: "/variable", Target: "var"}}, wantEtc: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			etc := filepath.Join(profile, "etc/profile")
			os.Remove(etc)
			if tc.etcProfile {
				if err := os.WriteFile(etc, []byte("export FOO=1\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			es, err := Singularity(SingularityOptions{Profile: profile, EntryPoint: tc.entry, Links: tc.links})
			if err != nil {
				t.Fatal(err)
			}
			byPath := map[string]Entry{}
			for _, e := range es {
				byPath[e.Path] = e
			}
			env, ok := byPath[".singularity.d/env/90-environment.sh"]
			if !ok || env.Kind != File || env.Size != int64(len(env.Data)) {
				t.Fatalf("no environment script: %+v", es)
			}
			if !strings.Contains(string(env.Data), "export PATH=\""+profile+"/bin\"\"${PATH:+:}$PATH\"\n") {
				t.Errorf("PATH not set to the profile:\n%s", env.Data)
			}
			if got := strings.Contains(string(env.Data), "export FOO=\"1\"\n"); got != tc.wantSourced {
				t.Errorf("etc/profile's FOO exported = %v, want %v:\n%s", got, tc.wantSourced, env.Data)
			}
			for _, p := range []string{".singularity.d/runscript", ".singularity.d/actions/run"} {
				e, ok := byPath[p]
				if tc.wantRun == "" {
					if ok {
						t.Errorf("%s exists without an entry point", p)
					}
					continue
				}
				if !ok || e.Kind != Symlink || e.Target != tc.wantRun {
					t.Errorf("%s = %+v, want a symlink to %s", p, e, tc.wantRun)
				}
			}
			for _, d := range []string{"proc", "sys", "dev", "home", "tmp"} {
				if e, ok := byPath[d]; !ok || e.Kind != Dir {
					t.Errorf("no empty /%s", d)
				}
			}
			if byPath["tmp"].Mode != 0o1777 {
				t.Errorf("/tmp mode %o, want 1777", byPath["tmp"].Mode)
			}
			// Apptainer mounts a /var/tmp too.
			for _, d := range []string{"var", "var/tmp"} {
				if e, ok := byPath[d]; ok == tc.noVar || ok && e.Kind != Dir {
					t.Errorf("/%s = %+v, %v; want an empty directory: %v", d, e, ok, !tc.noVar)
				}
			}
			if e, ok := byPath["var/tmp"]; ok && e.Mode != 0o1777 {
				t.Errorf("/var/tmp mode %o, want 1777", e.Mode)
			}
			// ch-run's placeholders, unless -S makes an /etc.
			for _, f := range []string{"etc", "etc/group", "etc/hosts", "etc/passwd", "etc/resolv.conf"} {
				if _, ok := byPath[f]; ok != tc.wantEtc {
					t.Errorf("/%s made: %v, want %v", f, ok, tc.wantEtc)
				}
			}
		})
	}
}

// TestSingularityEntryArgs: with -A the runscript is a script of the
// profile's shell that passes the arguments, quoted, before the caller's;
// without a shell it is refused.
func TestSingularityEntryArgs(t *testing.T) {
	profile := t.TempDir()
	o := SingularityOptions{Profile: profile, EntryPoint: "/gnu/store/x-hello/bin/hello", EntryArgs: []string{"--greeting", "it's $HOME"}}
	if _, err := Singularity(o); err == nil || !strings.Contains(err.Error(), "no bin/sh, bash or dash") {
		t.Errorf("no shell: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(profile, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "bin/bash"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	es, err := Singularity(o)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Entry{}
	for _, e := range es {
		byPath[e.Path] = e
	}
	run := byPath[".singularity.d/runscript"]
	want := "#!" + profile + "/bin/bash\n# Written by gpack: the entry point with its arguments (-A), then the caller's.\n" +
		"exec '/gnu/store/x-hello/bin/hello' '--greeting' 'it'\\''s $HOME' \"$@\"\n"
	if run.Kind != File || run.Mode != 0o755 || string(run.Data) != want {
		t.Errorf("runscript %+v:\n%s\nwant\n%s", run, run.Data, want)
	}
	if a := byPath[".singularity.d/actions/run"]; a.Kind != Symlink || a.Target != "/.singularity.d/runscript" {
		t.Errorf("actions/run %+v", a)
	}
	// The script runs as written: the shell passes the arguments intact.
	script := filepath.Join(t.TempDir(), "run")
	body := strings.Replace(string(run.Data), "#!"+profile+"/bin/bash", "#!/bin/sh", 1)
	body = strings.Replace(body, "'/gnu/store/x-hello/bin/hello'", "printf '[%s]\\n'", 1)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "caller arg").Output()
	if err != nil || string(out) != "[--greeting]\n[it's $HOME]\n[caller arg]\n" {
		t.Errorf("the runscript passes %q, %v", out, err)
	}
}

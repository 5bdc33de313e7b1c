package pack

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/gpack/gpack/internal/usererr"
)

// SingularityOptions describe the Apptainer/Singularity metadata of an
// image.
type SingularityOptions struct {
	// Profile is the pack's profile, whose bin/ becomes /bin and the PATH.
	Profile string
	// EntryPoint is the program `apptainer run` starts, relative to the
	// profile or absolute in the store (as EntryPoint returns it); "" for
	// none.
	EntryPoint string
	// EntryArgs are the arguments the entry point gets before the
	// caller's. They need a runscript that is a shell script, run by a
	// shell of the profile.
	EntryArgs []string
	// Env is the image's environment; nil means the profile's
	// SearchPaths.
	Env []EnvVar
	// Links are the tree's -S links: an /etc among them (or below it)
	// takes the place of the /etc files made for Charliecloud.
	Links []LinkRequest
	// View is the profile gpack made, through which Profile's files are
	// looked at (nil: the host's).
	View *Profile
}

// Singularity returns what Apptainer and Singularity expect in an image
// besides the files, as guix pack writes it into its squashfs images:
//
//   - /.singularity.d/env/90-environment.sh, which the runtime sources
//     before exec, shell and run: one export line per variable of Env,
//     the search paths in front of what the variable holds (PATH leads
//     with the profile's bin and sbin); the profile's own etc/profile is
//     among them, read at pack time, so that the script is plain exports
//     that `apptainer inspect --environment` shows as they act;
//   - with an entry point, /.singularity.d/runscript and actions/run as
//     symlinks to it, so that `apptainer run` needs no shell in the image;
//     with its arguments (EntryArgs), runscript is a script run by the
//     profile's sh, bash or dash that passes them first, and actions/run
//     a symlink to it (no shell in the profile: an error);
//   - empty /proc, /sys, /dev, /home, /tmp and /var/tmp (both 1777), where
//     the runtime mounts its own (without /var/tmp, every apptainer run
//     warns that it skips that mount), unless a link of Links is /var or
//     below it;
//   - unless a link of Links is /etc or below it, /etc with empty group,
//     hosts, passwd and resolv.conf: Charliecloud's ch-run, which runs
//     squashfs images too, binds the host's files over those and refuses
//     an image that lacks them.
//
// The /bin link to the profile's bin is a -S request, which ImageLinks
// adds.
func Singularity(o SingularityOptions) ([]Entry, error) {
	var env strings.Builder
	env.WriteString("# Written by gpack: the environment of the pack's profile.\n")
	vars := o.Env
	if vars == nil {
		vars = SearchPaths(o.Profile, o.View)
	}
	if !slices.ContainsFunc(vars, func(v EnvVar) bool { return v.Name == "PATH" }) {
		// As images' PATH: the profile's programs first, even where the
		// tree was made without the host's view of the profile.
		vars = append([]EnvVar{{Name: "PATH", Value: o.Profile + "/bin:" + o.Profile + "/sbin", Prefix: true}}, vars...)
	}
	for _, v := range vars {
		if v.Prefix {
			env.WriteString("export " + v.Name + "=" + doubleQuote(v.Value) + "\"${" + v.Name + ":+:}$" + v.Name + "\"\n")
		} else {
			env.WriteString("export " + v.Name + "=" + doubleQuote(v.Value) + "\n")
		}
	}
	es := []Entry{
		{Path: ".singularity.d", Kind: Dir, Mode: dirMode},
		{Path: ".singularity.d/env", Kind: Dir, Mode: dirMode},
		fileEntry(".singularity.d/env/90-environment.sh", 0o644, env.String()),
	}
	if o.EntryPoint != "" {
		target := o.EntryPoint
		if !strings.HasPrefix(target, "/") {
			target = path.Join(o.Profile, target)
		}
		run := Entry{Path: ".singularity.d/runscript", Kind: Symlink, Mode: 0o777, Target: target}
		action := target
		if len(o.EntryArgs) > 0 {
			shell := o.shell()
			if shell == "" {
				return nil, &usererr.Error{Kind: usererr.Usage, Path: o.Profile,
					What: "-A: the squashfs runscript that passes the entry point's arguments is a shell script, and the profile has no bin/sh, bash or dash",
					Fix:  "add a shell (bash, dash) to the packed items, or drop -A"}
			}
			var sc strings.Builder
			sc.WriteString("#!" + shell + "\n# Written by gpack: the entry point with its arguments (-A), then the caller's.\nexec " + shellQuote(target))
			for _, a := range o.EntryArgs {
				sc.WriteString(" " + shellQuote(a))
			}
			sc.WriteString(" \"$@\"\n")
			run = fileEntry(".singularity.d/runscript", 0o755, sc.String())
			action = "/.singularity.d/runscript"
		}
		es = append(es,
			Entry{Path: ".singularity.d/actions", Kind: Dir, Mode: dirMode},
			Entry{Path: ".singularity.d/actions/run", Kind: Symlink, Mode: 0o777, Target: action},
			run,
		)
	}
	for _, d := range []string{"proc", "sys", "dev", "home"} {
		es = append(es, Entry{Path: d, Kind: Dir, Mode: dirMode})
	}
	es = append(es, Entry{Path: "tmp", Kind: Dir, Mode: 0o1777})
	if !linked(o.Links, "var") {
		es = append(es, Entry{Path: "var", Kind: Dir, Mode: dirMode}, Entry{Path: "var/tmp", Kind: Dir, Mode: 0o1777})
	}
	if linked(o.Links, "etc") {
		return es, nil
	}
	es = append(es, Entry{Path: "etc", Kind: Dir, Mode: dirMode})
	for _, f := range []string{"group", "hosts", "passwd", "resolv.conf"} {
		es = append(es, fileEntry("etc/"+f, 0o644, ""))
	}
	return es, nil
}

// linked reports whether a link of links is dir or below it.
func linked(links []LinkRequest, dir string) bool {
	for _, l := range links {
		if l := strings.Trim(l.Link, "/"); l == dir || strings.HasPrefix(l, dir+"/") {
			return true
		}
	}
	return false
}

func fileEntry(p string, mode fs.FileMode, data string) Entry {
	return Entry{Path: p, Kind: File, Mode: mode, Size: int64(len(data)), Data: []byte(data)}
}

// shell is the store path of the profile's sh, bash or dash, the first
// that is an executable file, or "".
func (o SingularityOptions) shell() string {
	for _, name := range []string{"sh", "bash", "dash"} {
		p := o.Profile + "/bin/" + name
		if fi, err := o.View.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// shellQuote quotes s for a POSIX shell: in single quotes, each ' as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// doubleQuote quotes s for a POSIX shell in double quotes: $, `, " and \
// escaped.
func doubleQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}

package pack

import (
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// SingularityOptions describe the Apptainer/Singularity metadata of an
// image.
type SingularityOptions struct {
	// Profile is the first item, whose bin/ becomes /bin and the PATH.
	Profile string
	// EntryPoint is the program `apptainer run` starts, relative to the
	// profile or absolute in the store (as EntryPoint returns it); "" for
	// none.
	EntryPoint string
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
//     before exec, shell and run: PATH leads with the profile's bin and
//     sbin, and the profile's own etc/profile (Guix profiles have one that
//     sets every search path) is sourced when it exists;
//   - with an entry point, /.singularity.d/runscript and actions/run as
//     symlinks to it, so that `apptainer run` needs no shell in the image;
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
func Singularity(o SingularityOptions) []Entry {
	var env strings.Builder
	env.WriteString("# Written by gpack: the environment of the pack's profile.\n")
	env.WriteString("export PATH=" + strconv.Quote(o.Profile+"/bin:"+o.Profile+"/sbin") + "\"${PATH:+:}$PATH\"\n")
	if fi, err := o.View.Stat(o.Profile + "/etc/profile"); err == nil && fi.Mode().IsRegular() {
		env.WriteString("GUIX_PROFILE=" + strconv.Quote(o.Profile) + "\n")
		env.WriteString(". " + strconv.Quote(o.Profile+"/etc/profile") + "\n")
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
		es = append(es,
			Entry{Path: ".singularity.d/actions", Kind: Dir, Mode: dirMode},
			Entry{Path: ".singularity.d/actions/run", Kind: Symlink, Mode: 0o777, Target: target},
			Entry{Path: ".singularity.d/runscript", Kind: Symlink, Mode: 0o777, Target: target},
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
		return es
	}
	es = append(es, Entry{Path: "etc", Kind: Dir, Mode: dirMode})
	for _, f := range []string{"group", "hosts", "passwd", "resolv.conf"} {
		es = append(es, fileEntry("etc/"+f, 0o644, ""))
	}
	return es
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

// Package appimage writes a pack.Tree as an AppImage (gpack pack -f
// appimage): one executable file, the AppImage runtime followed by a
// SquashFS image of the -R pack tree, which runs the pack's programs
// wherever it is copied, without root.
//
// # The file
//
// The runtime is cmd/gpack-launcher built with the appimage tag
// (launcher/launcherbin.AppImageRuntime, for the pack's architecture),
// prepared by layout.Runtime: "AI\x02" at offset 8, as AppImage type 2
// has it, and its section table moved to its end, so that the image starts
// where the AppImage specification says the ELF ends. The image is
// formats/squashfs's, with the options of -f squashfs; a trailer after it
// records its offset, size and digest (package layout). The same tree and
// options give the same bytes.
//
// # The tree
//
// Prepare makes every pack relocatable (the launcher, its manifest and a
// bin/ wrapper per program, as -R) and adds AppRun, the link to the entry
// point's wrapper that AppImage tools run: bin/ and the base name of
// --entry-point, or else of the first item's name without its version
// (hello-2.12: bin/hello). Write refuses a tree whose AppRun names no
// wrapper, with the fix (--entry-point).
//
// # Running it
//
// The runtime (launcher/appimage) runs the entry point, any program with
// --gpack-run NAME, or the program a link to the AppImage is named after.
// It extracts the image once into $XDG_CACHE_HOME/gpack/<digest> and runs
// the pack from there through the launcher's engines; see
// launcher/README.md.
package appimage

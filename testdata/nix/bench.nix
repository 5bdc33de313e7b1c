# Root item of the closure benchmark corpus (bench/closure.sh).
#
#   nix-build bench.nix --argstr hostKey K --argstr paths "/nix/store/…-go /nix/store/…-jdk25 …"
#
# paths: store paths separated by white space, already in the store (added
# with `nix store add-path`, so they have no references of their own).
# builtins.storePath gives them string context, so the output, a text file
# listing them and the test store's profile one per line, references them all:
# `nix-store -qR <bench-root>` is the whole corpus.
{ hostKey ? "", paths ? "" }:
let
  store = import ./store.nix { inherit hostKey; };
  corpus = map builtins.storePath
    (builtins.filter (p: builtins.isString p && p != "")
      (builtins.split "[[:space:]]+" paths));
  lines = builtins.concatStringsSep "\n" (corpus ++ [ store.profile ]) + "\n";
in
derivation {
  name = "bench-root";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "printf %s \"$lines\" > $out" ];
  inherit hostKey lines;
  PATH = "/usr/bin:/bin";
}

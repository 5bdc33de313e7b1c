# A small but real Nix store for gpack's tests.
#
# Evaluates to an attribute set of plain derivations (builder /bin/sh, no
# nixpkgs, builds offline). Every item is built from host files listed in
# host.nix, copied and patched with patchelf so that it really needs its store
# paths: programs have a store ELF interpreter and a RUNPATH into the store,
# libraries have a RUNPATH to the libraries they need, scripts have store
# shebangs, and the profile is a forest of absolute symlinks.
#
# Build everything (one output path per line, attribute-name order):
#
#   nix-build store.nix --argstr hostKey K --no-out-link \
#     --option build-users-group "" --option substituters "" --option sandbox false
#
# hostKey is put into every derivation, so a change of the host files (an
# upgrade) gives new store paths. internal/nixstore computes it; the
# derivation name of each item equals its attribute name.
{ hostKey ? "" }:
let
  host = import ./host.nix;

  mk = name: script: derivation {
    inherit name hostKey;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ("set -eu\n" + script) ];
    PATH = "/usr/bin:/bin";
  };

  # RUNPATH made of the lib directories of the given items.
  libdirs = items: builtins.concatStringsSep ":" (map (i: "${i}/lib") items);

  # A shared library copied from the host, RUNPATH set to its dependencies.
  lib = name: src: soname: deps: mk name ''
    mkdir -p $out/lib
    cp -L ${src} $out/lib/${soname}
    chmod u+w $out/lib/${soname}
    patchelf --set-rpath ${libdirs deps} $out/lib/${soname}
  '';

  # Programs copied from the host, with the store loader and a RUNPATH of
  # every store library they load (directly or through other libraries).
  # extra is more builder script, run after the copies.
  progWith = name: progs: deps: extra: mk name (''
    mkdir -p $out/bin
  '' + builtins.concatStringsSep "" (map (p: ''
    cp -L ${host.${p}} $out/bin/${p}
    chmod u+w $out/bin/${p}
    patchelf --set-interpreter ${glibc}/lib/ld-linux-x86-64.so.2 \
      --set-rpath ${libdirs deps} $out/bin/${p}
  '') progs) + extra);
  prog = name: progs: deps: progWith name progs deps "";

  glibc = mk "glibc" ''
    mkdir -p $out/lib
    cp -L ${host.ld} $out/lib/ld-linux-x86-64.so.2
    cp -L ${host.libc} $out/lib/libc.so.6
  '';

  pcre2 = lib "pcre2" host.pcre2 "libpcre2-8.so.0" [ glibc ];
  selinux = lib "selinux" host.selinux "libselinux.so.1" [ pcre2 glibc ];
  acl = lib "acl" host.acl "libacl.so.1" [ glibc ];
  tinfo = lib "tinfo" host.tinfo "libtinfo.so.6" [ glibc ];

  coreutils = prog "coreutils"
    [ "ls" "cat" "echo" "sort" "env" "id" "touch" "sleep" ]
    [ selinux pcre2 glibc ];

  # bin/sh is an absolute symlink to bin/bash: a self-reference that appears
  # only in a symlink target.
  bash = progWith "bash" [ "bash" ] [ tinfo glibc ] ''
    ln -s $out/bin/bash $out/bin/sh
  '';

  grep = prog "grep" [ "grep" ] [ pcre2 glibc ];
  sed = prog "sed" [ "sed" ] [ acl selinux pcre2 glibc ];
  dash = prog "dash" [ "dash" ] [ glibc ];

  # A script with a store shebang that runs other store programs.
  hello-script = mk "hello-script" ''
    mkdir -p $out/bin
    cat > $out/bin/hello-script <<EOF
    #!${bash}/bin/bash
    ${coreutils}/bin/echo "hello from nix"
    exec ${coreutils}/bin/id -u
    EOF
    chmod 555 $out/bin/hello-script
  '';

  # A profile as nix-env makes it: absolute symlinks into the items, plus a
  # file that refers to the profile itself.
  profile = mk "profile" ''
    mkdir -p $out/bin $out/etc/profile.d
    for p in ${coreutils}/bin/* ${bash}/bin/* ${grep}/bin/* ${sed}/bin/* \
        ${dash}/bin/* ${hello-script}/bin/*; do
      ln -s "$p" "$out/bin/''${p##*/}"
    done
    printf 'export PATH=%s/bin\n' "$out" > $out/etc/profile.d/env.sh
  '';

  # A single text file with no store paths in it.
  noref = mk "noref" ''
    printf 'this file refers to no store path\n' > $out
  '';
in
{
  inherit glibc pcre2 selinux acl tinfo coreutils bash grep sed dash
    hello-script profile noref;
}

# Store items for bench/ptrace.sh, the workloads run through the launcher's
# engines and proot: more host programs copied into the store the way
# store.nix does it (plain derivations, builder /bin/sh, offline), on top of
# store.nix's glibc, libraries and bash.
#
#   nix-build bench-ptrace.nix --argstr hostKey K --argstr benchKey B --no-out-link \
#     --option build-users-group "" --option substituters "" --option sandbox false
#
# builds every item and prints one output path per line, in attribute-name
# order. hostKey is store.nix's (so glibc, bash … are the test store's own
# items); benchKey is put into the items defined here, so a change of their
# host files gives new store paths. bench/ptrace.sh computes both: benchKey
# hashes the contents of hostFiles, the metadata of hostTrees and the shared
# libraries that the python items load (as ldd resolves them). The
# attributes hostFiles and hostTrees are plain values, which nix-build skips.
{ hostKey ? "", benchKey ? "" }:
let
  store = import ./store.nix { inherit hostKey; };
  inherit (store) glibc pcre2 selinux;

  hostFiles = {
    true = "/usr/bin/true";
    find = "/usr/bin/find";
    libm = "/lib/x86_64-linux-gnu/libm.so.6";
    python = "/usr/bin/python3.11";
  };
  # Python's standard library: a tree, copied whole.
  hostTrees = { pythonLib = "/usr/lib/python3.11"; };

  mk = name: script: derivation {
    inherit name hostKey benchKey;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ("set -eu\n" + script) ];
    PATH = "/usr/bin:/bin";
  };

  libdirs = items: builtins.concatStringsSep ":" (map (i: "${i}/lib") items);

  # Programs copied from the host with the store loader and a RUNPATH of the
  # store libraries they load, as store.nix's prog.
  prog = name: progs: deps: mk name (''
    mkdir -p $out/bin
  '' + builtins.concatStringsSep "" (map (p: ''
    cp -L ${hostFiles.${p}} $out/bin/${p}
    chmod u+w $out/bin/${p}
    patchelf --set-interpreter ${glibc}/lib/ld-linux-x86-64.so.2 \
      --set-rpath ${libdirs deps} $out/bin/${p}
  '') progs));

  # glibc's libm, which store.nix's glibc lacks (find needs it).
  libm = mk "libm" ''
    mkdir -p $out/lib
    cp -L ${hostFiles.libm} $out/lib/libm.so.6
    chmod u+w $out/lib/libm.so.6
    patchelf --set-rpath ${glibc}/lib $out/lib/libm.so.6
  '';

  # The program of the exec loop, and find. Named so as not to be taken for
  # store.nix's coreutils, which has other programs.
  bench-coreutils = prog "bench-coreutils" [ "true" ] [ glibc ];
  findutils = prog "findutils" [ "find" ] [ selinux pcre2 libm glibc ];

  # A CPU-bound loop: spin N adds to a volatile counter N times (10^9 is
  # about 1.5 s on the reference VM) and makes no system call meanwhile.
  spin = mk "spin" ''
    mkdir -p $out/bin
    cat > spin.c <<'EOF'
    #include <stdlib.h>
    int main(int argc, char **argv) {
    	unsigned long n = argc > 1 ? strtoul(argv[1], 0, 10) : 1000000000UL;
    	volatile unsigned long x = 0;
    	for (unsigned long i = 0; i < n; i++)
    		x += i;
    	return 0;
    }
    EOF
    gcc -O2 -o $out/bin/spin spin.c
    patchelf --set-interpreter ${glibc}/lib/ld-linux-x86-64.so.2 \
      --set-rpath ${glibc}/lib $out/bin/spin
  '';

  # Debian's python3.11 with its standard library, laid out as Python finds
  # it by itself from its binary: bin/python3.11 (and bin/python3) next to
  # lib/python3.11, so sys.prefix is the store item; bin/python is a wrapper
  # that sets PYTHONHOME, for the tests. The shared libraries
  # that the binary and the extension modules (lib-dynload) load, except
  # glibc's libc and loader, are copied into lib/ and everything gets a
  # RUNPATH of lib/ and the store glibc. Debian's compiled-in prefix is /usr:
  # a python that cannot find lib/python3.11/os.py next to its argv[0] falls
  # back to the host's /usr/lib/python3.11, so bench/ptrace.sh sets
  # PYTHONHOME. The bytecode is compiled again with unchecked hashes: the
  # store's mtime of 1 would make every Debian .pyc stale, and Python would
  # compile every module at every start.
  python3 = mk "python3" ''
    mkdir -p $out/bin $out/lib
    cp -L ${hostFiles.python} $out/bin/python3.11
    ln -s python3.11 $out/bin/python3
    cp -R ${hostTrees.pythonLib} $out/lib/python3.11
    chmod -R u+w $out
    # The static library and Makefile for building extensions, and Debian's
    # sitecustomize, a symlink into the host's /etc.
    rm -rf $out/lib/python3.11/config-3.11-x86_64-linux-gnu $out/lib/python3.11/sitecustomize.py
    for f in $out/bin/python3.11 $out/lib/python3.11/lib-dynload/*.so; do
      ldd "$f"
    done | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u > libs
    while read -r l; do
      case "''${l##*/}" in libc.so.6 | ld-linux-x86-64.so.2) continue ;; esac
      cp -L "$l" $out/lib/
    done < libs
    chmod u+w $out/lib/*.so*
    patchelf --set-interpreter ${glibc}/lib/ld-linux-x86-64.so.2 \
      --set-rpath $out/lib:${glibc}/lib $out/bin/python3.11
    for f in $out/lib/*.so* $out/lib/python3.11/lib-dynload/*.so; do
      patchelf --set-rpath $out/lib:${glibc}/lib "$f"
    done
    $out/bin/python3 -c 'import sys; assert sys.prefix == sys.argv[1], sys.prefix' $out
    # bin/python: python3.11 with its home set, as Nix's own Python has
    # its store prefix compiled in (Debian's says /usr). It runs wherever
    # the item's own path leads, argv[0] whatever it is.
    printf '#!%s\n: "''${PYTHONHOME:=%s}"\nexport PYTHONHOME\nexec %s "$@"\n' \
      ${store.bash}/bin/bash $out $out/bin/python3.11 > $out/bin/python
    chmod 555 $out/bin/python
    # -qq: test/ holds files with syntax errors on purpose.
    $out/bin/python3 -m compileall -qq -f -j 0 --invalidation-mode unchecked-hash \
      $out/lib/python3.11 || :
  '';
in
{
  inherit libm bench-coreutils findutils spin python3 hostFiles hostTrees;
  inherit (store) bash;
}

# Host files that testdata/nix/store.nix copies into the Nix store.
#
# One flat attribute set of absolute paths (strings, not Nix paths, so nothing
# is copied at evaluation time). internal/nixstore and bench/closure.sh read it
# with `nix-instantiate --eval --json` and hash these files, in attribute-name
# order, into the hostKey argument of store.nix, so a host upgrade rebuilds the
# test store.
{
  # glibc
  ld = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
  libc = "/lib/x86_64-linux-gnu/libc.so.6";
  # other shared libraries
  pcre2 = "/lib/x86_64-linux-gnu/libpcre2-8.so.0";
  selinux = "/lib/x86_64-linux-gnu/libselinux.so.1";
  acl = "/lib/x86_64-linux-gnu/libacl.so.1";
  tinfo = "/lib/x86_64-linux-gnu/libtinfo.so.6";
  # programs
  ls = "/usr/bin/ls";
  cat = "/usr/bin/cat";
  echo = "/usr/bin/echo";
  sort = "/usr/bin/sort";
  env = "/usr/bin/env";
  id = "/usr/bin/id";
  touch = "/usr/bin/touch";
  sleep = "/usr/bin/sleep";
  bash = "/usr/bin/bash";
  grep = "/usr/bin/grep";
  sed = "/usr/bin/sed";
  dash = "/usr/bin/dash";
}

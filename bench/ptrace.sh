#!/usr/bin/env bash
# bench/ptrace.sh: what running programs from a relocatable pack costs, per
# way of making the pack's store appear at its store path, on four
# workloads. Prints a markdown table: seconds per workload and row, the
# overhead over native, and gpack-ptrace's overhead over the best proot's.
#
# Usage: bench/ptrace.sh
#
# Rows (each run in a mount namespace of its own, as BENCH_USER):
#
#   native            the pack's store bound at the store path, the store
#                     program run directly: the floor
#   gpack-ptrace      ROOT/bin/NAME with GPACK_ENGINE=ptrace, store hidden
#   proot             proot -b ROOT<store>:<store> PROGRAM, store hidden
#   proot-no-seccomp  the same with PROOT_NO_SECCOMP=1
#   gpack-userns      ROOT/bin/NAME with GPACK_ENGINE=userns, store hidden
#
# "Store hidden" is an empty tmpfs over the store directory, as in
# bench/launcher.sh: a host without the store.
#
# Workloads (store programs only; testdata/nix/bench-ptrace.nix builds them):
#
#   exec    bash -c 'for ((i = 0; i < BENCH_EXECS; i++)); do <store>/bin/true; done':
#           one exec of a store program per iteration, as system() in a loop
#   find    find TREE -printf '%y %m %s %T@ %p\n': one fstatat per entry of
#           TREE, the corpus's go item (bench/corpus.sh, ~17k entries)
#   python  python3 -c 'import …' of 200 standard-library modules (Debian's
#           python3.11 and its standard library, copied into the store)
#   cpu     spin BENCH_SPIN: a C loop without system calls, ~1.5 s
#
# Timing. A round runs every cell (workload × row) once; the rows of a
# workload follow each other, so a burst of load from elsewhere hits them
# alike. Round 0 is untimed: it checks that each command works (exit status
# 0) and warms the caches. Rounds 1 to BENCH_RUNS time each cell with
# hyperfine -N --runs 1, and the table gives the median. A cell whose command
# fails or times out is "failed" in the table, with the reason below it, and
# the rest goes on: until the ptrace engine exists, gpack-ptrace fails.
#
# Environment:
#   GPACK          gpack binary (default bin/gpack; run make build)
#   BENCH_RUNS     timed rounds (default 5)
#   BENCH_USER     uid the rows run as (default 65534, nobody)
#   BENCH_EXECS    iterations of the exec workload (default 1000)
#   BENCH_SPIN     iterations of the cpu workload (default 1000000000)
#   BENCH_TIMEOUT  seconds after which one run of a cell is killed and the
#                  cell failed (default 600)
#   BENCH_CACHE    where the corpus and the GC root of the items live
#                  (default /var/cache/gpack-bench)
#
# Runs as root (builds store items, creates mount namespaces, switches
# user). Needs nix-build, patchelf, gcc, hyperfine, proot, unshare, setpriv
# and python3 (make deps). The progress log goes to stderr, the table to
# stdout.
set -euo pipefail

die() { printf 'bench/ptrace.sh: %s\n' "$*" >&2; exit 1; }
log() { printf 'bench/ptrace.sh: %s\n' "$*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
runs=${BENCH_RUNS:-5}
user=${BENCH_USER:-65534}
execs=${BENCH_EXECS:-1000}
spin=${BENCH_SPIN:-1000000000}
limit=${BENCH_TIMEOUT:-600}
cache=${BENCH_CACHE:-/var/cache/gpack-bench}
nixfile=$repo/testdata/nix/bench-ptrace.nix

[[ $(id -u) == 0 ]] || die "must run as root (nix-build, mount namespaces, setpriv)"
[[ -x $gpack ]] || die "no gpack at $gpack: run make build"
((runs >= 1)) || die "BENCH_RUNS must be at least 1"
for tool in nix-build patchelf gcc hyperfine proot unshare setpriv timeout python3; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done
# The rows set these themselves.
unset GPACK_ENGINE PROOT_NO_SECCOMP PYTHONHOME

nixopts=(--option build-users-group "" --option substituters "" --option sandbox false)
mkdir -p "$cache"

# The tree of the find workload: the corpus's go item.
corpus=$("$repo/bench/corpus.sh")
tree=$(nix-store -qR "$corpus" | grep -- '-go$') || die "the corpus $corpus has no go item"

# hostKey of store.nix, as internal/nixstore.HostKey computes it, so bash,
# glibc … are the test store's own items.
evaljson() { nix-instantiate "${nixopts[@]}" --eval --json --strict "$@"; }
values() { python3 -c 'import json, sys; m = json.load(sys.stdin); print("\n".join(m[k] for k in sorted(m)))'; }
mapfile -t hostfiles < <(evaljson "$repo/testdata/nix/host.nix" | values)
hostkey=$(sha256sum "${hostfiles[@]}" | sha256sum | cut -d' ' -f1)
# benchKey: the contents of the copied host files and of the libraries that
# the python item copies (found with ldd, as its builder does), and the
# metadata of the copied trees (names, types, sizes, mtimes, modes, link
# targets), so a host upgrade rebuilds the items.
mapfile -t benchfiles < <(evaljson "$nixfile" -A hostFiles | values)
mapfile -t benchtrees < <(evaljson "$nixfile" -A hostTrees | values)
hostpython=$(evaljson "$nixfile" -A hostFiles.python | python3 -c 'import json, sys; print(json.load(sys.stdin))')
mapfile -t pylibs < <(for f in "$hostpython" "${benchtrees[@]/%//lib-dynload}"/*.so; do ldd "$f" || :; done |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
benchkey=$({
	sha256sum "${benchfiles[@]}" "${pylibs[@]}"
	for t in "${benchtrees[@]}"; do
		(cd "$t" && find . -printf '%P\t%y\t%s\t%T@\t%m\t%l\n' | LC_ALL=C sort | sha256sum)
	done
} | sha256sum | cut -d' ' -f1)

# The items; the out-links ($cache/ptrace-items, -2 …) are GC roots.
log "building $nixfile (the first time compiles the python standard library)"
mapfile -t built < <(nix-build "${nixopts[@]}" "$nixfile" --argstr hostKey "$hostkey" \
	--argstr benchKey "$benchkey" --out-link "$cache/ptrace-items" | xargs -r readlink -f)
declare -A item
for p in "${built[@]}"; do
	b=${p##*/}
	item[${b:33}]=$p
done
for n in bash bench-coreutils findutils python3 spin; do
	[[ -n ${item[$n]:-} ]] || die "nix-build $nixfile printed no $n item"
done
py=${item[python3]}
packed=("${item[bash]}" "${item[bench-coreutils]}" "${item[findutils]}" "$py" "${item[spin]}" "$tree")

tmp=$(mktemp -d /var/tmp/gpack-bench-ptrace.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
log "packing bash, true, find, python3, spin and $tree"
"$gpack" pack -q -R -f tarball -C none -o "$tmp/p.tar" "${packed[@]}" >/dev/null
root=$tmp/root
mkdir "$root"
tar -xf "$tmp/p.tar" -C "$root"
rm "$tmp/p.tar"
store=$(awk -F'\t' '$1 == "store" { print $2; exit }' "$root/.gpack/manifest")
[[ -n $store && -d $root$store ]] || die "the pack has no store"
[[ -d $store ]] || die "$store does not exist on this host: create it (an empty directory will do) so that it can be hidden or bound"
out=$tmp/out
mkdir "$out"
chown "$user" "$out"

# The relocate row's pack: a copy that the user owns, relocated by a first
# run (untimed) with the store hidden.
reloc=$tmp/reloc
cp -a "$root" "$reloc"
chown -R "$user" "$reloc"
unshare --mount --propagation private sh -c 'mount -t tmpfs none "$0" && exec "$@"' "$store" \
	setpriv --reuid="$user" --regid="$user" --clear-groups -- env GPACK_ENGINE=relocate "$reloc/bin/true" ||
	die "the first run of the relocate row's pack failed"
prefix=$(awk -F'\t' '$1 == "prefix" { print $2; exit }' "$reloc/.gpack/relocate/state")
[[ ${#prefix} == "${#store}" ]] || die "the relocated pack has no prefix"
link=$(printf %s "$prefix" | sed 's:/*$::')
trap 'rm -f "$link"; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# 200 standard-library modules, none of them loaded at start-up, none
# deprecated in 3.11 (a warning would go to stderr).
modules=(
	argparse ast asyncio base64 bdb bisect bz2 cProfile calendar cmd code codeop collections
	colorsys compileall concurrent configparser contextlib contextvars copy copyreg csv ctypes
	curses dataclasses datetime dbm decimal difflib dis doctest email enum filecmp fileinput
	fnmatch fractions ftplib functools getopt getpass gettext glob graphlib gzip hashlib heapq
	hmac html http imaplib importlib inspect ipaddress json keyword linecache locale logging
	lzma mailbox mimetypes mmap modulefinder multiprocessing netrc ntpath nturl2path numbers
	opcode operator optparse pathlib pdb pickle pickletools pkgutil platform plistlib poplib
	pprint profile pstats pty py_compile pyclbr pydoc queue quopri random re reprlib resource
	rlcompleter runpy sched secrets selectors shelve shlex shutil signal smtplib socket
	socketserver sqlite3 ssl statistics string stringprep struct subprocess symtable sysconfig
	tabnanny tarfile tempfile termios textwrap threading timeit token tokenize tomllib trace
	traceback tracemalloc tty types typing unittest urllib uuid warnings wave weakref webbrowser
	wsgiref xml xmlrpc zipapp zipfile zoneinfo
	asyncio.base_events asyncio.subprocess asyncio.streams concurrent.futures
	concurrent.futures.process concurrent.futures.thread ctypes.util curses.ascii curses.textpad
	dbm.dumb email.charset email.encoders email.generator email.headerregistry email.mime.application
	email.mime.audio email.mime.base email.mime.image email.mime.multipart email.mime.text
	email.parser email.policy email.utils html.entities html.parser http.client http.cookiejar
	http.cookies http.server importlib.metadata importlib.resources importlib.util json.decoder
	json.encoder logging.config logging.handlers multiprocessing.managers multiprocessing.pool
	multiprocessing.shared_memory sqlite3.dbapi2 unittest.mock urllib.error urllib.parse
	urllib.request urllib.robotparser xml.dom.minidom xml.dom.pulldom xml.etree.ElementTree
	xml.parsers.expat xml.sax xml.sax.expatreader xml.sax.handler xml.sax.saxutils xmlrpc.client
	xmlrpc.server wsgiref.simple_server wsgiref.validate
)
((${#modules[@]} == 200)) || die "the module list has ${#modules[@]} names, not 200"
imports=$(IFS=,; echo "${modules[*]}")

# Workloads: the program's name in the pack, then its arguments. Each exits
# non-zero when something goes wrong. The python one checks that it runs on
# the store's standard library. PYTHONHOME, set in every row, makes it so:
# Debian's python3.11 looks for lib/python3.11 next to argv[0], which the
# launcher leaves as typed (ROOT/bin/python3), and otherwise falls back to
# its compiled-in prefix, the host's /usr.
workloads=(exec find python cpu)
declare -A label=(
	[exec]="exec: $execs × store true from store bash"
	[find]="find: find -printf over go ($(find "$tree" | wc -l) entries)"
	[python]="python: import 200 stdlib modules"
	[cpu]="cpu: spin $spin (no system calls)"
)
work_exec=(bash -c "for ((i = 0; i < $execs; i++)); do ${item[bench-coreutils]}/bin/true || exit; done")
work_find=(find "$tree" -printf '%y %m %s %T@ %p\n')
work_python=(python3 -c "import sys; assert sys.prefix == '$py', sys.prefix; import $imports")
work_cpu=(spin "$spin")
rows=(native gpack-relocate gpack-ptrace proot proot-no-seccomp gpack-userns)

# One run of one cell, as BENCH_USER inside the namespace:
# measure.sh OUT ROUND COMMAND... Round 0 checks, the others time.
cat >"$tmp/measure.sh" <<'EOF'
out=$1 round=$2
shift 2
if ((round == 0)); then
	"$@" >/dev/null 2>"$out.err" || { printf 'exit status %s\n' "$?" >>"$out.err"; exit 3; }
	exit 0
fi
cmd=$(printf '%q ' "$@")
exec hyperfine --style none -N --warmup 0 --runs 1 \
	--command-name "${out##*/}" --export-json "$out.$round.json" "${cmd% }"
EOF

hide='mount -t tmpfs none "$0"'
bind='mount --bind "$1" "$0"'

# cell WORKLOAD ROW ROUND: one run of a cell. It leaves
# $out/WORKLOAD.ROW.ROUND.json, or $out/WORKLOAD.ROW.failed with the reason.
cell() {
	local wl=$1 row=$2 round=$3 setup=$hide env=() cmd rc=0
	local o=$out/$wl.$row
	[[ -e $o.failed ]] && return
	local -n work=work_$wl
	local name=${work[0]} args=("${work[@]:1}")
	local program
	program=$(awk -F'\t' -v n="$name" '$1 == "program" && $2 == n { print $3; exit }' "$root/.gpack/manifest")
	[[ -n $program ]] || die "the pack has no program $name"
	case $row in
	native) setup=$bind cmd=("$program" "${args[@]}") ;;
	gpack-ptrace) env=(GPACK_ENGINE=ptrace) cmd=("$root/bin/$name" "${args[@]}") ;;
	proot) cmd=(proot -b "$root$store:$store" "$program" "${args[@]}") ;;
	proot-no-seccomp) env=(PROOT_NO_SECCOMP=1) cmd=(proot -b "$root$store:$store" "$program" "${args[@]}") ;;
	gpack-userns) env=(GPACK_ENGINE=userns) cmd=("$root/bin/$name" "${args[@]}") ;;
	gpack-relocate)
		# Its own copy of the pack, relocated once beforehand: the store
		# paths the workloads name become the relocation's prefix, as
		# the pack's own files do.
		env=(GPACK_ENGINE=relocate PYTHONHOME="${py/#$store\//$prefix/}")
		cmd=("$reloc/bin/$name" "${args[@]//$store\//$prefix/}") ;;
	esac
	local t0=$EPOCHREALTIME
	# A PID namespace of its own, killed with unshare (--kill-child) when
	# timeout ends it, so that a hung row leaves nothing behind.
	timeout --kill-after=10 "$limit" \
		unshare --mount --propagation private --pid --kill-child --mount-proc \
		sh -c "$setup"' && shift && exec "$@"' "$store" "$root$store" \
		setpriv --reuid="$user" --regid="$user" --clear-groups -- \
		env PYTHONHOME="$py" "${env[@]}" \
		bash "$tmp/measure.sh" "$o" "$round" "${cmd[@]}" >&2 || rc=$?
	if ((rc == 0)) && { ((round == 0)) || [[ -s $o.$round.json ]]; }; then
		if ((round == 0)); then
			log "round 0, $wl / $row: works (check and set-up took $(python3 -c "print(f'{$EPOCHREALTIME - $t0:.3f}')") s)"
		else
			log "round $round, $wl / $row: $(python3 -c 'import json, sys; print("%.3f s" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$o.$round.json")"
		fi
		return
	elif ((rc == 124 || rc == 137)); then
		echo "timed out after $limit s" >"$o.failed"
	elif ((rc == 3)) && [[ -s $o.err ]]; then
		# The launcher's or proot's own words rather than the exit status.
		grep -v '^exit status' "$o.err" | tail -n 1 | cut -c1-300 >"$o.failed" || :
		[[ -s $o.failed ]] || tail -n 1 "$o.err" >"$o.failed"
	else
		echo "exit status $rc (round $round)" >"$o.failed"
	fi
	log "round $round, $wl / $row failed: $(cat "$o.failed")"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
for ((round = 0; round <= runs; round++)); do
	((round == 0)) && log "round 0: checking every cell once (untimed)"
	for wl in "${workloads[@]}"; do
		for row in "${rows[@]}"; do
			cell "$wl" "$row" "$round"
		done
	done
done
log "done in $(($(date +%s) - start)) s"

# Debian's proot is built without its seccomp filter (proot -V says
# "seccomp_filter = no"): then both proot rows stop at every system call.
proot_version=$(proot -V 2>&1 | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -n1)
proot_seccomp=$(proot -V 2>&1 | sed -n 's/.*seccomp_filter = \([a-z]*\).*/\1/p')

echo
echo "Pack of $(nix-store -qR "${packed[@]}" | wc -l) store items; median of $runs runs per cell as uid $user; $(uname -r), $(nproc) cores, load average $load at the start; proot ${proot_version:-?} (seccomp filter built in: ${proot_seccomp:-unknown})"
echo
labels=()
for wl in "${workloads[@]}"; do labels+=("${label[$wl]}"); done
python3 - "$out" "$runs" "$proot_seccomp" "${workloads[@]}" -- "${labels[@]}" -- "${rows[@]}" <<'PY'
import json, os, statistics, sys

out, runs, seccomp, *rest = sys.argv[1:]
runs = int(runs)
i = rest.index("--")
workloads, rest = rest[:i], rest[i + 1:]
j = rest.index("--")
labels, rows = rest[:j], rest[j + 1:]

def result(wl, row):
    """(run times in seconds, None), or (None, reason) for a failed cell."""
    base = os.path.join(out, f"{wl}.{row}")
    try:
        with open(base + ".failed") as f:
            return None, f.read().strip() or "unknown reason"
    except OSError:
        pass
    times = []
    for r in range(1, runs + 1):
        try:
            with open(f"{base}.{r}.json") as f:
                times += json.load(f)["results"][0]["times"]
        except (OSError, ValueError, KeyError, IndexError):
            return None, f"no result for round {r}"
    return times, None

# The ratio needs a proot overhead above the noise: above this (in %) and
# above the spread of the native runs, (max - min) / median.
THRESHOLD = 5.0

head = ["workload"] + [f"{r} (s, overhead)" for r in rows] + ["gpack-ptrace / best proot overhead"]
print("| " + " | ".join(head) + " |")
print("|---" + "|---:" * (len(head) - 1) + "|")
failures = {}
for wl, label in zip(workloads, labels):
    res = {r: result(wl, r) for r in rows}
    for r, (_, why) in res.items():
        if why is not None:
            failures.setdefault((r, why), []).append(wl)
    med = {r: statistics.median(ts) for r, (ts, _) in res.items() if ts}
    native = med.get("native")
    spread = None
    if native is not None:
        ts = res["native"][0]
        spread = (max(ts) - min(ts)) / native * 100
    over, cells = {}, []
    for r in rows:
        t = med.get(r)
        if t is None:
            cells.append("failed")
        elif r == "native":
            cells.append(f"{t:.3f} (spread {spread:.0f} %)")
        elif native is None:
            cells.append(f"{t:.3f}")
        else:
            over[r] = (t - native) / native * 100
            cells.append(f"{t:.3f} ({over[r]:+.0f} %)")
    proots = [over[r] for r in rows if r.startswith("proot") and r in over]
    if "gpack-ptrace" not in over or not proots:
        ratio = "n/a"
    elif min(proots) < max(THRESHOLD, spread):
        ratio = "n/a (noise)"
    else:
        ratio = f"{over['gpack-ptrace'] / min(proots):.2f}"
    print(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")

print()
print("Seconds: the median of the runs; spread: (max - min) / median of the native runs.")
print("Overhead: (row - native) / native. Ratio: gpack-ptrace's overhead divided by the smaller of")
print("the two proot rows' (below 1: gpack-ptrace costs less than proot); n/a when a row failed, and")
print(f"noise when proot's overhead is under {THRESHOLD:.0f} % or under the native spread.")
if seccomp != "yes":
    print(f"This proot has no seccomp filter built in (proot -V: seccomp_filter = {seccomp or 'unknown'}),")
    print("so proot and proot-no-seccomp both stop at every system call.")
for (r, why), wls in sorted(failures.items()):
    print(f"\n{r} failed ({', '.join(wls)}): {why}")
PY

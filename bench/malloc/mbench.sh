#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/malloc/mbench.sh - heapkit's malloc on the programs of mimalloc-bench
# (cfrac, espresso, glibc's malloc-simple, alloc-test, larson, xmalloc-test,
# mstress, rptest), against glibc and whichever of jemalloc, mimalloc and
# tcmalloc are installed, each chosen with LD_PRELOAD.
#
#   bench/malloc/mbench.sh SUBSET.tar.xz [ir] [rss] [wall] [--lib LIB.so]
#
# SUBSET.tar.xz is the archive of mimalloc-bench's bench/ folder (third-party
# code: unpacked and built under build/bench-malloc/mb, never committed).
#   ir    whole-process user-space instructions (callgrind) of the
#         single-threaded workloads on reduced inputs, ratio to glibc
#   rss   peak RSS (GNU time) of the multi-threaded ones, ratio to glibc
#   wall  2-thread larson / xmalloc-test / mstress: median rates of 5 runs,
#         glibc and heapkit alternated run by run (noisy on a shared machine)
#   real  real programs: the sqlite3 shell (20,000 inserts, an index,
#         queries), perl (hashes, sort, regexes), python3 (dicts, lists,
#         strings, a sort) and lua5.4 (tables, string building) when
#         installed: instructions and peak RSS, ratios to glibc
# --lib: measure this heapkit library instead of a fresh release build.
# Writes build/bench-malloc/mbench.md.
set -eu
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/bench-malloc
mkdir -p "$out"
tarball=${1:?usage: mbench.sh SUBSET.tar.xz [ir] [rss] [wall] [--lib LIB.so]}
shift
modes=() hk=
while [ $# -gt 0 ]; do
    case $1 in
    --lib) hk=$2; shift ;;
    *) modes+=("$1") ;;
    esac
    shift
done
[ ${#modes[@]} -eq 0 ] && modes=(ir rss wall real)

if [ -z "$hk" ]; then
    cmake -S "$root" -B "$out/lib" -DCMAKE_BUILD_TYPE=Release -DHK_BUILD_TESTS=OFF >/dev/null
    cmake --build "$out/lib" -j2 --target heapkit_malloc >/dev/null
    hk=$out/lib/src/malloc/libheapkit_malloc.so
fi

# The programs, with the reduced inputs of the reference figures: glibc's
# malloc-simple at 40,000 iterations, alloc-test at 1.5M operations.
mb=$out/mb
if [ ! -x "$mb/bin/cfrac" ]; then
    rm -rf "$mb/src"
    mkdir -p "$mb/src" "$mb/bin"
    tar xJf "$tarball" -C "$mb/src"
    src=$(dirname "$(find "$mb/src" -maxdepth 3 -type d -name cfrac | head -1)")/..
    sed -i 's/#define NUM_ITERS 2000000/#define NUM_ITERS 40000/' "$src/bench/glibc-bench/bench-malloc-simple.c"
    sed -i 's/iterCount = 100000000;/iterCount = 1500000;/' "$src/bench/alloc-test/allocator_tester.cpp"
    bash "$root/../shared/bench/build_mbench.sh" "$src" "$mb/bin" >"$mb/build.log" 2>&1 ||
        bash /work/shared/bench/build_mbench.sh "$src" "$mb/bin" >"$mb/build.log" 2>&1
    { head -2 "$mb/bin/largest.espresso"; grep -v '^\.' "$mb/bin/largest.espresso" | head -250
      echo .e; } >"$mb/bin/small.espresso"
fi
b=$mb/bin

libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
names=(glibc heapkit)
libs=("" "$hk")
for pair in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
    [ -f "$libdir/${pair#*:}" ] && { names+=("${pair%%:*}"); libs+=("$libdir/${pair#*:}"); }
done

res=$out/mbench.md
: >"$res"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

if [[ " ${modes[*]} " == *" ir "* ]]; then
    hdr() { local h="| $1"; for n in "${names[@]}"; do h+=" | $n"; done; echo "$h |"
            h="| ---"; for n in "${names[@]}"; do h+=" | ---"; done; echo "$h |"; }
    hdr "workload (instructions: glibc M, others / glibc)" >>"$res"
    declare -A cmds=(
        [cfrac]="$b/cfrac 175451865205073170563711388363"
        [espresso]="$b/espresso $b/small.espresso"
        [glibc-simple]="$b/glibc-simple"
        [alloc-test]="$b/alloc-test 1")
    for w in cfrac espresso glibc-simple alloc-test; do
        row="| $w"
        base=0
        for i in "${!names[@]}"; do
            n=$(env LD_PRELOAD="${libs[$i]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                ${cmds[$w]} 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1)
            [ "$i" = 0 ] && base=$n
            if [ "$i" = 0 ]; then row+=" | $((n / 1000000))M"; else row+=" | $(ratio "$n" "$base")"; fi
        done
        echo "$row |" >>"$res"
        echo "done: ir $w"
    done
fi

peak() { # lib cmd... -> peak RSS in KiB
    local lib=$1; shift
    env LD_PRELOAD="$lib" /usr/bin/time -f 'PEAK %M' "$@" 2>&1 >/dev/null | sed -n 's/^PEAK //p' | tail -1
}

if [[ " ${modes[*]} " == *" rss "* ]]; then
    echo >>"$res"
    h="| workload (peak RSS MB (/ glibc); hkb-freeall: RSS after the frees)"; for n in "${names[@]}"; do h+=" | $n"; done
    echo "$h |" >>"$res"; echo "| ---$(printf ' | ---%.0s' "${names[@]}") |" >>"$res"
    declare -A rcmds=(
        [larson-2]="$b/larson 5 8 1000 5000 100 4141 2"
        [xmalloc-test-2]="$b/xmalloc-test -w 2 -t 5 -s 64"
        [mstress-2]="$b/mstress 2 20 25"
        [glibc-thread-100]="$b/glibc-thread 100"
        [hkb-freeall]="$out/hkb_bench freeall 1 1"
        [hkb-threads100]="$out/hkb_bench threads100 1 1"
        [hkb-prodcons-16]="$out/hkb_bench prodcons 16 1"
        [hkb-server-2]="$out/hkb_bench server 2 1")
    cc -O2 -g -pthread "$root/bench/malloc/hkb_bench.c" -o "$out/hkb_bench"
    for w in larson-2 xmalloc-test-2 mstress-2 glibc-thread-100 hkb-freeall hkb-threads100 hkb-prodcons-16 hkb-server-2; do
        row="| $w"
        base=0
        for i in "${!names[@]}"; do
            # shellcheck disable=SC2086
            if [ "$w" = hkb-freeall ]; then # the resident set right after the frees
                k=$(env LD_PRELOAD="${libs[$i]}" ${rcmds[$w]} | sed -n 's/.*rss_after_free_kb=\([0-9]*\).*/\1/p')
            else
                k=$(peak "${libs[$i]}" ${rcmds[$w]})
            fi
            [ "$i" = 0 ] && base=$k
            row+=" | $((k / 1024)) ($(ratio "$k" "$base"))"
        done
        echo "$row |" >>"$res"
        echo "done: rss $w"
    done
fi

# One 2-thread run -> a rate, higher is better: larson's and xmalloc-test's
# own throughput figures (they run for a fixed time), mstress's 1 / wall time.
rate() { # workload lib
    local o
    case $1 in
    larson-2) o=$(env LD_PRELOAD="$2" "$b/larson" 3 8 1000 5000 100 4141 2 2>&1)
              echo "$o" | sed -n 's/^Throughput = *\([0-9]*\).*/\1/p' | awk '{ printf "%.2f", $1 / 1e6 }' ;;
    xmalloc-test-2) o=$(env LD_PRELOAD="$2" "$b/xmalloc-test" -w 2 -t 3 -s 64 2>&1)
              echo "$o" | sed -n 's/.*free\/sec: *\([0-9.]*\) M.*/\1/p' | tail -1 ;;
    mstress-2) o=$( { env LD_PRELOAD="$2" /usr/bin/time -f 'WALL %e' "$b/mstress" 2 100 50 >/dev/null; } 2>&1)
              echo "$o" | sed -n 's/^WALL //p' | awk '{ printf "%.3f", 1 / ($1 > 0 ? $1 : 0.01) }' ;;
    esac
}

if [[ " ${modes[*]} " == *" wall "* ]]; then
    echo >>"$res"
    echo "| 2 threads: rate (M ops/s; mstress 1/s), median of 5 alternated | glibc | heapkit | heapkit / glibc |" >>"$res"
    echo "| --- | --- | --- | --- |" >>"$res"
    for w in larson-2 xmalloc-test-2 mstress-2; do
        g=() h=()
        for k in 1 2 3 4 5; do
            g+=("$(rate "$w" "")")
            h+=("$(rate "$w" "$hk")")
        done
        mg=$(printf '%s\n' "${g[@]}" | sort -g | sed -n 3p)
        mh=$(printf '%s\n' "${h[@]}" | sort -g | sed -n 3p)
        echo "| $w | $mg | $mh | $(ratio "$mh" "$mg") |" >>"$res"
        echo "done: wall $w"
    done
fi
if [[ " ${modes[*]} " == *" real "* ]]; then
    r=$out/real
    mkdir -p "$r"
    awk 'BEGIN { print "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT);"; print "BEGIN;"
        for (i = 1; i <= 20000; i++) printf "INSERT INTO t(k, name) VALUES(%d, %cn-%d%c);\n", (i * 7919) % 1000, 39, i % 3000, 39
        print "COMMIT;"; print "CREATE INDEX t_k ON t(k);"
        print "SELECT k, count(*) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 3;"
        print "SELECT count(DISTINCT name) FROM t;" }' >"$r/bench.sql"
    cat >"$r/t.pl" <<'PERL'
my %h; my @a;
for my $i (1 .. 60000) { my $k = "key" . ($i * 7919 % 100003); $h{$k} .= "v$i,"; push @a, $k; }
my @s = sort { $h{$a} cmp $h{$b} } keys %h;
my $n = 0; for my $v (values %h) { $n++ while $v =~ /v(\d*7),/g; }
my $j = join("|", @s[0 .. 99]); $j =~ s/key(\d+)/K$1/g;
print scalar(@s), " $n ", length($j), "\n";
PERL
    cat >"$r/t.py" <<'PY'
d = {}
for i in range(60000):
    d["k%d" % (i * 7919 % 100003)] = [i, str(i) * 3, (i, i + 1)]
s = sorted(d.items(), key=lambda kv: kv[1][1])
t = "".join(v[1] for _, v in s[:5000])
print(len(d), len(t), sum(len(v[1]) for v in d.values()))
PY
    cat >"$r/t.lua" <<'LUA'
local t = {}
for i = 1, 60000 do t["k" .. (i * 7919 % 100003)] = {i, tostring(i):rep(3)} end
local keys = {}
for k in pairs(t) do keys[#keys + 1] = k end
table.sort(keys, function(a, b) return t[a][2] < t[b][2] end)
local parts = {}
for i = 1, 5000 do parts[#parts + 1] = t[keys[i]][2] end
print(#keys, #table.concat(parts))
LUA
    declare -A real=(
        [sqlite3]="sqlite3 :memory: -init $r/bench.sql .quit"
        [perl]="perl $r/t.pl"
        [python3]="/usr/bin/python3 $r/t.py"
        [lua5.4]="lua5.4 $r/t.lua")
    echo >>"$res"
    h="| real program (instructions: glibc M, others / glibc; peak RSS MB (/ glibc))"
    for n in "${names[@]}"; do h+=" | $n"; done
    echo "$h |" >>"$res"; echo "| ---$(printf ' | ---%.0s' "${names[@]}") |" >>"$res"
    for w in sqlite3 perl python3 lua5.4; do
        command -v "${real[$w]%% *}" >/dev/null 2>&1 || { echo "note: $w not installed; left out"; continue; }
        row="| $w"
        base=0 rbase=0
        for i in "${!names[@]}"; do
            # shellcheck disable=SC2086
            n=$(env LD_PRELOAD="${libs[$i]}" PYTHONMALLOC=malloc valgrind --tool=callgrind \
                --callgrind-out-file=/dev/null ${real[$w]} 2>&1 >/dev/null |
                sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1)
            # shellcheck disable=SC2086
            k=$(PYTHONMALLOC=malloc peak "${libs[$i]}" ${real[$w]})
            [ "$i" = 0 ] && { base=$n; rbase=$k; }
            if [ "$i" = 0 ]; then row+=" | $((n / 1000000))M, $((k / 1024)) MB"
            else row+=" | $(ratio "$n" "$base"), $((k / 1024)) ($(ratio "$k" "$rbase"))"; fi
        done
        echo "$row |" >>"$res"
        echo "done: real $w"
    done
fi
cat "$res"

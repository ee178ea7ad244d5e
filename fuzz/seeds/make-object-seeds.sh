#!/usr/bin/env bash
# Rebuilds fuzz/seeds/object/: objects that clang-19 compiles from the
# reference uops (uop-defs/defs), three per target: the smallest and the two
# with the most relocations among those of at most 4 KiB. Each seed is the
# object behind one byte that makes the `object` fuzz target pick the
# object's target (its index in stencil_gen::target::ALL).
#
# The objects come from the generator's own cache, filled afresh in a
# temporary directory by `gen-stencils --check`, so they are built with
# exactly the flags of stencil-gen/src/target.rs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/fuzz/seeds/object"
objdump=${LLVM_OBJDUMP:-llvm-objdump-19}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `--check` exits 1 when generated/ is stale; the cache is filled either way.
(cd "$root" && cargo xtask gen-stencils --check --target all --cache-dir "$work/cache") \
    >"$work/gen.log" 2>&1 || true
if ! ls "$work"/cache/* >/dev/null 2>&1; then
    cat "$work/gen.log" >&2
    exit 1
fi

# Index in stencil_gen::target::ALL of the target an object is for.
target_index() {
    # llvm-objdump -f names the format, then fails on some Mach-O files.
    case "$("$objdump" -f "$1" 2>/dev/null | sed -n 's/.*file format //p')" in
        elf64-littleaarch64) echo 0 ;;
        elf64-x86-64) echo 1 ;;
        mach-o\ arm64) echo 2 ;;
        mach-o\ 64-bit\ x86-64) echo 3 ;;
        coff-arm64) echo 4 ;;
        coff-x86-64) echo 5 ;;
        coff-i386) echo 6 ;;
        elf64-littleriscv) echo 7 ;;
        *) echo unknown ;;
    esac
}

mkdir -p "$work/objects"
for entry in "$work"/cache/*; do
    # Cache entry: a 100-byte header whose object length is the u64 at
    # byte 44, then the object.
    len=$(od -An -t u8 -j 44 -N 8 "$entry" | tr -d ' ')
    object="$work/objects/$(basename "$entry").o"
    tail -c +101 "$entry" | head -c "$len" >"$object"
    index=$(target_index "$object")
    relocations=$("$objdump" -r "$object" | grep -c '^[0-9a-f]\{8,16\} ' || true)
    echo "$index $len $relocations $object"
done >"$work/list"

rm -rf "$out"
mkdir -p "$out"
for index in 0 1 2 3 4 5 6 7; do
    # `sed -n` reads all its input, so no sort dies of a closed pipe.
    {
        grep "^$index " "$work/list" | sort -k2,2n | sed -n 1p
        grep "^$index " "$work/list" | awk '$2 <= 4096' | sort -k3,3nr -k2,2n | sed -n 1,2p
    } | sort -u | while read -r _ len relocations object; do
        seed="$out/target$index-$len-$relocations"
        printf "\\x0$index" >"$seed"
        cat "$object" >>"$seed"
    done
done
ls -l "$out"

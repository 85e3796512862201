#!/usr/bin/env bash
# The C++ style of the repository (.clang-format at the root), checked or applied:
#
#   tools/format.sh             list the files clang-format would change, with the number of
#                               lines each; exit 1 if there is any, 0 if none
#   tools/format.sh --fix       reformat those files in place
#   tools/format.sh [--fix] FILE...   only these files
#
# It covers the tracked *.cc and *.h files. The eBPF programs (*.bpf.c, *.bpf.h) and the
# headers they share with user space are written in the kernel's style, as libbpf-tools'
# are, and are left alone. Needs clang-format (Debian: apt-get install clang-format; set
# CLANG_FORMAT to use another binary).
set -euo pipefail

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
fix=false
if [ "${1:-}" = "--fix" ]; then fix=true; shift; fi
case "${1:-}" in
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "format.sh: unknown option $1 (--fix, or file names)" >&2; exit 2 ;;
esac
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format.sh: $CLANG_FORMAT not found: apt-get install clang-format (or set CLANG_FORMAT)" >&2
  exit 2
fi

files=()
for f in "$@"; do files+=("$(realpath -m -- "$f")"); done  # named from the caller's folder
cd "$(dirname "$0")/.."
if [ ${#files[@]} -gt 0 ]; then
  for f in "${files[@]}"; do
    case "$f" in
      *.bpf.h) echo "format.sh: $f is an eBPF header, in the kernel's style" >&2; exit 2 ;;
      *.cc|*.h) ;;
      *) echo "format.sh: $f is not a C++ file (*.cc, *.h)" >&2; exit 2 ;;
    esac
  done
else
  # Headers an eBPF program includes are compiled for the kernel too: kernel style.
  mapfile -t kernel_style < <(git ls-files '*.bpf.c' '*.bpf.h' | xargs -r grep -ho '#include "[^"]*"' |
                              sed 's/#include "\(.*\)"/\1/' | sort -u)
  mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v '\.bpf\.h$' |
                       grep -vxF -f <(printf '%s\n' "${kernel_style[@]}") || true)
fi

changed=0 lines=0
for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then echo "format.sh: $f: no such file" >&2; exit 2; fi
  n=$("$CLANG_FORMAT" --style=file "$f" | diff "$f" - | grep -c '^>' || true)
  [ "$n" -eq 0 ] && continue
  changed=$((changed + 1)) lines=$((lines + n))
  if $fix; then
    "$CLANG_FORMAT" --style=file -i "$f"
    echo "reformatted $f"
  else
    echo "$f: $n line(s) to reformat"
  fi
done

if $fix; then
  echo "format.sh: reformatted $changed of ${#files[@]} files"
elif [ "$changed" -gt 0 ]; then
  echo "format.sh: $changed of ${#files[@]} files are not formatted ($lines lines); tools/format.sh --fix reformats them" >&2
  exit 1
else
  echo "format.sh: all ${#files[@]} files are formatted"
fi

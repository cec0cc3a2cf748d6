#!/usr/bin/env bash
# Fuzzes one harness target with AFL++ through SharpFuzz for a bounded time.
#   fuzz/run.sh handshake 600      # target, seconds (default 300)
# Installs what is missing: afl++ (Debian package) and the SharpFuzz.CommandLine tool (NuGet, into fuzz/.tools).
# libFuzzer mode (FastSidecar.Fuzz <target> libfuzzer) needs libfuzzer-dotnet, which is built from source with
# clang and is not packaged where this runs, so AFL++ is the engine here.
# Results: fuzz/.findings/<target>/default/{crashes,hangs,fuzzer_stats}. Exit status 1 when anything was found.
set -euo pipefail

target="${1:-handshake}"
seconds="${2:-300}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/.tools"
out="$here/.out/$target"
findings="$here/.findings/$target"

case "$target" in
  handshake|frames|proxy) ;;
  *) echo "unknown target: $target (handshake|frames|proxy)" >&2; exit 2 ;;
esac

if ! command -v afl-fuzz >/dev/null; then
  echo "installing afl++" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi

if [ ! -x "$tools/sharpfuzz" ]; then
  echo "installing SharpFuzz.CommandLine" >&2
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# A fresh build each run: sharpfuzz rewrites FastSidecar.dll in place and must not see it twice.
rm -rf "$out"
dotnet build "$here/FastSidecar.Fuzz/FastSidecar.Fuzz.csproj" -c Release -o "$out" -nologo -v quiet

# The harness proves itself on the seeds before fuzzing: a seed that fails is a finding already. This runs before
# instrumentation because instrumented code writes to AFL's shared coverage map, which exists only under afl-fuzz.
dotnet "$out/FastSidecar.Fuzz.dll" "$target" replay "$here/corpus/$target"
"$tools/sharpfuzz" "$out/FastSidecar.dll"

mkdir -p "$findings"
# Managed targets: the binary check, the memory limit and core_pattern checks do not apply to dotnet.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
set +e
afl-fuzz -i "$here/corpus/$target" -o "$findings" -t 10000 -m none -V "$seconds" \
  -- dotnet "$out/FastSidecar.Fuzz.dll" "$target" afl
status=$?
set -e

stats="$findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "afl-fuzz did not start (exit $status)" >&2
  exit 1
fi
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg)' "$stats"
crashes=$(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "crashes: $crashes, hangs: $hangs (replay one on an uninstrumented build: dotnet run -c Release --project fuzz/FastSidecar.Fuzz -- $target replay FILE)"
[ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ]

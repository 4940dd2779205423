#!/usr/bin/env bash
# Package-consumer check: packs src/LastTokenEmbeddings, then builds, runs and publishes
# tests/PackageConsumer, an app that references the LastTokenEmbeddings *package* (not the project)
# and does a tiny TorchSharp computation. It proves that the package's buildTransitive targets make
# libLibTorchSharp.so loadable on this host, that the NuGet cache copy is never modified, and that a
# second build leaves the patched output copy identical.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

consumer=tests/PackageConsumer
publish_dir=artifacts/package-consumer/publish
expected='torch.arange(4).sum() = 6'
glibcxx=GLIBCXX_3.4.32

step() { printf '\n=== package consumer: %s\n' "$*"; }
fail() { printf 'package consumer: FAIL: %s\n' "$*" >&2; exit 1; }

version=$(sed -n 's:.*<Version>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</Version>.*:\1:p' Directory.Build.props | head -n 1)
torchsharp_version=$(sed -n 's:.*Include="TorchSharp" Version="\([^"]*\)".*:\1:p' Directory.Packages.props | head -n 1)
[[ -n $version ]] || fail "no <Version> in Directory.Build.props"
[[ -n $torchsharp_version ]] || fail "no TorchSharp version in Directory.Packages.props"

global_packages=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')
global_packages=${global_packages%/}
[[ -n $global_packages ]] || fail "could not determine the NuGet global packages folder"
cache_so=$global_packages/torchsharp/$torchsharp_version/runtimes/linux-x64/native/libLibTorchSharp.so
output_so=$consumer/bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so
published_so=$publish_dir/runtimes/linux-x64/native/libLibTorchSharp.so

sha() { sha256sum "$1" | cut -d ' ' -f 1; }

host_has_glibcxx() {
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 \
             /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6 /lib64/libstdc++.so.6 /lib/libstdc++.so.6; do
    if [[ -e $lib ]]; then
      grep -qaF "$glibcxx" "$lib"
      return
    fi
  done
  return 1
}

# Flags readelf reports for the GLIBCXX_3.4.32 version-needed entry: "WEAK", "none", or "" if absent.
glibcxx_flags() {
  readelf -V --wide "$1" | sed -n "s/.*Name: ${glibcxx//./\\.}[[:space:]]*Flags: \([^[:space:]]*\).*/\1/p" | head -n 1
}

have_readelf=true
command -v readelf > /dev/null || { have_readelf=false; echo "package consumer: readelf not found (binutils); skipping ELF flag checks, sha256 checks still run"; }

# Every Linux output is patched, whatever the build host has: the app may run on an older one.
if host_has_glibcxx; then host_lacks=false; else host_lacks=true; fi
echo "LastTokenEmbeddings $version, TorchSharp $torchsharp_version; host libstdc++ lacks $glibcxx: $host_lacks"

# Expectation for a copy of libLibTorchSharp.so in build/publish output.
check_output_copy() {
  local file=$1
  [[ -f $file ]] || fail "$file missing"
  [[ $(sha "$file") != "$cache_sha" ]] || fail "$file is identical to the NuGet cache copy (not patched)"
  if $have_readelf; then
    [[ $(glibcxx_flags "$file") == WEAK ]] || fail "$glibcxx is not flagged weak in $file"
  fi
  echo "ok: $file ($glibcxx weak)"
}

check_cache_copy() {
  [[ $(sha "$cache_so") == "$cache_sha" ]] || fail "NuGet cache copy $cache_so was modified"
  if $have_readelf; then
    [[ $(glibcxx_flags "$cache_so") == none ]] || fail "NuGet cache copy $cache_so: $glibcxx flags are '$(glibcxx_flags "$cache_so")', expected 'none'"
  fi
  echo "ok: NuGet cache copy unchanged ($cache_so)"
}

# Runs a command whose stdout must contain the expected result.
check_run() {
  local output rc=0
  output=$("$@") || rc=$?
  (( rc == 0 )) || { printf '%s\n' "$output"; fail "'$*' exited with $rc"; }
  printf '%s\n' "$output"
  [[ $output == *"$expected"* && $output == *"PackageConsumer: OK"* ]] || fail "'$*' did not print '$expected'"
}

step "pack"
dotnet pack src/LastTokenEmbeddings -c Release -o artifacts/packages
[[ -f artifacts/packages/LastTokenEmbeddings.$version.nupkg ]] || fail "artifacts/packages/LastTokenEmbeddings.$version.nupkg not produced"

[[ -f $cache_so ]] || fail "$cache_so missing (TorchSharp $torchsharp_version not restored?)"
cache_sha=$(sha "$cache_so")
check_cache_copy

step "clear cached LastTokenEmbeddings $version and previous consumer outputs"
rm -rf "${global_packages:?}/lasttokenembeddings/${version:?}"
rm -rf "$consumer/bin" "$consumer/obj" "$publish_dir"

step "dotnet run"
check_run dotnet run --project "$consumer" -c Release
[[ -f $global_packages/lasttokenembeddings/$version/buildTransitive/LastTokenEmbeddings.targets ]] \
  || fail "restored package has no buildTransitive/LastTokenEmbeddings.targets"
grep -q "lasttokenembeddings/$version/buildTransitive/LastTokenEmbeddings.targets" "$consumer/obj/PackageConsumer.csproj.nuget.g.targets" \
  || fail "the consumer does not import the package's buildTransitive targets"
if grep -rqs "src/LastTokenEmbeddings/buildTransitive" "$consumer/obj"/*.props "$consumer/obj"/*.targets; then
  fail "the consumer imports the repository's targets instead of the package's"
fi
check_output_copy "$output_so"

step "second build (idempotence)"
first_sha=$(sha "$output_so")
dotnet build "$consumer" -c Release --no-restore
[[ $(sha "$output_so") == "$first_sha" ]] || fail "second build changed $output_so"
check_output_copy "$output_so"
echo "ok: second build left $output_so identical"

step "dotnet publish"
dotnet publish "$consumer" -c Release --no-restore -o "$publish_dir"
check_output_copy "$published_so"
check_run dotnet "$publish_dir/PackageConsumer.dll"

if $host_lacks; then
  # Same published app with the NuGet cache's unpatched copy swapped in (hard-link farm, so nothing
  # is copied; the swapped file is unlinked first, never written through). NUGET_PACKAGES points
  # nowhere so TorchSharp's fallback does not consolidate ~1 GB of natives from the cache.
  step "negative control: the unpatched library must not load on this host"
  control_dir=artifacts/package-consumer/unpatched
  rm -rf "$control_dir"
  cp -al "$publish_dir" "$control_dir"
  rm "$control_dir/runtimes/linux-x64/native/libLibTorchSharp.so"
  cp "$cache_so" "$control_dir/runtimes/linux-x64/native/libLibTorchSharp.so"
  if control_output=$(NUGET_PACKAGES=/nonexistent-lasttokenembeddings-ci dotnet "$control_dir/PackageConsumer.dll" 2>&1); then
    printf '%s\n' "$control_output"
    fail "the unpatched libLibTorchSharp.so loaded; this check would not detect a missing patch"
  fi
  [[ $control_output == *"Failed to load native component LibTorchSharp"* ]] \
    || { printf '%s\n' "$control_output"; fail "the unpatched run failed for another reason"; }
  echo "ok: with the unpatched copy the same app fails to load LibTorchSharp"
  rm -rf "$control_dir"
  check_output_copy "$published_so"
fi

step "NuGet cache"
check_cache_copy
echo "package consumer: all checks passed"

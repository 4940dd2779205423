#!/usr/bin/env bash
# Rebuilds the shim shipped in src/LastTokenEmbeddings/runtimes/linux-x64/native/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../src/LastTokenEmbeddings/runtimes/linux-x64/native/libltemklshim.so"
gcc -shared -fPIC -O2 -s -Wl,--hash-style=both -o "$out" "$here/ltemklshim.c"
echo "built $out"

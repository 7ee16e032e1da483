#!/usr/bin/env bash
# Fails when a file under src/ includes a header of a folder its own folder does not declare as a dependency
# in CMakeLists.txt (chfleet_library), or when a folder of src/ is not declared at all.
# Usage: tests/check_layers.sh SOURCE_DIR LAYERS_FILE (LAYERS_FILE: "folder: dep dep ..." lines, from CMake).
set -euo pipefail
src="$1/src"
layers="$2"
status=0
declare -A allowed
while IFS=: read -r folder uses; do
  allowed[$folder]=" $folder $uses "
done <"$layers"
for dir in "$src"/*/; do
  folder=$(basename "$dir")
  if [ -z "${allowed[$folder]+x}" ]; then
    echo "src/$folder is not declared as a library in CMakeLists.txt (chfleet_library)"
    status=1
    continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    used=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$rest")
    if [[ "${allowed[$folder]}" != *" $used "* ]]; then
      echo "${file#$1/}:$line: src/$folder includes $used/, which it does not declare (uses:${allowed[$folder]})"
      status=1
    fi
  done < <(grep -rnE '#include "[a-z_]+/' "$dir" || true)
done
[ $status -eq 0 ] && echo "layers: every include of src/ stays inside its folder's declared dependencies"
exit $status

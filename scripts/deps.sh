#!/usr/bin/env bash
# scripts/deps.sh [GROUP...]: install the Debian/Ubuntu packages lowbit needs,
# and only those that are missing (so it is fast and silent on a ready machine).
#
#   scripts/deps.sh             # the groups every build needs (core)
#   scripts/deps.sh core gpu    # named groups
#   scripts/deps.sh all         # every group (what scripts/test.sh and CI use)
#   scripts/deps.sh --list all  # print the packages, install nothing
#
# Runs as root, or through sudo when it is available. apt waits up to 15 min
# for the dpkg lock because other jobs on the same machine may be installing too.
set -euo pipefail

# ---------------------------------------------------------------------------
# Package groups: the ONE place to add a dependency. A group may be empty; add
# packages to the group of the part of lowbit that needs them, then list the
# group in ALL_GROUPS if the test suite needs it.
# ---------------------------------------------------------------------------
declare -A GROUPS_PKGS
# Compiler, build tools and the libraries the headers, tests, bench and tools use.
GROUPS_PKGS[core]="g++ make cmake pkg-config libfmt-dev libxsimd-dev libhwy-dev doctest-dev nlohmann-json3-dev libbenchmark-dev"
# >>> vulkan: Vulkan tests on Mesa lavapipe: loader + headers, the lavapipe ICD, static shaderc
# wrapper (libshaderc_combined.a) + static glslang + SPIRV-Tools (and spirv-val), validation layers.
# (research/gpu.md 1.1; without them tests/vulkan skips its kernel tests.) glslang-tools: Debian's
# glslang-dev CMake config names /usr/bin/glslangValidator as an imported target and find_package
# fails hard without it (seen on a fresh machine), though lowbit never runs it.
GROUPS_PKGS[vulkan]="libvulkan-dev mesa-vulkan-drivers libshaderc-dev glslang-dev glslang-tools spirv-tools vulkan-validationlayers"
# >>> metal: the Metal emulation shim is compiled with clang-16. Owned by the Metal engineer, e.g.: clang-16
GROUPS_PKGS[metal]="clang-16"
# >>> extra: anything else the tests need. python3 (standard library only): tests/io/tools_test.sh
# checks the tools' JSON and safetensors outputs with it.
GROUPS_PKGS[extra]="python3"
# fuzz: libFuzzer targets of the I/O parsers (fuzz/run.sh, a short run in .ci/run).
GROUPS_PKGS[fuzz]="clang-16 libclang-rt-16-dev"

ALL_GROUPS="core vulkan metal extra fuzz"
DEFAULT_GROUPS="core"

# ---------------------------------------------------------------------------
list_only=0
if [[ "${1:-}" == "--list" ]]; then list_only=1; shift; fi
groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && read -r -a groups <<<"$DEFAULT_GROUPS"

wanted=()
for g in "${groups[@]}"; do
  if [[ "$g" == all ]]; then
    for a in $ALL_GROUPS; do read -r -a p <<<"${GROUPS_PKGS[$a]}"; wanted+=("${p[@]}"); done
  elif [[ -v "GROUPS_PKGS[$g]" ]]; then
    read -r -a p <<<"${GROUPS_PKGS[$g]}"; wanted+=("${p[@]}")
  else
    echo "deps.sh: unknown group '$g' (known: ${!GROUPS_PKGS[*]} all)" >&2
    exit 2
  fi
done

if [[ $list_only -eq 1 ]]; then
  printf '%s\n' "${wanted[@]}" | sort -u
  exit 0
fi

missing=()
for pkg in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all ${#wanted[@]} packages of [${groups[*]}] already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "deps.sh: missing packages (${missing[*]}) and no apt-get: install them by hand" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "deps.sh: installing ${missing[*]}"
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -qq)
"${apt[@]}" update
"${apt[@]}" install "${missing[@]}"

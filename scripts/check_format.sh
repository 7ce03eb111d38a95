#!/usr/bin/env bash
# Checks that the C++ lines a change adds or modifies follow .clang-format (Google style, 100
# columns). Only changed lines are checked, so untouched code never fails the check; reformat
# what you touch. Prints the diff clang-format wants and exits 1 when it wants one.
#
#   scripts/check_format.sh            changes since the base: $SPANSTORE_FORMAT_BASE, else the
#                                      merge base with origin/main, else the previous commit
#   scripts/check_format.sh --fix      reformats those lines in place instead
set -uo pipefail
cd "$(dirname "$0")/.."

diff_tool=$(command -v clang-format-diff-14 || command -v clang-format-diff || true)
if [ -z "$diff_tool" ]; then
  echo "check_format: clang-format-diff not found (package clang-format)" >&2
  exit 1
fi
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "check_format: not a git checkout; nothing to compare with, skipped"
  exit 0
fi
base=${SPANSTORE_FORMAT_BASE:-}
if [ -z "$base" ]; then
  base=$(git merge-base HEAD origin/main 2>/dev/null || true)
  # On main itself (or without a remote) compare with the previous commit.
  if [ -z "$base" ] || [ "$base" = "$(git rev-parse HEAD)" ]; then
    base=$(git rev-parse --verify -q HEAD~1 || true)
  fi
fi
if [ -z "$base" ]; then
  echo "check_format: no base commit to compare with, skipped"
  exit 0
fi

# Working-tree changes count too, so the check sees what is about to be committed.
changes=$(git diff -U0 --no-color -M "$base" -- '*.cc' '*.h' ':!fuzz/corpus' ':!fuzz/findings')
if [ "${1:-}" = "--fix" ]; then
  printf '%s\n' "$changes" | "$diff_tool" -p1 -i
  exit 0
fi
wanted=$(printf '%s\n' "$changes" | "$diff_tool" -p1)
if [ -n "$wanted" ]; then
  printf '%s\n' "$wanted"
  echo "check_format: the lines above (changed since $(git rev-parse --short "$base")) are not" \
       "formatted; run scripts/check_format.sh --fix" >&2
  exit 1
fi
echo "check_format: changed lines since $(git rev-parse --short "$base") are formatted"

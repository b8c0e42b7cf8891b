#!/usr/bin/env bash
# Build the statically linked release binary that is copied to the app VMs.
#
# usage: deploy/build-static.sh            build, then check
#        deploy/build-static.sh --small    build optimised for size, then check
#        deploy/build-static.sh --check    only check an existing build
#
# The default build (opt-level 3) was 22.8 MB (21.7 MiB) at session 15. --small (opt-level
# "s", the password hashing crates still at 3) was 16.0 MB on session 13's code, at 12-20 %
# more instructions in export, report and raking; the code has grown since and a build
# with only the hot crates kept at 3 was 17.9 MiB, so neither is under 16 MiB now
# (bench/findings.md, sessions 13 and 15). Choose --small only where the binary's size
# matters more than the analysts' waiting time.
# Target x86_64-unknown-linux-musl: the binary needs no libc on the VM, so one file runs
# on any x86-64 Linux. Needs rustup (adds the target) and x86_64-linux-musl-gcc for the C
# parts of dependencies (Debian: musl-tools, installed here when missing, as root).
# Output: target/x86_64-unknown-linux-musl/release/pesquisa ($CARGO_TARGET_DIR in place of
# target/ when it is set), with its size and SHA-256 printed (record the hash with the
# release; compare it on the VM with sha256sum).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
BIN="${CARGO_TARGET_DIR:-target}/$TARGET/release/pesquisa"

die() { echo "build-static: $*" >&2; exit 1; }

build() {
  command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
  if command -v rustup >/dev/null; then
    rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
  fi
  if ! command -v x86_64-linux-musl-gcc >/dev/null; then
    [ "$(id -u)" = 0 ] || die "x86_64-linux-musl-gcc missing: apt-get install musl-tools (as root)"
    echo "build-static: installing musl-tools" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  fi
  # The cc crate finds x86_64-linux-musl-gcc by itself for C code in dependencies; the
  # final link uses Rust's self-contained musl start files, so no linker is set here.
  if [ "${SMALL:-0}" = 1 ]; then
    # argon2 and blake2 stay at opt-level 3: the log-in's password check is their loop.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=s cargo build --locked --release --target "$TARGET" \
      --config 'profile.release.package.argon2.opt-level=3' \
      --config 'profile.release.package.blake2.opt-level=3'
  else
    cargo build --locked --release --target "$TARGET"
  fi
}

check() {
  [ -f "$BIN" ] || die "$BIN does not exist (build it first)"
  command -v file >/dev/null || die "file(1) not found (apt-get install file)"
  local desc
  desc=$(file -b "$BIN")
  # file says "statically linked" (or "static-pie linked" for a static PIE).
  grep -Eq 'statically linked|static-pie linked' <<<"$desc" \
    || die "$BIN is not statically linked: $desc"
  # ldd exits non-zero with "not a dynamic executable" for a static binary.
  local ldd_out
  ldd_out=$(ldd "$BIN" 2>&1 || true)
  grep -Eq 'not a dynamic executable|statically linked' <<<"$ldd_out" \
    || die "ldd lists shared libraries for $BIN: $ldd_out"
  "$BIN" --version >/dev/null || die "$BIN does not run"
  echo "binary:  $BIN"
  echo "file:    $desc"
  echo "version: $("$BIN" --version)"
  echo "size:    $(stat -c %s "$BIN") bytes ($(du -h "$BIN" | cut -f1))"
  echo "sha256:  $(sha256sum "$BIN" | cut -d' ' -f1)"
}

case "${1:-}" in
  --check) check ;;
  "") build; check ;;
  --small) SMALL=1 build; check ;;
  *) die "usage: $0 [--small | --check]" ;;
esac

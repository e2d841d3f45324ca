#!/bin/sh
# Install pds-wizard from its release archives: the one for this CPU, checked against
# SHA256SUMS before anything is installed.
#
#   sh install.sh --from DIR [--prefix DIR]     from a directory holding the archives and
#                                              SHA256SUMS (an air-gapped server: copy them)
#   sh install.sh --url URL [--prefix DIR]      from a release's download URL: SHA256SUMS and
#                                              this CPU's archive are the only downloads
#
# The prefix is /usr/local unless --prefix says otherwise: PREFIX/bin/pds-wizard, its man
# pages in PREFIX/share/man/man1, completions for bash, zsh and fish under PREFIX/share.
# An archive is pds-wizard-VERSION-TARGET.tar.gz (TARGET x86_64-unknown-linux-musl or
# aarch64-unknown-linux-musl) holding one directory of the same name: pds-wizard, man/,
# completions/ (pds-wizard.bash, _pds-wizard, pds-wizard.fish), README.md, LICENSE-*.
set -eu

from=""
url=""
prefix="/usr/local"
say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a directory"; from="$2"; shift 2 ;;
    --url) [ $# -ge 2 ] || die "--url needs a URL"; url="$2"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$from" ] || [ -n "$url" ] || die "say where the archives are: --from DIR or --url URL"
[ -z "$from" ] || [ -z "$url" ] || die "--from or --url, not both"

case "$(uname -m)" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) die "no build for this CPU ($(uname -m)): x86_64 and aarch64 only; build from source with cargo install" ;;
esac
target="$arch-unknown-linux-musl"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fetch() { # URL FILE: curl or wget, nothing else
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=https' --tlsv1.2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    die "neither curl nor wget is installed: download the files and use --from DIR"
  fi
}

if [ -n "$url" ]; then
  url=${url%/}
  fetch "$url/SHA256SUMS" "$work/SHA256SUMS" || die "cannot download $url/SHA256SUMS"
  sums="$work/SHA256SUMS"
else
  [ -f "$from/SHA256SUMS" ] || die "$from/SHA256SUMS is missing: it is what the archive is checked against"
  sums="$from/SHA256SUMS"
fi

# This CPU's archive, by the name SHA256SUMS gives it ("HASH  NAME" or "HASH *NAME").
line=$(grep -E "[ *]pds-wizard-[^ ]*-$target\.tar\.gz\$" "$sums" || true)
[ -n "$line" ] || die "SHA256SUMS lists no archive for $target"
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || die "SHA256SUMS lists more than one archive for $target"
expected=$(printf '%s\n' "$line" | awk '{print $1}')
name=$(printf '%s\n' "$line" | awk '{print $2}' | sed 's/^\*//')
case "$name" in
  */*|.*) die "SHA256SUMS names an archive outside its directory: $name" ;;
esac

if [ -n "$url" ]; then
  fetch "$url/$name" "$work/$name" || die "cannot download $url/$name"
else
  [ -f "$from/$name" ] || die "$from/$name is missing"
  cp "$from/$name" "$work/$name"
fi

if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$work/$name" | awk '{print $1}')
elif command -v shasum >/dev/null 2>&1; then
  actual=$(shasum -a 256 "$work/$name" | awk '{print $1}')
else
  die "neither sha256sum nor shasum is installed: cannot check the archive"
fi
[ "$actual" = "$expected" ] || die "refused: $name does not match SHA256SUMS (expected $expected, got $actual); nothing was installed"

mkdir "$work/x"
tar -xzf "$work/$name" -C "$work/x" || die "refused: $name is not a readable tar.gz; nothing was installed"
top="$work/x/${name%.tar.gz}"
[ -f "$top/pds-wizard" ] || die "refused: $name holds no ${name%.tar.gz}/pds-wizard; nothing was installed"

install -d "$prefix/bin"
install -m 0755 "$top/pds-wizard" "$prefix/bin/pds-wizard"
if [ -d "$top/man" ]; then
  install -d "$prefix/share/man/man1"
  for page in "$top"/man/*.1; do
    [ -f "$page" ] && install -m 0644 "$page" "$prefix/share/man/man1/"
  done
fi
c="$top/completions"
if [ -f "$c/pds-wizard.bash" ]; then
  install -d "$prefix/share/bash-completion/completions"
  install -m 0644 "$c/pds-wizard.bash" "$prefix/share/bash-completion/completions/pds-wizard"
fi
if [ -f "$c/_pds-wizard" ]; then
  install -d "$prefix/share/zsh/site-functions"
  install -m 0644 "$c/_pds-wizard" "$prefix/share/zsh/site-functions/_pds-wizard"
fi
if [ -f "$c/pds-wizard.fish" ]; then
  install -d "$prefix/share/fish/vendor_completions.d"
  install -m 0644 "$c/pds-wizard.fish" "$prefix/share/fish/vendor_completions.d/pds-wizard.fish"
fi

say "installed $prefix/bin/pds-wizard"
"$prefix/bin/pds-wizard" --version

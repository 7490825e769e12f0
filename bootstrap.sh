#!/usr/bin/env bash
# Set up Bongsu on a fresh Debian/Ubuntu machine and run the demo or the whole test suite.
#   ./bootstrap.sh demo   installs what is missing, then runs `bongsu demo`
#   ./bootstrap.sh test   installs what is missing, then runs the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  demo|test) ;;
  *) echo "usage: ./bootstrap.sh demo|test" >&2; exit 2 ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# 1. Prometheus (with promtool) and Alertmanager (with amtool): the real servers, from the distribution.
missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
{ command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null; } &&
  command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
# PostgreSQL: the notifier's replica store; the tests start a throwaway server from initdb/pg_ctl.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from the distribution"
  apt_install "${missing[@]}" >/dev/null ||
    die "could not install ${missing[*]} (this needs root or passwordless sudo, and apt-get).
       Install them yourself (sudo apt-get install -y ${missing[*]}) or run the stack with Docker: see compose/."
fi

# The test suite also renders the Kubernetes manifests offline with kubectl's built-in kustomize.
if [ "$mode" = test ] && ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
  say "installing kubectl (for the offline kustomize check)"
  apt_install kubectl >/dev/null ||
    echo "warning: kubectl could not be installed; the kustomize test will fail until kubectl or kustomize is on PATH" >&2
fi

# 2. Python >= 3.11 with venv.
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || die "Bongsu needs Python >= 3.11 (found: $(python3 --version 2>&1 || echo none))."
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$python" --version)"
  "$python" -m venv .venv 2>/dev/null || {
    apt_install python3-venv >/dev/null || die "python venv is missing: sudo apt-get install -y python3-venv"
    "$python" -m venv .venv
  }
fi

# 3. Bongsu and every extra, at the versions in constraints.txt.
say "installing Bongsu into .venv (pinned by constraints.txt)"
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[all]" 2>&1 |
  grep -v "^WARNING: Location" || true
# The tiny distribution through which `chaos discover` finds Bongsu's Chaos Toolkit extension.
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt ./chaos/extension 2>&1 |
  grep -v "^WARNING: Location" || true
.venv/bin/python -c "import bongsu, instrumentation, notifier, chaostoolkit_bongsu" ||
  die "the install did not complete; see the pip output above"

# 4. Run.
if [ "$mode" = demo ]; then
  exec .venv/bin/bongsu demo
else
  # The gates (pyproject.toml): lint, strict types, and the import contracts of docs/architecture.md.
  say "gates: ruff, mypy, import-linter"
  .venv/bin/ruff check . || die "ruff found the problems above"
  .venv/bin/mypy || die "mypy found the type errors above"
  .venv/bin/lint-imports --no-cache || die "an import breaks docs/architecture.md (the BROKEN contract above names it)"
  say "running the whole test suite"
  # Three workers: most real-time tests wait on servers, so they overlap well even on 2 cores. Tests
  # sharing a server stay together on one worker (tests/conftest.py, --dist loadgroup).
  exec .venv/bin/python -m pytest -p no:cacheprovider -n 3 --dist loadgroup
fi

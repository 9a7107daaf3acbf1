# Shared steps of quickstart.sh, test.sh and .ci/run. Source it; do not run it.
#
# Every step checks first and installs only what is missing, so running a script twice
# is fast and changes nothing the second time.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# WeasyPrint renders PDFs through Pango; DejaVu gives it a real font to embed.
PDF_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)

say() {
    if [ -t 1 ]; then printf '\033[1m==> %s\033[0m\n' "$*"; else printf '==> %s\n' "$*"; fi
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# settings.py reads .env too; a deployment's .env (HTTPS, Postgres host) breaks local runs.
warn_about_dotenv() {
    if [ -f "$ROOT/.env" ]; then
        printf 'note: %s/.env is read too; its values override the defaults\n' "$ROOT" >&2
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install sudo or run as root)"
    fi
}

# apt_ensure PACKAGE... installs the Debian packages that are not installed yet.
apt_ensure() {
    local missing=() package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing system packages: ${missing[*]} (no apt-get here)"
    say "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

system_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "$candidate"
            return 0
        fi
    done
    die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
}

ensure_system_packages() {
    local packages=("${PDF_PACKAGES[@]}" "$@")
    command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
    apt_ensure "${packages[@]}"
}

ensure_venv() {
    if [ ! -x "$PY" ]; then
        local python
        python="$(system_python)"
        say "Creating the virtual environment in .venv"
        if ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
            # Debian splits venv support out of the interpreter package.
            apt_ensure "python3-venv"
        fi
        "$python" -m venv "$VENV"
    fi
    if [ ! -x "$VENV/bin/uv" ]; then
        say "Installing uv into .venv"
        "$PY" -m pip --version >/dev/null 2>&1 || "$PY" -m ensurepip --upgrade >/dev/null
        "$PY" -m pip install --quiet --disable-pip-version-check uv
    fi
}

# install_project [EXTRAS]: the project in editable mode, e.g. install_project "[dev]".
install_project() {
    say "Installing the BSS and its Python dependencies"
    (cd "$ROOT" && "$VENV/bin/uv" pip install --quiet --python "$PY" -e ".${1:-}")
}

install_frontend() {
    say "Installing the front-end libraries (npm)"
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
}

# The Greek (and any other) gettext catalogs are compiled at set-up, with Babel: no
# GNU gettext needed, and no compiled binaries in the repository.
compile_translations() {
    say "Compiling the translation catalogs"
    (cd "$ROOT" && "$PY" -m bss.setup.languages.compile)
}

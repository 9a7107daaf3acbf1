#!/usr/bin/env bash
# Install the BSS with demo data and serve it at http://127.0.0.1:8000.
#
# Zero configuration: SQLite in var/db.sqlite3 and background jobs run inline (no
# Redis). Safe to run again: it only installs what is missing and the demo data is
# idempotent.
#
#   bash scripts/quickstart.sh             set up and serve (Ctrl-C stops the server)
#   bash scripts/quickstart.sh --no-serve  set up only
#   PORT=8080 bash scripts/quickstart.sh   serve on another port
set -euo pipefail

serve=true
for argument in "$@"; do
    case "$argument" in
        --no-serve) serve=false ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $argument (try --help)" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

HOST=127.0.0.1
PORT="${PORT:-8000}"

warn_about_dotenv
ensure_system_packages
ensure_venv
install_project
install_frontend
compile_translations

say "Preparing the database and static files"
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py seed_demo
"$PY" manage.py collectstatic --no-input -v 0

cat <<EOF

  The BSS portal:  http://$HOST:$PORT

  Demo logins (password for all: demo-pass-2026)
    admin@example.com     administrator, sees and sets up everything
    sales@example.com     sales: accounts, offers, orders
    finance@example.com   finance: invoices and payments
    support@example.com   support: cases, read-only customers

EOF

[ "$serve" = true ] || exit 0

if "$PY" -c "import socket, sys; sys.exit(socket.socket().connect_ex(('$HOST', $PORT)) != 0)"; then
    die "port $PORT on $HOST is already in use: stop the other server first"
fi
say "Serving on http://$HOST:$PORT (Ctrl-C to stop)"
exec "$VENV/bin/gunicorn" bss.wsgi --bind "$HOST:$PORT" --workers 2 --access-logfile - --no-control-socket

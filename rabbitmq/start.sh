#!/bin/sh
# The broker container's entry point: start RabbitMQ, then make its users match the environment.
#
# Runs at every start, so a password changed in .env takes effect with the next `docker compose up -d`
# (compose recreates the container when its environment changes). Passwords go to rabbitmqctl on stdin,
# never on a command line. Users:
#   $RABBITMQ_APP_USER    the API and the workers: read/write/configure on the vhost "facetasks", no tags
#                         (it cannot log in to the management console or see other vhosts)
#   $RABBITMQ_ADMIN_USER  the management console: administrator
# "guest" is removed if it exists. The healthcheck waits for the marker written at the end.
set -eu
: "${RABBITMQ_APP_USER:?}" "${RABBITMQ_PASSWORD:?}" "${RABBITMQ_ADMIN_USER:?}" "${RABBITMQ_ADMIN_PASSWORD:?}"
# The application's password is part of RABBITMQ_URL: refuse, by name, one that would need percent-encoding.
case "$RABBITMQ_PASSWORD" in
    *[!A-Za-z0-9._~-]*)
        echo "start.sh: RABBITMQ_PASSWORD may hold only letters, digits and - _ . ~ (it is part of RABBITMQ_URL)" >&2
        exit 1 ;;
esac
VHOST=facetasks
# The healthcheck in docker-compose.yml tests this path; tests/test_compose.py points it elsewhere.
READY=${FACETASKS_USERS_READY:-/tmp/facetasks-users-ready}
rm -f "$READY"

docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"; exit $?' TERM INT

# The node answers rabbitmqctl only once its distribution port is up: try again until then. No CLI runs before
# the node has written its Erlang cookie ($HOME/.erlang.cookie): a CLI started first, as root, would create the
# file itself, the node (user rabbitmq) could not read it, and the first boot of a new volume would fail.
tries=0
until [ -s "$HOME/.erlang.cookie" ] && rabbitmqctl --quiet await_startup --timeout 120 >/dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { echo "start.sh: RabbitMQ did not start" >&2; exit 1; }
    sleep 1
done

user() {  # name password: create the user, or set its password if it exists
    if rabbitmqctl --quiet list_users --no-table-headers | cut -f1 | grep -qx "$1"; then
        printf '%s' "$2" | rabbitmqctl --quiet change_password "$1"
    else
        printf '%s' "$2" | rabbitmqctl --quiet add_user "$1"
    fi
}
user "$RABBITMQ_APP_USER" "$RABBITMQ_PASSWORD"
rabbitmqctl --quiet set_user_tags "$RABBITMQ_APP_USER"
rabbitmqctl --quiet set_permissions -p "$VHOST" "$RABBITMQ_APP_USER" ".*" ".*" ".*"
user "$RABBITMQ_ADMIN_USER" "$RABBITMQ_ADMIN_PASSWORD"
rabbitmqctl --quiet set_user_tags "$RABBITMQ_ADMIN_USER" administrator
rabbitmqctl --quiet set_permissions -p "$VHOST" "$RABBITMQ_ADMIN_USER" ".*" ".*" ".*"
rabbitmqctl --quiet delete_user guest 2>/dev/null || true
touch "$READY"

wait "$server"

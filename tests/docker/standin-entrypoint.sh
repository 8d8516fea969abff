#!/bin/sh
# Entrypoint of dbstack's offline stand-in for the official postgres image.
# Honours what the official entrypoint reads for a first start: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS; runs `postgres -c …`
# commands as the postgres account; anything else is exec'd as given.
set -eu

PGBIN=/usr/lib/postgresql/15/bin

if [ "$#" -gt 0 ] && [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi
if [ "$#" -eq 0 ] || [ "$1" != postgres ]; then
	exec "$@"
fi
shift

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 2775 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
		exit 1
	fi
	# The password reaches initdb through a pipe: never a file, never argv.
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as in the official image
	printf '%s\n' "$POSTGRES_PASSWORD" | "$PGBIN/initdb" -D "$PGDATA" --username="$POSTGRES_USER" \
		--pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
	printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
	printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != postgres ]; then
		# Socket-only server, like the official image: nobody can connect over
		# TCP before the database exists.
		"$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
		quoted=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
		"$PGBIN/psql" -v ON_ERROR_STOP=1 -X -q --username="$POSTGRES_USER" --dbname=postgres \
			-c "CREATE DATABASE \"$quoted\""
		"$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop
	fi
	echo "PostgreSQL init process complete; ready for start up."
fi

exec "$PGBIN/postgres" "$@"

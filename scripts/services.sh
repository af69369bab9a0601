# Sourced by scripts/test.sh: installs the services the tests need from
# Debian packages when missing, starts throwaway instances on loopback and
# exports where they are. Everything started here is stopped on exit.

# need_packages installs the Debian packages whose command is missing.
# Arguments are command=package pairs.
need_packages() {
	local missing=() pair
	for pair in "$@"; do
		command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
	done
	((${#missing[@]} == 0)) || install_packages "${missing[@]}"
}

install_packages() {
	echo "== installing $*"
	local sudo=
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# pg_bin finds the server binaries, which Debian keeps off the PATH.
pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/pg_ctl ]] && { echo "$d"; return; }
	done
	return 1
}

# start_postgres starts a throwaway cluster on a free loopback port and
# exports WAARBORG_TEST_POSTGRES, the URL of a database tests may use.
# Arguments are more server options ("-c name=value"), as scripts/bench.sh
# gives.
start_postgres() {
	pg_bin >/dev/null || install_packages postgresql
	local bin dir port run=()
	bin=$(pg_bin)
	dir=$(mktemp -d /tmp/waarborg-pg.XXXXXX)
	port=$(go run scripts/freeport.go)
	# PostgreSQL refuses to run as root.
	if [[ $(id -u) == 0 ]]; then
		chown postgres "$dir"
		run=(runuser -u postgres --)
	fi
	"${run[@]}" "$bin/initdb" -D "$dir/data" -U waarborg -A trust -E UTF8 --no-locale >/dev/null
	"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 $*" start >/dev/null
	PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop)
	PG_DIR=$dir
	export WAARBORG_TEST_POSTGRES="postgres://waarborg@127.0.0.1:$port/postgres?sslmode=disable"
	echo "== postgres on 127.0.0.1:$port"
}

stop_services() {
	if [[ -n ${PG_DIR:-} ]]; then
		"${PG_STOP[@]}" >/dev/null 2>&1 || true
		rm -rf "$PG_DIR"
	fi
}

# install_npm_tools installs, from each package-lock.json under
# connector/*/testdata, the independent npm implementations that connector
# tests run against (Tahu's Sparkplug client, Modbus and OPC UA servers)
# into their gitignored node_modules.
install_npm_tools() {
	local lock dir
	for lock in connector/*/testdata/*/package-lock.json; do
		dir=$(dirname "$lock")
		# The copy of the lock file marks an install that finished.
		if ! cmp -s "$lock" "$dir/node_modules/.installed-lock.json"; then
			echo "== npm ci in $dir"
			npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
			cp "$lock" "$dir/node_modules/.installed-lock.json"
		fi
	done
}

start_services() {
	need_packages mosquitto=mosquitto mosquitto_pub=mosquitto-clients chromium=chromium pdfinfo=poppler-utils node=nodejs npm=npm
	install_npm_tools
	trap stop_services EXIT
	start_postgres
	# Tests that need a service fail instead of skipping when this is set.
	export WAARBORG_TEST_SERVICES=1
}

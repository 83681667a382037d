# shellcheck shell=bash
# Helpers shared by hack/local-up.sh and hack/local-down.sh: background processes tracked by PID
# files in .local/. Sourced, not run.

# pid_matches PID NAME: true if PID is a running process whose command line contains NAME
# (guards against a PID file that outlived its process and a reused PID).
pid_matches() {
	local pid="$1" name="$2" cmdline
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	# The process may exit between the test above and this read.
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmdline == *"$name"* ]]
}

# pidfile_alive FILE NAME: true if FILE names a running process matching NAME.
pidfile_alive() {
	local file="$1" name="$2"
	[[ -f $file ]] && pid_matches "$(<"$file")" "$name"
}

# pidfile_running FILE: true if the process in FILE exists. Used while waiting for a process just
# started: until it has exec'd its program its command line is still the shell's, so matching by
# name (pidfile_alive) would take a starting process for a dead one.
pidfile_running() {
	local file="$1" pid
	[[ -f $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# start_bg PIDFILE LOGFILE CMD...: runs CMD detached (own session and process group, immune to
# hangups and to Ctrl-C in this terminal), output to LOGFILE, and records its PID in PIDFILE.
start_bg() {
	local pidfile="$1" logfile="$2"
	shift 2
	nohup setsid "$@" >"$logfile" 2>&1 </dev/null &
	echo "$!" >"$pidfile"
}

# stop_pidfile FILE NAME [SECONDS]: stops the process recorded in FILE (SIGTERM to its process
# group, SIGKILL after SECONDS, default 60), waits until it is gone, and removes FILE.
stop_pidfile() {
	local file="$1" name="$2" grace="${3:-60}" pid i
	[[ -f $file ]] || return 0
	pid=$(<"$file")
	if pid_matches "$pid" "$name"; then
		echo "stopping $name (pid $pid)"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			pid_matches "$pid" "$name" || break
			sleep 0.1
		done
		if pid_matches "$pid" "$name"; then
			echo "$name (pid $pid) still running after ${grace}s, sending SIGKILL" >&2
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				pid_matches "$pid" "$name" || break
				sleep 0.1
			done
		fi
		if pid_matches "$pid" "$name"; then
			echo "cannot stop $name (pid $pid)" >&2
			return 1
		fi
	fi
	rm -f "$file"
}

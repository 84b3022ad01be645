#!/bin/sh
# stage.sh SECONDS COMMAND...: run COMMAND, then wait out the rest of
# SECONDS × EXAMPLE_TIME_SCALE (default 1), so a stage of the benchmark
# pipeline takes the design note's stage time scaled to 1/10 (3 s for 30 s)
# whatever the machine. EXAMPLE_TIME_SCALE=0 runs the command only.
set -eu
seconds=$1
shift
start=$(date +%s.%N)
"$@"
now=$(date +%s.%N)
rest=$(awk -v s="$seconds" -v k="${EXAMPLE_TIME_SCALE:-1}" -v a="$start" -v b="$now" \
	'BEGIN { r = s * k - (b - a); if (r > 0) printf "%.3f", r; else print 0 }')
sleep "$rest"

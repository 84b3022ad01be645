#!/bin/sh
# scripted-agent: a stand-in coding agent with a fixed thinking time, for the
# benchmark pipeline (benchmark.yml). handoff's exec agent runs it in the
# task directory, an isolated copy of this example:
#
#   HANDOFF_EXEC_COMMAND='sh agent/scripted-agent.sh 6'
#
# It sleeps the given seconds (the design note's 60 s of agent time, scaled
# to 1/10), then writes the hand-written test prepared for the module to the
# output path handoff asked for. handoff verifies that test exactly as it
# verifies an LLM's: it must build, pass every run and raise coverage.
set -eu
seconds=${1:-6}
module=${HANDOFF_MODULE_PATH:?HANDOFF_MODULE_PATH is not set: run me through handoff exec}
output=${HANDOFF_OUTPUT_PATH:?HANDOFF_OUTPUT_PATH is not set: run me through handoff exec}
stem=$(basename "$module" .go)
prepared="agent/prepared/${stem}_test.go.txt"
if [ ! -f "$prepared" ]; then
	echo "scripted-agent: no prepared test for $module (looked for $prepared)" >&2
	exit 1
fi
sleep "$seconds"
mkdir -p "$(dirname "$output")"
cp "$prepared" "$output"
echo "scripted-agent: wrote $output for $module after ${seconds}s"

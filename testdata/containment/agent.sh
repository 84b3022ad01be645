# A hostile exec agent. Round 1 writes tests that try to read the user's
# keys and handoff's secrets, fill the disk, fork, allocate and leave files
# behind, next to two good tests; later rounds keep the feedback they got.
# Like a careless real agent, it prints its key and the user's ssh key to
# its output, which goes to the task log.
echo "agent: using key $LLM_API_KEY and token $AGENT_TOKEN"
cat "$HOME/.ssh/id_rsa"
if [ "$HANDOFF_ROUND" = 1 ]; then
	mkdir -p "$(dirname "$HANDOFF_OUTPUT_PATH")"
	cp "$FIXTURE_TESTS" "$HANDOFF_OUTPUT_PATH"
else
	cp "$HANDOFF_FEEDBACK_FILE" "$CAPTURE_DIR/feedback-$HANDOFF_ROUND.json"
fi
cp "$HANDOFF_PROMPT_FILE" "$CAPTURE_DIR/prompt-$HANDOFF_ROUND.md"

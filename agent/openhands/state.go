package openhands

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/agent"
)

// stateKey is the task-state key under which the agent keeps runState.
const stateKey = "openhands"

// idNamespace is the UUIDv5 namespace of handoff's conversation IDs.
var idNamespace = uuid.MustParse("c0afc290-55c2-460a-b0a9-900356938d61")

// conversationID derives a conversation's ID from the task, the repair
// round and the number of fresh conversations started before it in that
// round. It does not depend on the attempt, so a worker that restarts
// mid-task derives (and finds recorded) the same ID and re-attaches.
func conversationID(taskID string, round, gen int) string {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "handoff/%s/round/%d/conversation/%d", taskID, round, gen)).String()
}

// runState is what the agent records with the task so that any worker can
// pick the task up where another left it.
type runState struct {
	Round          int    `json:"round"`
	Gen            int    `json:"gen"` // fresh conversations started in this round before the current one
	ConversationID string `json:"conversation_id,omitempty"`
	StartTask      string `json:"start_task,omitempty"` // Cloud start task of the current conversation
	Dir            string `json:"dir,omitempty"`        // the task directory the current conversation was created for
	ModelIndex     int    `json:"model_index"`          // index into the model list; advanced on LLM errors
	Retried        int    `json:"retried"`              // fresh conversations after a server restart, this round
	// Costs is the last known accumulated cost of every conversation of
	// the task, all rounds, so the budget spans rounds and attempts.
	Costs map[string]float64 `json:"costs,omitempty"`
}

// spent is the recorded cost of every conversation but skip.
func (s *runState) spent(skip string) float64 {
	var sum float64
	for id, c := range s.Costs {
		if id != skip {
			sum += c
		}
	}
	return sum
}

// loadState reads the task's runState and moves it to round.
func loadState(ctx context.Context, store agent.StateStore, round int) (*runState, error) {
	st := &runState{}
	if store != nil {
		v, ok, err := store.Get(ctx, stateKey)
		if err != nil {
			return nil, fmt.Errorf("openhands: reading the task state: %w", err)
		}
		if ok {
			if err := json.Unmarshal([]byte(v), st); err != nil {
				return nil, fmt.Errorf("openhands: the recorded task state is damaged (%w); cancel and resubmit the task", err)
			}
		}
	}
	if st.Costs == nil {
		st.Costs = map[string]float64{}
	}
	if st.Round != round {
		st.Round, st.Gen, st.ConversationID, st.StartTask, st.Dir, st.Retried = round, 0, "", "", "", 0
	}
	return st, nil
}

// save records st with the task.
func (s *runState) save(ctx context.Context, store agent.StateStore) error {
	if store == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := store.Put(ctx, stateKey, string(b)); err != nil {
		return fmt.Errorf("openhands: recording the task state: %w", err)
	}
	return nil
}

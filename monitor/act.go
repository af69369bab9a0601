package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// An Action is a person's action on an exception, as a client asks for it.
type Action struct {
	Action string `json:"action"` // explain, remediate or accept
	Text   string `json:"text"`   // the explanation, remediation or management response
	Actor  string `json:"actor"`
}

// textOf names each action's record type and the data member its text goes in.
var textOf = map[string][2]string{
	"explain":   {"exception.explain", "explanation"},
	"remediate": {"exception.remediate", "remediation"},
	"accept":    {"exception.accept", "response"},
}

// Act appends the workflow record of a on control's exception about subject
// to tenant's log through l and returns it once it is durable. Its id is
// wf.<control>.<subject>.<n> with the first n no record holds; a subject's
// characters that no id may hold become "_". It returns EINVALID for an
// unknown action or control and for an empty subject, text or actor. The
// exception need not be current: an action may come before the evidence.
func (s *Service) Act(ctx context.Context, l *ledger.Ledger, tenant, control, subject string, a Action) (*waarborg.Record, error) {
	kind, ok := textOf[a.Action]
	switch {
	case !ok:
		return nil, waarborg.Errorf(waarborg.EINVALID, "action must be explain, remediate or accept, not %q", a.Action)
	case !slices.Contains(s.Controls(), control):
		return nil, waarborg.Errorf(waarborg.EINVALID, "no control %q in the catalog", control)
	case subject == "":
		return nil, waarborg.Errorf(waarborg.EINVALID, "an exception's subject is required")
	case strings.TrimSpace(a.Text) == "":
		return nil, waarborg.Errorf(waarborg.EINVALID, "text is required: the %s", kind[1])
	case strings.TrimSpace(a.Actor) == "":
		return nil, waarborg.Errorf(waarborg.EINVALID, "actor is required: who takes the action")
	}
	if !waarborg.ValidTenant(tenant) {
		return nil, waarborg.Errorf(waarborg.EINVALID, "invalid tenant %q", tenant)
	}
	at := s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	prefix := "wf." + control + "." + idSafe(subject)
	if len(prefix) > 110 {
		prefix = prefix[:110] // an id holds 128 characters; n needs a few
	}
	prefix += "."
	// Two clients acting on one exception at once may pick the same n: the
	// ledger refuses the second as a conflict, which then takes the next.
	for n, tries := 1, 0; tries < 100; n++ {
		id := prefix + strconv.Itoa(n)
		if _, err := s.cfg.Store.Record(ctx, tenant, id); err == nil {
			continue
		} else if waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
			return nil, fmt.Errorf("look up %s: %w", id, err)
		}
		tries++
		line, err := json.Marshal(map[string]any{
			"id": id, "tenant": tenant, "source": "waarborg/workflow", "type": kind[0], "time": at, "actor": a.Actor,
			"data": map[string]string{"control": control, "subject": subject, kind[1]: a.Text},
		})
		if err != nil {
			return nil, fmt.Errorf("encode workflow record: %w", err)
		}
		r, err := waarborg.ParseRecord(line)
		if err != nil {
			return nil, err
		}
		res, err := l.Append(ctx, []*waarborg.Record{r})
		if err != nil {
			return nil, fmt.Errorf("append workflow record: %w", err)
		}
		if res[0].Outcome != ledger.Conflict {
			return r, nil
		}
	}
	return nil, waarborg.Errorf(waarborg.ECONFLICT, "could not find a free id for the action; retry")
}

// idSafe replaces what an id cannot hold ("checkpoint/7") with "_".
func idSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x80 && waarborg.ValidID(string(c)) {
			return c
		}
		return '_'
	}, s)
}

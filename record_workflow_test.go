package waarborg

import (
	"errors"
	"testing"
)

func TestParseWorkflowRecords(t *testing.T) {
	rec := func(typ, actor, data string) string {
		a := ""
		if actor != "" {
			a = `"actor":"` + actor + `",`
		}
		return `{"id":"wf.PC-02.b1.1","tenant":"t","source":"waarborg/workflow","type":"` + typ + `","time":"2026-03-01T06:00:00Z",` + a + `"data":` + data + `}`
	}
	tests := []struct {
		name, in    string
		field, rule string // "" when valid
	}{
		{"explain", rec("exception.explain", "ann", `{"control":"PC-02","subject":"b1","explanation":"signer on leave"}`), "", ""},
		{"remediate", rec("exception.remediate", "ann", `{"control":"PC-02","subject":"b1","remediation":"signed after the fact"}`), "", ""},
		{"accept", rec("exception.accept", "cfo", `{"control":"PC-02","subject":"b1","response":"accepted: one-off"}`), "", ""},
		{"explain without explanation", rec("exception.explain", "ann", `{"control":"PC-02","subject":"b1"}`), "data.explanation", RuleRequired},
		{"remediate without subject", rec("exception.remediate", "ann", `{"control":"PC-02","remediation":"r"}`), "data.subject", RuleRequired},
		{"accept without control", rec("exception.accept", "cfo", `{"subject":"b1","response":"r"}`), "data.control", RuleRequired},
		{"accept without response", rec("exception.accept", "cfo", `{"control":"PC-02","subject":"b1"}`), "data.response", RuleRequired},
		{"response not a string", rec("exception.accept", "cfo", `{"control":"PC-02","subject":"b1","response":1}`), "data.response", RuleType},
		{"explain without actor", rec("exception.explain", "", `{"control":"PC-02","subject":"b1","explanation":"e"}`), "actor", RuleRequired},
		{"remediate without actor", rec("exception.remediate", "", `{"control":"PC-02","subject":"b1","remediation":"r"}`), "actor", RuleRequired},
		{"accept without actor", rec("exception.accept", "", `{"control":"PC-02","subject":"b1","response":"r"}`), "actor", RuleRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord([]byte(tt.in))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if r.Str("control") != "PC-02" || r.Str("subject") != "b1" {
					t.Errorf("control, subject = %q, %q", r.Str("control"), r.Str("subject"))
				}
				return
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RecordError", err)
			}
			if re.Field != tt.field || re.Rule != tt.rule {
				t.Errorf("field, rule = %s, %s, want %s, %s", re.Field, re.Rule, tt.field, tt.rule)
			}
		})
	}
}

package record

import (
	"strings"
	"testing"
)

func TestJSONKeepsNumberText(t *testing.T) {
	env := Envelope{ID: "a", Tenant: "t", Source: "s/x", Type: "erp.posting", Time: "2026-03-01T06:00:00Z"}
	line := string(JSON(env, String("document", `4900"1`), String("movement", "goods_receipt"), String("", "left out"),
		String("material", "m"), Number("quantity", "12345678901234567890.10"), String("unit", "kg")))
	want := `{"id":"a","tenant":"t","source":"s/x","type":"erp.posting","time":"2026-03-01T06:00:00Z","data":{"document":"4900\"1","movement":"goods_receipt","material":"m","quantity":12345678901234567890.10,"unit":"kg"}}`
	if line != want {
		t.Errorf("JSON:\n%s\nwant\n%s", line, want)
	}
	if _, err := New(env, String("document", "d"), Number("quantity", "1,5")); err == nil {
		t.Error("New accepted a number that is no JSON number")
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"readable", []string{"4900001234", "0001"}, "erp:4900001234:0001"},
		{"hashed when not an id", []string{"doc with spaces"}, "erp:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ID("erp", tt.parts...)
			if !strings.HasPrefix(got, tt.want) || (tt.want == "erp:" && len(got) != len("erp:")+32) {
				t.Errorf("ID = %q", got)
			}
			if ID("erp", tt.parts...) != got {
				t.Error("not deterministic")
			}
		})
	}
	if HashID("h", "a", "bc") == HashID("h", "ab", "c") {
		t.Error("parts are not separated in the hash")
	}
}

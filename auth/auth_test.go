package auth

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", Cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "horse") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery", Cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name, encoded, password string
		want                    bool
	}{
		{"right", h, "correct horse battery", true},
		{"wrong", h, "correct horse batterz", false},
		{"empty", h, "", false},
		{"truncated hash", h[:len(h)-4], "correct horse battery", false},
		{"other algorithm", strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{"zero cost", strings.Replace(h, "t=1", "t=0", 1), "correct horse battery", false},
		{"huge memory", strings.Replace(h, "m=64", "m=99999999", 1), "correct horse battery", false},
		{"not a hash", "plaintext", "plaintext", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPassword(tt.encoded, tt.password); got != tt.want {
				t.Errorf("CheckPassword = %v, want %v", got, tt.want)
			}
		})
	}
	if !NeedsRehash(h, Default) || NeedsRehash(h, Cheap) {
		t.Error("NeedsRehash")
	}
	if CheckNobody("x") {
		t.Error("CheckNobody = true")
	}
}

// The default parameters hash with the reference implementation's format.
func TestDefaultHash(t *testing.T) {
	if testing.Short() {
		t.Skip("46 MiB hash")
	}
	h, err := HashPassword("pw-123456789012", Default)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=47104,t=1,p=1$") || !CheckPassword(h, "pw-123456789012") {
		t.Errorf("hash %q", h)
	}
}

func TestCheckStrength(t *testing.T) {
	if err := CheckStrength("short"); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("short password: %v", err)
	}
	if err := CheckStrength("long enough pw"); err != nil {
		t.Error(err)
	}
	if err := CheckStrength(strings.Repeat("x", MaxPassword+1)); err == nil {
		t.Error("overlong password accepted")
	}
}

func TestSecrets(t *testing.T) {
	text, id, digest, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, TokenPrefix+id+"_") || len(id) != 8 || Digest(text) != digest {
		t.Errorf("token %q id %q", text, id)
	}
	s1, d1, _ := NewSecret()
	s2, _, _ := NewSecret()
	if s1 == s2 || Digest(s1) != d1 || len(s1) < 43 {
		t.Errorf("secrets %q %q", s1, s2)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		HashPassword("pw-123456789012", Default)
	}
}

package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// RunUsers runs the suite of waarborg.Users; open returns a new, empty
// one for each subtest.
func RunUsers(t *testing.T, open func(t *testing.T) waarborg.Users) {
	tests := []struct {
		name string
		fn   func(t *testing.T, u waarborg.Users)
	}{
		{"AddAndReadUsers", testUsers},
		{"PutUser", testPutUser},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var created = time.Date(2026, 3, 1, 6, 0, 0, 123e6, time.UTC)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := waarborg.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testUsers(t *testing.T, s waarborg.Users) {
	ctx := context.Background()
	if us, err := s.ListUsers(ctx); err != nil || len(us) != 0 {
		t.Fatalf("empty store lists %v, %v", us, err)
	}
	users := []waarborg.User{
		{Name: "zoe", Role: waarborg.RoleAuditor, Tenants: []string{"acme"}, Password: "$argon2id$z", Created: created},
		{Name: "adm", Role: waarborg.RoleAdmin, Tenants: []string{waarborg.AllTenants}, Password: "$argon2id$a", Created: created},
		{Name: "eng", Role: waarborg.RoleEngineer, Tenants: []string{"acme", "beta"}, Password: "$argon2id$e", Created: created, Disabled: true},
	}
	for i := range users {
		if err := s.AddUser(ctx, &users[i]); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, "add a taken name", s.AddUser(ctx, &waarborg.User{Name: "zoe", Role: waarborg.RoleAdmin, Tenants: []string{"x"}, Password: "p", Created: created}), waarborg.ECONFLICT)
	for _, want := range users {
		got, err := s.User(ctx, want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !sameUser(*got, want) {
			t.Errorf("User(%s) = %+v, want %+v", want.Name, *got, want)
		}
	}
	_, err := s.User(ctx, "nobody")
	wantCode(t, "unknown user", err, waarborg.ENOTFOUND)
	list, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
		for _, want := range users {
			if want.Name == u.Name && !sameUser(u, want) {
				t.Errorf("listed %+v, want %+v", u, want)
			}
		}
	}
	if !slices.Equal(names, []string{"adm", "eng", "zoe"}) {
		t.Errorf("ListUsers names %v, want by name", names)
	}
}

func sameUser(a, b waarborg.User) bool {
	return a.Name == b.Name && a.Role == b.Role && slices.Equal(a.Tenants, b.Tenants) && a.Password == b.Password &&
		a.Disabled == b.Disabled && a.Created.Equal(b.Created)
}

func testPutUser(t *testing.T, s waarborg.Users) {
	ctx := context.Background()
	u := waarborg.User{Name: "eng", Role: waarborg.RoleEngineer, Tenants: []string{"acme", "beta"}, Password: "$argon2id$1", Created: created}
	if err := s.AddUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	u.Role, u.Tenants, u.Password, u.Disabled = waarborg.RoleCompliance, []string{"gamma"}, "$argon2id$2", true
	if err := s.PutUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, "eng")
	if err != nil || !sameUser(*got, u) {
		t.Errorf("after PutUser: %+v, %v; want %+v", got, err, u)
	}
	wantCode(t, "put an unknown user", s.PutUser(ctx, &waarborg.User{Name: "nobody", Role: waarborg.RoleAdmin, Tenants: []string{"x"}, Password: "p"}), waarborg.ENOTFOUND)
}

func testTokens(t *testing.T, s waarborg.Users) {
	ctx := context.Background()
	tokens := []waarborg.Token{
		{ID: "b0000002", Name: "historian feed", Tenant: "acme", Scope: waarborg.ScopeIngest, Digest: sha256.Sum256([]byte("secret 2")), Created: created, CreatedBy: "adm"},
		{ID: "a0000001", Name: "prometheus", Tenant: "", Scope: waarborg.ScopeMetrics, Digest: sha256.Sum256([]byte("secret 1")), Created: created, CreatedBy: "adm"},
	}
	for i := range tokens {
		if err := s.AddToken(ctx, &tokens[i]); err != nil {
			t.Fatal(err)
		}
	}
	dupID := tokens[0]
	dupID.Digest = sha256.Sum256([]byte("other"))
	wantCode(t, "add a taken id", s.AddToken(ctx, &dupID), waarborg.ECONFLICT)
	dupDigest := tokens[0]
	dupDigest.ID = "c0000003"
	wantCode(t, "add a taken digest", s.AddToken(ctx, &dupDigest), waarborg.ECONFLICT)

	got, err := s.TokenByDigest(ctx, sha256.Sum256([]byte("secret 2")))
	if err != nil || *got != tokens[0] {
		t.Errorf("TokenByDigest = %+v, %v; want %+v", got, err, tokens[0])
	}
	_, err = s.TokenByDigest(ctx, sha256.Sum256([]byte("guess")))
	wantCode(t, "unknown digest", err, waarborg.ENOTFOUND)
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 2 || list[0] != tokens[1] || list[1] != tokens[0] {
		t.Errorf("ListTokens = %+v, %v", list, err)
	}
	if err := s.DeleteToken(ctx, "b0000002"); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenByDigest(ctx, sha256.Sum256([]byte("secret 2")))
	wantCode(t, "revoked token", err, waarborg.ENOTFOUND)
	wantCode(t, "revoke twice", s.DeleteToken(ctx, "b0000002"), waarborg.ENOTFOUND)
}

func testSessions(t *testing.T, s waarborg.Users) {
	ctx := context.Background()
	now := created
	mk := func(secret, user string, ttl time.Duration) waarborg.Session {
		return waarborg.Session{Digest: sha256.Sum256([]byte(secret)), User: user, Created: now.Add(-time.Hour), Expires: now.Add(ttl)}
	}
	sessions := []waarborg.Session{mk("s1", "ann", time.Hour), mk("s2", "ann", time.Hour), mk("s3", "bob", time.Hour), mk("s4", "cy", -time.Minute)}
	for i := range sessions {
		if err := s.AddSession(ctx, &sessions[i]); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, "add a taken digest", s.AddSession(ctx, &sessions[0]), waarborg.ECONFLICT)
	got, err := s.Session(ctx, sessions[0].Digest)
	if err != nil || got.Digest != sessions[0].Digest || got.User != "ann" || !got.Expires.Equal(sessions[0].Expires) || !got.Created.Equal(sessions[0].Created) {
		t.Errorf("Session = %+v, %v", got, err)
	}
	if err := s.DeleteSession(ctx, sessions[0].Digest); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, sessions[0].Digest)
	wantCode(t, "ended session", err, waarborg.ENOTFOUND)
	if err := s.DeleteSession(ctx, sessions[0].Digest); err != nil {
		t.Errorf("ending an ended session: %v", err)
	}
	// Ending ann's sessions also clears cy's expired one, not bob's.
	if err := s.DeleteSessions(ctx, "ann", now); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "", "bob", ""} {
		got, err := s.Session(ctx, sessions[i].Digest)
		if want == "" {
			wantCode(t, "session "+sessions[i].User, err, waarborg.ENOTFOUND)
		} else if err != nil || got.User != want {
			t.Errorf("session %d: %+v, %v", i, got, err)
		}
	}
}

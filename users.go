package waarborg

import (
	"context"
	"slices"
	"strings"
	"time"
)

// The roles of a person (docs/access.md). Every role reads the evidence of
// the tenants it is granted; the roles differ in what they may change.
const (
	RoleAdmin      = "admin"      // manages users and tokens; may do all compliance does
	RoleCompliance = "compliance" // works exceptions, writes management responses, issues reports
	RoleEngineer   = "engineer"   // explains and remediates exceptions
	RoleAuditor    = "auditor"    // reads one tenant and downloads its evidence; never writes
)

// Roles lists the roles, most powerful first.
func Roles() []string { return []string{RoleAdmin, RoleCompliance, RoleEngineer, RoleAuditor} }

// AllTenants, as a user's or token's only tenant, grants every tenant, also
// those that appear later. An auditor never holds it.
const AllTenants = "*"

// A User is a person who signs in. Password holds an encoded password hash
// (argon2id, package auth), never a password.
type User struct {
	Name     string
	Role     string
	Tenants  []string // sorted and distinct; or AllTenants alone
	Password string
	Disabled bool
	Created  time.Time
}

// Grants reports whether u may see tenant.
func (u *User) Grants(tenant string) bool {
	return grants(u.Tenants, tenant)
}

func grants(tenants []string, tenant string) bool {
	return slices.Contains(tenants, AllTenants) || slices.Contains(tenants, tenant)
}

// ValidUserName reports whether s can name a user: 1-64 characters of
// a-z, 0-9 and ".", "_", "-", starting with a letter or digit. A user's
// name is the actor of the records their actions write.
func ValidUserName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// NormalizeTenants sorts tenants and drops repeats; it returns EINVALID for
// a malformed name, an empty list, or AllTenants beside other names.
func NormalizeTenants(tenants []string) ([]string, error) {
	out := make([]string, 0, len(tenants))
	for _, t := range tenants {
		t = strings.TrimSpace(t)
		if t != AllTenants && !ValidTenant(t) {
			return nil, Errorf(EINVALID, "tenant %q: want 1-64 characters of a-z, 0-9 and -, or %s for all", t, AllTenants)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	switch {
	case len(out) == 0:
		return nil, Errorf(EINVALID, "at least one tenant is required")
	case len(out) > 1 && slices.Contains(out, AllTenants):
		return nil, Errorf(EINVALID, "%s grants every tenant and stands alone", AllTenants)
	}
	return out, nil
}

// Validate checks a user's name, role and tenants, and normalizes the
// tenants. An auditor is granted exactly one tenant. It returns EINVALID.
func (u *User) Validate() error {
	if !ValidUserName(u.Name) {
		return Errorf(EINVALID, "user name %q: want 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", u.Name)
	}
	if !slices.Contains(Roles(), u.Role) {
		return Errorf(EINVALID, "role %q: want one of %s", u.Role, strings.Join(Roles(), ", "))
	}
	ts, err := NormalizeTenants(u.Tenants)
	if err != nil {
		return err
	}
	if u.Role == RoleAuditor && (len(ts) != 1 || ts[0] == AllTenants) {
		return Errorf(EINVALID, "an auditor is granted exactly one tenant")
	}
	if u.Password == "" {
		return Errorf(EINVALID, "a user needs a password")
	}
	u.Tenants = ts
	return nil
}

// The scopes of an API token.
const (
	ScopeIngest  = "ingest"  // POST records of its tenant
	ScopeRead    = "read"    // the read API of its tenant
	ScopeMetrics = "metrics" // GET /metrics only; no tenant
)

// Scopes lists the token scopes.
func Scopes() []string { return []string{ScopeIngest, ScopeRead, ScopeMetrics} }

// A Token lets a machine call the API. The secret text is shown once, when
// the token is made; the store keeps only its SHA-256 digest.
type Token struct {
	ID        string // public handle, part of the secret text: lists and revocation name it
	Name      string // what the token is for, e.g. "ede edge collector"
	Tenant    string // the one tenant it may reach, AllTenants, or "" for ScopeMetrics
	Scope     string
	Digest    [32]byte
	Created   time.Time
	CreatedBy string // the admin who made it
}

// Grants reports whether t may reach tenant.
func (t *Token) Grants(tenant string) bool {
	return t.Scope != ScopeMetrics && (t.Tenant == AllTenants || t.Tenant == tenant)
}

// Validate checks a token's scope and tenant. It returns EINVALID.
func (t *Token) Validate() error {
	switch t.Scope {
	case ScopeMetrics:
		if t.Tenant != "" {
			return Errorf(EINVALID, "a metrics token has no tenant")
		}
	case ScopeIngest, ScopeRead:
		if t.Tenant != AllTenants && !ValidTenant(t.Tenant) {
			return Errorf(EINVALID, "tenant %q: want 1-64 characters of a-z, 0-9 and -, or %s", t.Tenant, AllTenants)
		}
	default:
		return Errorf(EINVALID, "scope %q: want one of %s", t.Scope, strings.Join(Scopes(), ", "))
	}
	if strings.TrimSpace(t.Name) == "" || len(t.Name) > 200 {
		return Errorf(EINVALID, "a token needs a name of at most 200 characters: what it is for")
	}
	if t.ID == "" {
		return Errorf(EINVALID, "a token needs an id")
	}
	return nil
}

// A Session is a person's sign-in. The browser holds its secret in a
// cookie; the store keeps only the secret's SHA-256 digest.
type Session struct {
	Digest  [32]byte
	User    string
	Created time.Time
	Expires time.Time
}

// Users keeps the people who sign in, the tenants each is granted, the API
// tokens of machines and the sessions of signed-in people. It is
// implemented beside each Store (SQLite, PostgreSQL) and both run
// storetest.RunUsers.
//
// Reads return *Error with ENOTFOUND for what does not exist; adding what
// exists is ECONFLICT. Methods are safe for concurrent use and each is
// durable when it returns nil.
type Users interface {
	// AddUser adds a new user; ECONFLICT when the name is taken.
	AddUser(ctx context.Context, u *User) error
	// PutUser replaces an existing user's role, tenants, password and
	// disabled flag; ENOTFOUND when there is none of that name.
	PutUser(ctx context.Context, u *User) error
	User(ctx context.Context, name string) (*User, error)
	// ListUsers returns every user, by name.
	ListUsers(ctx context.Context) ([]User, error)

	// AddToken adds a token; ECONFLICT when its id or digest is taken.
	AddToken(ctx context.Context, t *Token) error
	TokenByDigest(ctx context.Context, digest [32]byte) (*Token, error)
	// ListTokens returns every token, by id.
	ListTokens(ctx context.Context) ([]Token, error)
	DeleteToken(ctx context.Context, id string) error

	AddSession(ctx context.Context, s *Session) error
	// Session returns the session of digest, expired or not.
	Session(ctx context.Context, digest [32]byte) (*Session, error)
	DeleteSession(ctx context.Context, digest [32]byte) error
	// DeleteSessions ends every session of user (a new password, a
	// disabled account), and every session that expired before now.
	DeleteSessions(ctx context.Context, user string, now time.Time) error
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
)

// The users, tokens and sessions of waarborg.Users live in the same
// database as the logs (users.sql); this file is all of their SQL.

var _ waarborg.Users = (*DB)(nil)

// isConflict reports whether err is a unique or primary key violation.
func isConflict(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// inTx runs fn in one write transaction.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func putTenants(ctx context.Context, tx *sql.Tx, u *waarborg.User) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_tenants WHERE user_name = ?", u.Name); err != nil {
		return fmt.Errorf("replace tenants: %w", err)
	}
	for _, t := range u.Tenants {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_tenants (user_name, tenant) VALUES (?, ?) ON CONFLICT DO NOTHING", u.Name, t); err != nil {
			return fmt.Errorf("grant tenant: %w", err)
		}
	}
	return nil
}

// AddUser adds a user; ECONFLICT when the name is taken.
func (db *DB) AddUser(ctx context.Context, u *waarborg.User) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO users (name, role, password, disabled, created) VALUES (?, ?, ?, ?, ?)",
			u.Name, u.Role, u.Password, u.Disabled, u.Created.UnixMilli())
		if isConflict(err) {
			return waarborg.Errorf(waarborg.ECONFLICT, "user %q exists already", u.Name)
		}
		if err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		return putTenants(ctx, tx, u)
	})
}

// PutUser replaces an existing user's role, tenants, password and flag.
func (db *DB) PutUser(ctx context.Context, u *waarborg.User) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, password = ?, disabled = ? WHERE name = ?",
			u.Role, u.Password, u.Disabled, u.Name)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("no user %q", u.Name)
		}
		return putTenants(ctx, tx, u)
	})
}

// usersQuery reads users with their tenants, a row per (user, tenant).
const usersQuery = `SELECT u.name, u.role, u.password, u.disabled, u.created, t.tenant
	FROM users u LEFT JOIN user_tenants t ON t.user_name = u.name`

// User returns the user of a name: one query, so that the role and the
// tenants come from one snapshot.
func (db *DB) User(ctx context.Context, name string) (*waarborg.User, error) {
	rows, err := db.read.QueryContext(ctx, usersQuery+" WHERE u.name = ? ORDER BY t.tenant", name)
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	us, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if len(us) == 0 {
		return nil, notFound("no user %q", name)
	}
	return &us[0], nil
}

// ListUsers returns every user, by name.
func (db *DB) ListUsers(ctx context.Context) ([]waarborg.User, error) {
	rows, err := db.read.QueryContext(ctx, usersQuery+" ORDER BY u.name, t.tenant")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return scanUsers(rows)
}

// scanUsers groups the rows of usersQuery, ordered by name, into users.
func scanUsers(rows *sql.Rows) ([]waarborg.User, error) {
	defer rows.Close()
	var us []waarborg.User
	for rows.Next() {
		var (
			u       waarborg.User
			created int64
			tenant  sql.NullString
		)
		if err := rows.Scan(&u.Name, &u.Role, &u.Password, &u.Disabled, &created, &tenant); err != nil {
			return nil, err
		}
		if len(us) == 0 || us[len(us)-1].Name != u.Name {
			u.Created = time.UnixMilli(created).UTC()
			us = append(us, u)
		}
		if tenant.Valid {
			last := &us[len(us)-1]
			last.Tenants = append(last.Tenants, tenant.String)
		}
	}
	return us, rows.Err()
}

// AddToken adds a token; ECONFLICT when its id or digest is taken.
func (db *DB) AddToken(ctx context.Context, t *waarborg.Token) error {
	_, err := db.write.ExecContext(ctx, "INSERT INTO tokens (id, digest, name, tenant, scope, created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		t.ID, t.Digest[:], t.Name, t.Tenant, t.Scope, t.Created.UnixMilli(), t.CreatedBy)
	if isConflict(err) {
		return waarborg.Errorf(waarborg.ECONFLICT, "token %q exists already", t.ID)
	}
	if err != nil {
		return fmt.Errorf("add token: %w", err)
	}
	return nil
}

const tokenColumns = "id, digest, name, tenant, scope, created, created_by"

func scanToken(sc interface{ Scan(...any) error }) (*waarborg.Token, error) {
	var (
		t       waarborg.Token
		digest  []byte
		created int64
	)
	if err := sc.Scan(&t.ID, &digest, &t.Name, &t.Tenant, &t.Scope, &created, &t.CreatedBy); err != nil {
		return nil, err
	}
	copy(t.Digest[:], digest)
	t.Created = time.UnixMilli(created).UTC()
	return &t, nil
}

// TokenByDigest returns the token whose secret has digest.
func (db *DB) TokenByDigest(ctx context.Context, digest [32]byte) (*waarborg.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE digest = ?", digest[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no such token")
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, by id.
func (db *DB) ListTokens(ctx context.Context) ([]waarborg.Token, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var ts []waarborg.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, *t)
	}
	return ts, rows.Err()
}

// DeleteToken revokes a token.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, "DELETE FROM tokens WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("no token %q", id)
	}
	return nil
}

// AddSession adds a session.
func (db *DB) AddSession(ctx context.Context, s *waarborg.Session) error {
	_, err := db.write.ExecContext(ctx, "INSERT INTO sessions (digest, user_name, created, expires) VALUES (?, ?, ?, ?)",
		s.Digest[:], s.User, s.Created.UnixMilli(), s.Expires.UnixMilli())
	if isConflict(err) {
		return waarborg.Errorf(waarborg.ECONFLICT, "session exists already")
	}
	if err != nil {
		return fmt.Errorf("add session: %w", err)
	}
	return nil
}

// Session returns the session of a digest.
func (db *DB) Session(ctx context.Context, digest [32]byte) (*waarborg.Session, error) {
	s := waarborg.Session{Digest: digest}
	var created, expires int64
	err := db.read.QueryRowContext(ctx, "SELECT user_name, created, expires FROM sessions WHERE digest = ?", digest[:]).
		Scan(&s.User, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	s.Created, s.Expires = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &s, nil
}

// DeleteSession ends one session; ending one that does not exist is no error.
func (db *DB) DeleteSession(ctx context.Context, digest [32]byte) error {
	if _, err := db.write.ExecContext(ctx, "DELETE FROM sessions WHERE digest = ?", digest[:]); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteSessions ends every session of user and every expired one.
func (db *DB) DeleteSessions(ctx context.Context, user string, now time.Time) error {
	if _, err := db.write.ExecContext(ctx, "DELETE FROM sessions WHERE user_name = ? OR expires <= ?", user, now.UnixMilli()); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

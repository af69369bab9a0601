package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waarborg/waarborg"
)

// The users, tokens and sessions of waarborg.Users live in the same
// database as the logs (migrations/0003_users.sql); this file is all of
// their SQL. It keeps the semantics of package sqlite's users.go, which
// runs the same suite (storetest.RunUsers).

var _ waarborg.Users = (*DB)(nil)

// isConflict reports whether err is a unique or primary key violation.
func isConflict(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "23505"
}

// inTx runs fn in one transaction.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A cancelled ctx must not leave the connection in a failed
	// transaction when it goes back to the pool.
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func putTenants(ctx context.Context, tx pgx.Tx, u *waarborg.User) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_tenants WHERE user_name = $1", u.Name); err != nil {
		return fmt.Errorf("replace tenants: %w", err)
	}
	// One statement for all tenants; repeats are tolerated, as on SQLite,
	// for a caller that did not normalize them.
	if _, err := tx.Exec(ctx, "INSERT INTO user_tenants (user_name, tenant) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
		u.Name, u.Tenants); err != nil {
		return fmt.Errorf("grant tenant: %w", err)
	}
	return nil
}

// AddUser adds a user; ECONFLICT when the name is taken.
func (db *DB) AddUser(ctx context.Context, u *waarborg.User) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO users (name, role, password, disabled, created) VALUES ($1, $2, $3, $4, $5)",
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
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// The UPDATE locks the user's row until commit: concurrent
		// PutUsers of one user replace the tenants one after the other,
		// never interleaving their deletes and inserts.
		tag, err := tx.Exec(ctx, "UPDATE users SET role = $2, password = $3, disabled = $4 WHERE name = $1",
			u.Name, u.Role, u.Password, u.Disabled)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("no user %q", u.Name)
		}
		return putTenants(ctx, tx, u)
	})
}

// userColumns reads a user with its tenants in one statement, so that
// both come from one snapshot: a PutUser that commits in between cannot
// pair the old role with the new tenants.
const userColumns = `name, role, password, disabled, created,
	array(SELECT tenant FROM user_tenants t WHERE t.user_name = u.name ORDER BY tenant)`

func scanUser(sc pgx.Row) (*waarborg.User, error) {
	var (
		u       waarborg.User
		created int64
	)
	if err := sc.Scan(&u.Name, &u.Role, &u.Password, &u.Disabled, &created, &u.Tenants); err != nil {
		return nil, err
	}
	if len(u.Tenants) == 0 {
		u.Tenants = nil // as SQLite gives a user without tenants
	}
	u.Created = time.UnixMilli(created).UTC()
	return &u, nil
}

// User returns the user of a name.
func (db *DB) User(ctx context.Context, name string) (*waarborg.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no user %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, by name.
func (db *DB) ListUsers(ctx context.Context) ([]waarborg.User, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+userColumns+" FROM users u ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var us []waarborg.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		us = append(us, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// AddToken adds a token; ECONFLICT when its id or digest is taken.
func (db *DB) AddToken(ctx context.Context, t *waarborg.Token) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO tokens (id, digest, name, tenant, scope, created, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

func scanToken(sc pgx.Row) (*waarborg.Token, error) {
	var (
		t       waarborg.Token
		digest  []byte
		created int64
	)
	if err := sc.Scan(&t.ID, &digest, &t.Name, &t.Tenant, &t.Scope, &created, &t.CreatedBy); err != nil {
		return nil, err
	}
	if len(digest) != 32 {
		return nil, fmt.Errorf("token %q: stored digest has %d bytes", t.ID, len(digest))
	}
	t.Digest, t.Created = [32]byte(digest), time.UnixMilli(created).UTC()
	return &t, nil
}

// TokenByDigest returns the token whose secret has digest.
func (db *DB) TokenByDigest(ctx context.Context, digest [32]byte) (*waarborg.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE digest = $1", digest[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no such token")
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, by id.
func (db *DB) ListTokens(ctx context.Context) ([]waarborg.Token, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var ts []waarborg.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		ts = append(ts, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// DeleteToken revokes a token.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM tokens WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("no token %q", id)
	}
	return nil
}

// AddSession adds a session.
func (db *DB) AddSession(ctx context.Context, s *waarborg.Session) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO sessions (digest, user_name, created, expires) VALUES ($1, $2, $3, $4)",
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
	err := db.pool.QueryRow(ctx, "SELECT user_name, created, expires FROM sessions WHERE digest = $1", digest[:]).
		Scan(&s.User, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
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
	if _, err := db.pool.Exec(ctx, "DELETE FROM sessions WHERE digest = $1", digest[:]); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteSessions ends every session of user and every expired one.
func (db *DB) DeleteSessions(ctx context.Context, user string, now time.Time) error {
	if _, err := db.pool.Exec(ctx, "DELETE FROM sessions WHERE user_name = $1 OR expires <= $2", user, now.UnixMilli()); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

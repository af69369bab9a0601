package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/auth"
)

// userStore is a store that keeps users too: SQLite and PostgreSQL.
type userStore interface {
	waarborg.Users
	Close() error
}

// openUsers opens the users of a data directory or database. It does not
// take the directory's lock: users and tokens may be managed while serve
// runs, and the database serialises the writes.
func openUsers(ctx context.Context, loc *location) (userStore, error) {
	if err := os.MkdirAll(loc.dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s, err := openStore(ctx, loc)
	if err != nil {
		return nil, err
	}
	us, ok := s.(userStore)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("this store keeps no users")
	}
	return us, nil
}

// listFlag is a flag that may repeat and takes comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

const userUsage = `usage: waarborg user <add|list|passwd> [flags]

  add     --name N --role admin|compliance|engineer|auditor --tenant T [--tenant T2 …]
          the password is read from the terminal (twice), or as one line from stdin;
          never from a flag. --tenant '*' grants every tenant (not to an auditor).
  list    every user, role and tenants
  passwd  --name N: set a new password (read as for add) and end N's sessions
`

func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, userUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, userUsage); fs.PrintDefaults() }
	dir := dataFlags(fs, e)
	name := fs.String("name", "", "the user's `name` (a-z, 0-9, '.', '_', '-')")
	var role *string
	var tenants listFlag
	if sub == "add" {
		role = fs.String("role", "", "`role`: admin, compliance, engineer or auditor")
		fs.Var(&tenants, "tenant", "a `tenant` the user is granted (repeat, or separate by commas; * for all)")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	switch sub {
	case "add", "passwd":
		if *name == "" {
			fs.Usage()
			return errUsage
		}
	case "list":
	default:
		fmt.Fprintf(e.stderr, "waarborg user: unknown subcommand %q\n\n%s", sub, userUsage)
		return errUsage
	}
	db, err := openUsers(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "list":
		us, err := db.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tTENANTS\tSTATE")
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, strings.Join(u.Tenants, ","), state)
		}
		return tw.Flush()
	case "add":
		u := &waarborg.User{Name: *name, Role: *role, Tenants: tenants, Password: "-", Created: time.Now().UTC()}
		if err := u.Validate(); err != nil {
			return userError(err)
		}
		password, err := readPassword(e, "Password for "+u.Name)
		if err != nil {
			return err
		}
		if u.Password, err = auth.HashPassword(password, auth.Default); err != nil {
			return err
		}
		if err := db.AddUser(ctx, u); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "added %s (%s) with tenants %s\n", u.Name, u.Role, strings.Join(u.Tenants, ", "))
	case "passwd":
		u, err := db.User(ctx, *name)
		if err != nil {
			return userError(err)
		}
		password, err := readPassword(e, "New password for "+u.Name)
		if err != nil {
			return err
		}
		if u.Password, err = auth.HashPassword(password, auth.Default); err != nil {
			return err
		}
		if err := db.PutUser(ctx, u); err != nil {
			return err
		}
		if err := db.DeleteSessions(ctx, u.Name, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "set a new password for %s and ended their sessions\n", u.Name)
	}
	return nil
}

// readPassword reads a new password: from a terminal without echo, asked
// twice; otherwise as the first line of stdin. It is never echoed, logged
// or taken from a flag or the environment.
func readPassword(e *env, prompt string) (string, error) {
	var password string
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(p string) (string, error) {
			fmt.Fprint(e.stderr, p+": ")
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			return string(b), err
		}
		first, err := ask(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		second, err := ask("The same password again")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if first != second {
			return "", errors.New("the two passwords differ")
		}
		password = first
	} else {
		if e.stdin == nil {
			return "", errors.New("no password: give it on stdin or run in a terminal")
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if err := auth.CheckStrength(password); err != nil {
		return "", userError(err)
	}
	return password, nil
}

const tokenUsage = `usage: waarborg token <add|list|revoke> [flags]

  add     --name "what it is for" --scope ingest|read --tenant T
          --scope metrics (no tenant): reads /metrics only
          prints the token once; only its hash is kept
  list    every token: id, name, tenant, scope
  revoke  --id ID
`

func cmdToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, tokenUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, tokenUsage); fs.PrintDefaults() }
	dir := dataFlags(fs, e)
	var name, scope, tenant, id *string
	switch sub {
	case "add":
		name = fs.String("name", "", "what the token is for")
		scope = fs.String("scope", "", "`scope`: ingest, read or metrics")
		tenant = fs.String("tenant", "", "the `tenant` it reaches (* for all); none for metrics")
	case "revoke":
		id = fs.String("id", "", "the token's `id`")
	case "list":
	default:
		fmt.Fprintf(e.stderr, "waarborg token: unknown subcommand %q\n\n%s", sub, tokenUsage)
		return errUsage
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	db, err := openUsers(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "list":
		ts, err := db.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSCOPE\tTENANT\tNAME\tMADE BY")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Scope, t.Tenant, t.Name, t.CreatedBy)
		}
		return tw.Flush()
	case "revoke":
		if err := db.DeleteToken(ctx, *id); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "revoked %s\n", *id)
	case "add":
		text, tid, digest, err := auth.NewToken()
		if err != nil {
			return err
		}
		t, err := addToken(ctx, db, waarborg.Token{ID: tid, Name: *name, Tenant: *tenant, Scope: *scope, Digest: digest,
			Created: time.Now().UTC(), CreatedBy: "cli"})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "token %s (%s, tenant %q): copy it now, it is not shown again\n", t.ID, t.Scope, t.Tenant)
		fmt.Fprintln(e.stdout, text)
	}
	return nil
}

func addToken(ctx context.Context, db waarborg.Users, t waarborg.Token) (*waarborg.Token, error) {
	if err := t.Validate(); err != nil {
		return nil, userError(err)
	}
	if err := db.AddToken(ctx, &t); err != nil {
		return nil, userError(err)
	}
	return &t, nil
}

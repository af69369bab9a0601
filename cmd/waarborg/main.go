// Command waarborg is the single binary of waarborg: ingest, verify, proof,
// serve, demo. It is the only place that reads flags and environment and
// wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/waarborg/waarborg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "waarborg:", err)
		}
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var (
	// errReported means the command has told the user what failed already.
	errReported = errors.New("failed")
	errUsage    = errors.New("usage")
)

const usage = `usage: waarborg <command> [flags]

commands:
  ingest   append JSON Lines records from files (or - for stdin) to the ledger
  import   append records read from historian CSV, B2MML or ERP CSV exports
  verify   re-hash every record, rebuild each log, check every checkpoint
  proof    print an inclusion or consistency proof as JSON
  controls evaluate the control catalog over a tenant's records for a period
  key      print the verifier key of the checkpoints
  bundle   evaluate a period and write its evidence bundle; verify-bundle checks one offline
  report   write a Type I or Type II report (HTML, PDF, OSCAL) with its bundle, or a bridge letter
  serve    run the web UI, the HTTP API, OT connectors and an embedded MQTT broker; submit checkpoints to witnesses
  witness  run a witness that cosigns a deployment's checkpoints and refuses rewrites
  edge     run OT connectors at a plant and forward their records to a central serve
  user     add and list the people who sign in (user add --role admin: the first admin)
  token    make, list and revoke API tokens of machines
  demo     generate a simulated plant's history, ingest it and serve it
  simulate write a simulated plant's history as JSON Lines (benchmark data)
  migrate  apply the PostgreSQL schema's migrations (--db URL); every command does on start
  help     show this text

Each command but edge takes --data DIR (default $WAARBORG_DATA or ./waarborg-data), the
directory of the signing key and of the SQLite database, and --db postgres://…
(default $WAARBORG_DB) to keep the records in PostgreSQL instead, where several
serve processes may share one database.
Run 'waarborg <command> -h' for its flags.
`

type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is main without the process: tests call it with their own streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmds := map[string]func(context.Context, *env, []string) error{
		"ingest":   cmdIngest,
		"import":   cmdImport,
		"verify":   cmdVerify,
		"proof":    cmdProof,
		"key":      cmdKey,
		"serve":    cmdServe,
		"edge":     cmdEdge,
		"demo":     cmdDemo,
		"controls": cmdControls,
		"simulate": cmdSimulate,
		"migrate":  cmdMigrate,
		"bundle":   cmdBundle, "verify-bundle": cmdVerifyBundle,
		"report":  cmdReport,
		"witness": cmdWitness,
		"user":    cmdUser,
		"token":   cmdToken,
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "waarborg: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
	return cmd(ctx, e, args[1:])
}

// userError turns a domain error into the message a user should see.
func userError(err error) error {
	if code := waarborg.ErrorCode(err); code != waarborg.EINTERNAL && code != "" {
		return errors.New(waarborg.ErrorMessage(err))
	}
	return err
}

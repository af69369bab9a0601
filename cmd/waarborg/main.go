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
  verify   re-hash every record, rebuild each log, check every checkpoint
  proof    print an inclusion or consistency proof as JSON
  controls evaluate the control catalog over a tenant's records for a period
  key      print the verifier key of the checkpoints
  bundle   evaluate a period and write its evidence bundle; verify-bundle checks one offline
  serve    run the web UI and the HTTP API
  user     add and list the people who sign in (user add --role admin: the first admin)
  token    make, list and revoke API tokens of machines
  demo     generate a simulated plant's history, ingest it and serve it
  simulate write a simulated plant's history as JSON Lines (benchmark data)
  help     show this text

Each command takes --data DIR (default $WAARBORG_DATA or ./waarborg-data).
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
		"verify":   cmdVerify,
		"proof":    cmdProof,
		"key":      cmdKey,
		"serve":    cmdServe,
		"demo":     cmdDemo,
		"controls": cmdControls,
		"simulate": cmdSimulate,
		"bundle":   cmdBundle, "verify-bundle": cmdVerifyBundle,
		"user":  cmdUser,
		"token": cmdToken,
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

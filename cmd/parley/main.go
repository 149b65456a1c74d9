// Command parley is the Parley server: online mediation of intellectual-property disputes, docked to the courts.
//
//	parley [serve] [flags]   run the server (the default)
//	parley migrate           apply database migrations and exit
//	parley demo              seed a demo court, IP office, organisation, staff, parties and a referred case
//	parley audit verify CASE verify a case's hash-chained audit trail
//	parley verify FILE.pdf   check a PDF's signatures
//	parley sign-demo -out D  write signed demo documents
//	parley version           print the version
//
// Every flag has a PARLEY_* environment variable; see README.md or `parley serve -h`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "parley:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status other than 1 (or with 1 and no "error" wording).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

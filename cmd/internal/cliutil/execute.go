package cliutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// ExitCodesHelp lists the exit statuses both programs use; each root
// command's long help ends with it.
const ExitCodesHelp = `Exit status:
  0  success
  1  error (ClickHouse or Kafka unreachable, bad input, a failed write)
  2  usage: an unknown flag or command, a bad flag value or argument count
  3  the command ran and what it checked failed (a failing verdict, a stop
     condition, a broken flow)`

// Execute runs root the way both programs run: --version prints the build
// (see ReadBuildInfo); unknown flags, unknown commands and a wrong number of
// arguments are usage errors (exit 2) like every FlagError; and an error is
// printed once on ErrOut as "<program>: error: <message>", a usage error
// followed by a pointer to --help.
func Execute(ctx context.Context, root *cobra.Command, args []string, ios *IOStreams) ExitCode {
	root.Version = ReadBuildInfo().String()
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	wrapArgs(root)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// cobra reports an unknown subcommand from its own lookup, before
	// any validator runs; gh recognises it by its text the same way.
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = &FlagError{Err: err}
	}
	fmt.Fprintf(ios.ErrOut, "%s: error: %v\n", root.Name(), err)
	code := Code(err)
	if code == ExitUsage && cmd != nil {
		fmt.Fprintf(ios.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// wrapArgs makes every command's argument validator return a FlagError.
func wrapArgs(c *cobra.Command) {
	if orig := c.Args; orig != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				var fe *FlagError
				if errors.As(err, &fe) {
					return err
				}
				return &FlagError{Err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

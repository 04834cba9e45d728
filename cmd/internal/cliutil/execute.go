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
     condition, a broken flow, A/A replay rates above target)`

// Execute runs root the way both programs run: --version prints the build
// (see ReadBuildInfo); unknown flags, unknown commands (under the root or a
// command group such as "analyze flows") and a wrong number of arguments
// are usage errors (exit 2) like every FlagError; and an error is
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
	unknown := reportUnknownSubcommands(root)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		err = *unknown
	}
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

// reportUnknownSubcommands makes "<group> bogus" a usage error. cobra
// checks the words after a command only under the root; a command group
// (a command with subcommands and nothing to run) takes any words and shows
// its help, so this help function reports them instead, in the root's
// words, into the error it returns.
func reportUnknownSubcommands(root *cobra.Command) *error {
	unknown := new(error)
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		asked, _ := c.Flags().GetBool("help")
		if c.Runnable() || asked || c.Flags().NArg() == 0 {
			help(c, args)
			return
		}
		word := c.Flags().Arg(0)
		msg := fmt.Sprintf("unknown command %q for %q", word, c.CommandPath())
		if s := c.SuggestionsFor(word); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
		}
		*unknown = &FlagError{Err: errors.New(msg)}
	})
	return unknown
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

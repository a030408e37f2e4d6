// Command runwire-jail runs a command under a seccomp filter that simulates an environment
// runwire meets (package specs/support/jail): `make walls-matrix` runs the walls specs in it.
//
//	runwire-jail -profile docker[,nolandlock] -- command [args...]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/runwire/runwire/specs/support/jail"
)

func main() {
	fs := flag.NewFlagSet("runwire-jail", flag.ContinueOnError)
	list := fs.String("profile", "", "docker (Docker's default seccomp profile, unprivileged: no namespaces, clone3 ENOSYS), nolandlock (landlock_* ENOSYS), or both, comma-separated")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	profiles, err := jail.ParseProfiles(*list)
	if err != nil || fs.NArg() == 0 {
		if err == nil {
			err = fmt.Errorf("runwire-jail: no command given")
		}
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintln(os.Stderr, "usage: runwire-jail -profile docker[,nolandlock] -- command [args...]")
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "runwire-jail: %s refused for %s\n", strings.Join(jail.Names(profiles), ", "), fs.Arg(0))
	if err := jail.Exec(profiles, fs.Args(), os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

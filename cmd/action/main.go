// Command action is the metamint GitHub Action: it mints a Meta Business
// Manager system user access token inside the job that uses it, masks it,
// hands it to later steps as an output, and revokes it in the post step.
//
// The runner starts it twice. The main step runs the image's entrypoint,
// /metamint-action, with no argument. The post step runs /post, a link to the
// same binary; the program also accepts the single argument "post" (see
// mode). Inputs arrive as INPUT_* variables, state as STATE_*; everything
// the program says goes to stdout as workflow commands. The contract is in
// action.yml and docs/action.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-githubactions"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := githubactions.New()
	err := run(ctx, a, os.Args)
	stop()
	if err != nil {
		a.Errorf("%s", err)
		os.Exit(1)
	}
}

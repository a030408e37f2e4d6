package queue

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Deps are the PostgreSQL and Redis servers the topology runs.
type Deps struct {
	PostgresBin string // the folder with initdb, postgres and pg_isready
	RedisServer string // the redis-server binary
}

// InstallDeps runs e2e/scripts/install-queue-deps.sh, which installs PostgreSQL and Redis from
// Debian's packages when they are missing, and returns where their servers are. Progress goes
// to progress.
func InstallDeps(ctx context.Context, script string, progress io.Writer) (Deps, error) {
	cmd := exec.CommandContext(ctx, script)
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return Deps{}, fmt.Errorf("installing PostgreSQL and Redis with %s: %w", script, err)
	}
	var d Deps
	for line := range strings.SplitSeq(string(out), "\n") {
		key, value, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch key {
		case "postgres_bin":
			d.PostgresBin = value
		case "redis_server":
			d.RedisServer = value
		}
	}
	for _, bin := range []string{filepath.Join(d.PostgresBin, "initdb"), filepath.Join(d.PostgresBin, "postgres"), d.RedisServer} {
		if _, err := os.Stat(bin); err != nil {
			return Deps{}, fmt.Errorf("%s printed %q, which names no usable server: %w", script, out, err)
		}
	}
	return d, nil
}

package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
)

// Postgres is a PostgreSQL server of the topology's own: its own data directory, a free
// loopback port, no Unix socket, one superuser with a random password.
type Postgres struct {
	Port     int
	User     string
	Password string
	Database string // the database n8n uses: initdb's "postgres"

	dataDir string
	proc    *process
}

// postgresUser is the account PostgreSQL runs as: when we are root, Debian's "postgres" (initdb
// and postgres refuse to run as root), otherwise ourselves.
func postgresUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user to run it as (apt-get install postgresql makes one): %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startPostgres makes a cluster in dir/postgres (initdb) and starts it on a free port. dir
// must be traversable by the postgres user when we are root.
func startPostgres(ctx context.Context, deps Deps, dir string) (*Postgres, error) {
	cred, err := postgresUser()
	if err != nil {
		return nil, err
	}
	pg := &Postgres{User: "n8n", Password: randomHex(16), Database: "postgres", dataDir: filepath.Join(dir, "postgres")}
	if err := os.Mkdir(pg.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("PostgreSQL data directory: %w", err)
	}
	pwfile := filepath.Join(dir, "postgres.pw") // beside the data directory, which initdb wants empty
	if err := os.WriteFile(pwfile, []byte(pg.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("PostgreSQL password file: %w", err)
	}
	defer os.Remove(pwfile)
	if cred != nil {
		for _, p := range []string{pg.dataDir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("handing %s to the postgres user: %w", p, err)
			}
		}
	}

	//nolint:gosec // G204: the binaries are Debian's, found by the install script
	initdb := exec.CommandContext(ctx, filepath.Join(deps.PostgresBin, "initdb"),
		"--pgdata", pg.dataDir, "--username", pg.User, "--pwfile", pwfile,
		"--auth-host", "scram-sha-256", "--auth-local", "reject",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb %s: %w\n%s", pg.dataDir, err, out)
	}

	if pg.Port, err = n8n.FreePort(); err != nil {
		return nil, err
	}
	//nolint:gosec // G204: as above
	cmd := exec.Command(filepath.Join(deps.PostgresBin, "postgres"), "-D", pg.dataDir,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(pg.Port),
		"-c", "unix_socket_directories=", "-c", "logging_collector=off", "-c", "max_connections=100",
		// A database thrown away at the end: no waiting for the disk. (docs/deploy.md says what
		// that leaves out of the figures.)
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if pg.proc, err = startProcess("postgres", filepath.Join(dir, "postgres.log"), cmd); err != nil {
		return nil, err
	}
	if err := pg.waitReady(ctx, deps); err != nil {
		pg.proc.kill()
		return nil, err
	}
	return pg, nil
}

// waitReady polls pg_isready until the server accepts connections.
func (pg *Postgres) waitReady(ctx context.Context, deps Deps) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		//nolint:gosec // G204: as above
		probe := exec.CommandContext(ctx, filepath.Join(deps.PostgresBin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port))
		if probe.Run() == nil {
			return nil
		}
		select {
		case <-pg.proc.Exited():
			return pg.proc.exitError("before it accepted connections")
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL not ready on port %d (%w); the end of %s:\n%s", pg.Port, ctx.Err(), pg.proc.logPath, logTail(pg.proc.logPath, 30))
		case <-tick.C:
		}
	}
}

// Env is what n8n needs to use this server (DB_TYPE=postgresdb and DB_POSTGRESDB_*).
func (pg *Postgres) Env() []string {
	return []string{
		"DB_TYPE=postgresdb",
		"DB_POSTGRESDB_HOST=127.0.0.1",
		"DB_POSTGRESDB_PORT=" + strconv.Itoa(pg.Port),
		"DB_POSTGRESDB_DATABASE=" + pg.Database,
		"DB_POSTGRESDB_USER=" + pg.User,
		"DB_POSTGRESDB_PASSWORD=" + pg.Password,
	}
}

// PID is the postmaster's process id.
func (pg *Postgres) PID() int { return pg.proc.PID() }

// stop shuts the server down (SIGINT: PostgreSQL's fast shutdown, which ends the sessions) and
// removes its data directory.
func (pg *Postgres) stop() error {
	err := pg.proc.stop(syscall.SIGINT, 20*time.Second)
	return errors.Join(err, os.RemoveAll(pg.dataDir))
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

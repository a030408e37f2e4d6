package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
)

// Redis is a Redis server of the topology's own: a generated configuration, a free loopback
// port, no persistence, its working directory in the topology's folder.
type Redis struct {
	Port int

	dir  string
	proc *process
}

// startRedis writes dir/redis/redis.conf and starts redis-server with it.
func startRedis(ctx context.Context, deps Deps, dir string) (*Redis, error) {
	r := &Redis{dir: filepath.Join(dir, "redis")}
	if err := os.Mkdir(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("redis folder: %w", err)
	}
	var err error
	if r.Port, err = n8n.FreePort(); err != nil {
		return nil, err
	}
	conf := filepath.Join(r.dir, "redis.conf")
	// No persistence (save "", no AOF): the queue lives as long as the topology.
	settings := strings.Join([]string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(r.Port),
		"protected-mode yes",
		"daemonize no",
		`save ""`,
		"appendonly no",
		"dir " + r.dir,
		`logfile ""`,
		"databases 1",
		"maxmemory-policy noeviction", // Bull's requirement
	}, "\n") + "\n"
	if err := os.WriteFile(conf, []byte(settings), 0o600); err != nil {
		return nil, fmt.Errorf("redis configuration: %w", err)
	}
	cmd := exec.Command(deps.RedisServer, conf) //nolint:gosec // G204: Debian's redis-server, found by the install script
	cmd.Dir = r.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if r.proc, err = startProcess("redis-server", filepath.Join(dir, "redis.log"), cmd); err != nil {
		return nil, err
	}
	if err := r.waitReady(ctx); err != nil {
		r.proc.kill()
		return nil, err
	}
	return r, nil
}

// waitReady sends PING until Redis answers PONG.
func (r *Redis) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.ping(ctx) == nil {
			return nil
		}
		select {
		case <-r.proc.Exited():
			return r.proc.exitError("before it answered PING")
		case <-ctx.Done():
			return fmt.Errorf("redis not ready on port %d (%w); the end of %s:\n%s", r.Port, ctx.Err(), r.proc.logPath, logTail(r.proc.logPath, 30))
		case <-tick.C:
		}
	}
}

func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("redis answered PING with " + strings.TrimSpace(line))
	}
	return nil
}

func (r *Redis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// Env is what n8n needs to use this server for its queue.
func (r *Redis) Env() []string {
	return []string{"QUEUE_BULL_REDIS_HOST=127.0.0.1", "QUEUE_BULL_REDIS_PORT=" + strconv.Itoa(r.Port)}
}

// PID is redis-server's process id.
func (r *Redis) PID() int { return r.proc.PID() }

// stop ends the server (SIGTERM; with nothing to save it exits at once) and removes its folder.
func (r *Redis) stop() error {
	err := r.proc.stop(syscall.SIGTERM, 10*time.Second)
	return errors.Join(err, os.RemoveAll(r.dir))
}

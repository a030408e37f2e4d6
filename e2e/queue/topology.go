package queue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/transport"
)

// Options say what to start. InstallDir, Deps and Runwire are required.
type Options struct {
	InstallDir string // n8n's install folder, from n8n.Install
	Deps       Deps   // from InstallDeps
	Runwire    string // the runwire binary
	// Workers is how many n8n workers to start (2 when 0), Concurrency each one's
	// --concurrency (10 when 0).
	Workers, Concurrency int
	// Parent is where the topology's folder is made; empty means os.TempDir().
	Parent string
	// RunwireEnv adds settings (NAME=value) to every runwire; MainEnv and WorkerEnv to n8n's.
	RunwireEnv, MainEnv, WorkerEnv []string
}

// Topology is one n8n main, its PostgreSQL and Redis, and its workers with a runwire each.
// Stop ends it all.
type Topology struct {
	Postgres *Postgres
	Redis    *Redis
	Main     *n8n.Server
	Workers  []*Worker

	// AuthToken is N8N_RUNNERS_AUTH_TOKEN of every broker; EncryptionKey the shared
	// N8N_ENCRYPTION_KEY.
	AuthToken, EncryptionKey string

	opts    Options
	dir     string
	mu      sync.Mutex
	stopped bool
}

// Worker is one `n8n worker` with its own task broker, the proxy runwire reaches it through,
// and that runwire.
type Worker struct {
	Index   int // 1, 2, ...
	Server  *n8n.Server
	Proxy   *Proxy
	Runwire *Runwire

	topo *Topology
	opts n8n.Options
	js   *process
}

// Start starts PostgreSQL and Redis, then the n8n main (which migrates the database), then the
// workers, then a runwire beside each worker, and waits until every one is ready. On failure
// it stops what it started.
func Start(ctx context.Context, opts Options) (t *Topology, err error) {
	if opts.InstallDir == "" || opts.Runwire == "" || opts.Deps.PostgresBin == "" || opts.Deps.RedisServer == "" {
		return nil, errors.New("queue.Start: InstallDir, Deps and Runwire are required")
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 10
	}
	dir, err := os.MkdirTemp(opts.Parent, "runwire-queue-")
	if err != nil {
		return nil, fmt.Errorf("topology folder: %w", err)
	}
	// The postgres user must reach its data directory inside; nothing can be listed.
	if err := os.Chmod(dir, 0o711); err != nil { //nolint:gosec // G302: traversable, not listable, for the postgres user
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("topology folder: %w", err)
	}
	t = &Topology{opts: opts, dir: dir, AuthToken: randomHex(16), EncryptionKey: randomHex(24)}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Stop())
			t = nil
		}
	}()

	if t.Postgres, err = startPostgres(ctx, opts.Deps, dir); err != nil {
		return t, err
	}
	if t.Redis, err = startRedis(ctx, opts.Deps, dir); err != nil {
		return t, err
	}
	mainPort, err := n8n.FreePort()
	if err != nil {
		return t, err
	}
	mainOpts := n8n.Options{
		InstallDir: opts.InstallDir,
		Port:       mainPort,
		UserFolder: filepath.Join(dir, "main"),
		AuthToken:  t.AuthToken,
		Env:        append(t.sharedEnv(), opts.MainEnv...),
		NoBroker:   true, // it offloads every execution to the workers

		DieWithParent: true,
	}
	// The workers start with the main: they wait for its database migrations (n8n's migration
	// lock), and meanwhile load n8n, which is most of their start-up.
	t.Workers = make([]*Worker, opts.Workers)
	errs := make([]error, opts.Workers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		if t.Main, err = n8n.Start(ctx, mainOpts); err != nil {
			errs[opts.Workers] = fmt.Errorf("n8n main: %w", err)
		}
	})
	for i := range t.Workers {
		w := &Worker{Index: i + 1, topo: t}
		t.Workers[i] = w
		wg.Go(func() { errs[i] = w.start(ctx, mainPort) })
	}
	wg.Wait()
	return t, errors.Join(errs...)
}

// sharedEnv is what main and workers share: the database, the queue, the encryption key.
func (t *Topology) sharedEnv() []string {
	env := append(t.Postgres.Env(), t.Redis.Env()...)
	return append(env,
		"EXECUTIONS_MODE=queue",
		"OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS=true",
		"N8N_ENCRYPTION_KEY="+t.EncryptionKey,
		// n8n's default pool of 2 connections queues its database health ping behind 20
		// webhooks' queries; when the ping misses its 5 s on a busy machine, n8n answers every
		// webhook 503 "Database is not ready!" until the next ping succeeds.
		"DB_POSTGRESDB_POOL_SIZE=10",
		"DB_PING_TIMEOUT_MS=20000",
	)
}

// start starts the worker, its proxy and its runwire.
func (w *Worker) start(ctx context.Context, mainPort int) error {
	t := w.topo
	port, err := n8n.FreePort()
	if err != nil {
		return err
	}
	env := append(t.sharedEnv(),
		"QUEUE_HEALTH_CHECK_ACTIVE=true",
		"QUEUE_HEALTH_CHECK_PORT="+strconv.Itoa(port),
		"N8N_WORKER_SERVER_ADDRESS=127.0.0.1",
		"WEBHOOK_URL=http://127.0.0.1:"+strconv.Itoa(mainPort)+"/",
	)
	w.opts = n8n.Options{
		InstallDir: t.opts.InstallDir,
		UserFolder: filepath.Join(t.dir, "worker-"+strconv.Itoa(w.Index)),
		AuthToken:  t.AuthToken,
		Port:       port,
		Env:        append(env, t.opts.WorkerEnv...),
		Command:    []string{"worker", "--concurrency=" + strconv.Itoa(t.opts.Concurrency)},

		DieWithParent: true,
	}
	if w.Server, err = n8n.Start(ctx, w.opts); err != nil {
		return fmt.Errorf("n8n worker %d: %w", w.Index, err)
	}
	w.opts = w.Server.Options() // with the broker port it picked: a restart keeps it
	if w.Proxy, err = NewProxy(strings.TrimPrefix(w.Server.BrokerURL(), "http://")); err != nil {
		return fmt.Errorf("proxy for worker %d: %w", w.Index, err)
	}
	w.Runwire, err = newRunwire(t.opts.Runwire, w.Proxy.URL(), t.AuthToken,
		filepath.Join(t.dir, "runwire-"+strconv.Itoa(w.Index)+".log"), t.opts.RunwireEnv)
	if err != nil {
		return err
	}
	if err := w.Runwire.start(ctx); err != nil {
		return fmt.Errorf("runwire beside worker %d: %w", w.Index, err)
	}
	return nil
}

// Restart stops the worker as an orchestrator does (SIGTERM: it stops taking jobs, lets its
// running executions finish and drains its runners), then starts it again on the same ports.
// runwire stays and registers again. It returns when the worker is ready.
func (w *Worker) Restart(ctx context.Context) error {
	if err := w.Server.Stop(45 * time.Second); err != nil {
		return fmt.Errorf("stopping n8n worker %d: %w", w.Index, err)
	}
	s, err := n8n.Start(ctx, w.opts)
	if err != nil {
		return fmt.Errorf("starting n8n worker %d again: %w", w.Index, err)
	}
	w.Server = s
	return nil
}

// StartJSRunner starts n8n's JavaScript task runner beside the worker, connected to its broker
// directly, with a grant token fetched with the auth token (as n8n's launcher does). env adds
// settings. StopJSRunner ends it.
func (w *Worker) StartJSRunner(ctx context.Context, env ...string) error {
	grant, err := transport.FetchGrantToken(ctx, http.DefaultClient, w.Server.BrokerURL(), w.topo.AuthToken)
	if err != nil {
		return fmt.Errorf("grant token for worker %d's JS runner: %w", w.Index, err)
	}
	w.js, err = startJSRunner(w.topo.opts.InstallDir, w.Server.BrokerURL(), grant,
		filepath.Join(w.topo.dir, "js-runner-"+strconv.Itoa(w.Index)+".log"), env)
	return err
}

// StopJSRunner stops the worker's JavaScript runner, if it has one.
func (w *Worker) StopJSRunner() error {
	if w.js == nil {
		return nil
	}
	err := w.js.stop(syscall.SIGTERM, 10*time.Second)
	w.js = nil
	return err
}

// LogLines returns the lines of the worker's log that contain substr (all its runs so far:
// a restarted worker appends to the same log).
func (w *Worker) LogLines(substr string) []string { return w.Server.LogLines(substr) }

// Dir is the topology's folder: data directories, user folders and logs.
func (t *Topology) Dir() string { return t.dir }

// PIDs are the process ids of every process the topology has running now, each also the id of
// its process group.
func (t *Topology) PIDs() []int {
	var pids []int
	for _, w := range t.Workers {
		if w == nil {
			continue
		}
		if w.Runwire != nil && w.Runwire.proc != nil && w.Runwire.proc.running() {
			pids = append(pids, w.Runwire.PID())
		}
		if w.js != nil && w.js.running() {
			pids = append(pids, w.js.PID())
		}
		if w.Server != nil {
			pids = append(pids, w.Server.PID())
		}
	}
	if t.Main != nil {
		pids = append(pids, t.Main.PID())
	}
	if t.Redis != nil {
		pids = append(pids, t.Redis.PID())
	}
	if t.Postgres != nil {
		pids = append(pids, t.Postgres.PID())
	}
	return pids
}

// Stop ends everything, the runners first and the database last, each by the pid recorded at
// its start (SIGTERM, or SIGINT for PostgreSQL, then SIGKILL to its process group after a
// timeout), and removes the topology's folder. It is safe to call more than once and from
// another goroutine than Start's, as a signal handler does.
func (t *Topology) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return nil
	}
	t.stopped = true
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	add := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for _, w := range t.Workers {
		if w == nil {
			continue
		}
		wg.Go(func() {
			if w.Runwire != nil {
				add(w.Runwire.stop())
			}
			add(w.StopJSRunner())
			if w.Proxy != nil {
				w.Proxy.Close()
			}
			if w.Server != nil {
				add(w.Server.Stop(45 * time.Second))
			}
		})
	}
	wg.Wait()
	if t.Main != nil {
		errs = append(errs, t.Main.Stop(45*time.Second)) // beyond n8n's own 30 s graceful shutdown
	}
	if t.Redis != nil {
		errs = append(errs, t.Redis.stop())
	}
	if t.Postgres != nil {
		errs = append(errs, t.Postgres.stop())
	}
	errs = append(errs, os.RemoveAll(t.dir))
	return errors.Join(errs...)
}

// JSRunnerPID is the process id of the worker's JavaScript runner, 0 without one.
func (w *Worker) JSRunnerPID() int {
	if w.js == nil {
		return 0
	}
	return w.js.PID()
}

// SaveLogs copies every log of the topology (PostgreSQL, Redis, each n8n, each runner) into
// dest, which it makes, for a look after a failed run.
func (t *Topology) SaveLogs(dest string) error {
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	return filepath.WalkDir(t.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil //nolint:nilerr // a data directory the walk cannot read holds no log of ours
		}
		rel, _ := filepath.Rel(t.dir, path)
		data, err := os.ReadFile(path) //nolint:gosec // G304: a log in the topology's own folder
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dest, strings.ReplaceAll(rel, string(filepath.Separator), "-")), data, 0o600) //nolint:gosec // G703: a name from our own folder, flattened
	})
}

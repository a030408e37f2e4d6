package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limits for a server that answers short bodies (a metrics scrape is some
// kilobytes). The launcher probes with a 5 s timeout, so nothing here needs to
// wait longer.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 5 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 8 << 10
)

// Server serves health (any path: 200 "OK") and readiness ([ReadyPath]: 200
// "OK" while ready() returns nil, else 503 "Not ready: " and what it returned)
// on a listener bound by
// [Listen]. All its methods are safe for concurrent use. It owns exactly one
// goroutine, started by [Server.Start] and awaited by [Server.Shutdown].
type Server struct {
	host string
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when the serve goroutine has returned, or at Shutdown if it never started

	mu       sync.Mutex
	started  bool
	stopped  bool
	serveErr error // why Serve returned, if not because of Shutdown
}

// Listen binds host:port now, so that the real port (see [Server.Port]) is
// known before anything else starts; port 0 asks the OS for a free one.
// Nothing is served until [Server.Start]. ready is called on every request to
// [ReadyPath], from the server's connection goroutines, so it must be safe
// for concurrent use and must not block; it returns nil when ready, else what
// is missing (the 503's body names it). A nil ready means never ready.
// A bind error names the address. The caller must call [Server.Shutdown] to
// release the port, whether or not it starts the server.
func Listen(host string, port int, ready func() error) (*Server, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to start health check server on %s: %w", addr, err)
	}
	return &Server{
		host: host,
		ln:   ln,
		srv: &http.Server{
			Handler:           handler{ready: ready},
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
		},
		done: make(chan struct{}),
	}, nil
}

// Host returns the host as given to [Listen], which is what the start-up
// line prints (the Python runner prints its setting, not the resolved
// address).
func (s *Server) Host() string {
	return s.host
}

// Port returns the port actually bound, which differs from the one given to
// [Listen] when that was 0.
func (s *Server) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

// ServeMetrics makes [MetricsPath] answer with h (Prometheus metrics). Call it before
// [Server.Start]; later calls do nothing.
func (s *Server) ServeMetrics(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	hd := s.srv.Handler.(handler) //nolint:forcetypeassert // Listen sets it
	hd.metrics = h
	s.srv.Handler = hd
}

// Start begins serving in a goroutine owned by s and returns at once. Calls
// after the first, and calls after [Server.Shutdown], do nothing.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	go s.serve()
}

func (s *Server) serve() {
	defer close(s.done)
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return
	}
	s.mu.Lock()
	s.serveErr = err
	s.mu.Unlock()
}

// Shutdown stops accepting connections, lets requests in flight finish
// while ctx allows, then closes whatever is left and waits for the serve
// goroutine. It returns ctx's error, wrapped, when it had to cut requests
// short, and the error that stopped serving early, if any. It releases the
// port even if [Server.Start] was never called. A second Shutdown does no
// work; it waits, as long as its ctx allows, for the first to finish, and
// returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		select {
		case <-s.done:
		case <-ctx.Done():
		}
		return nil
	}
	s.stopped = true
	started := s.started
	s.mu.Unlock()

	if !started {
		defer close(s.done)
		if err := s.ln.Close(); err != nil {
			return fmt.Errorf("failed to close health check server listener: %w", err)
		}
		return nil
	}

	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("failed to shut down health check server gracefully: %w", err))
		// Close cuts the remaining connections, so the wait below is short.
		if err := s.srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("failed to close health check server: %w", err))
		}
	}
	<-s.done // bounded: Serve returns once its listener is closed

	s.mu.Lock()
	if s.serveErr != nil {
		errs = append(errs, fmt.Errorf("health check server stopped serving: %w", s.serveErr))
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

package fsm

import (
	"errors"
	"fmt"
	"time"
)

// ErrAuthFailed is what Run's error matches after the machine reached AuthFailed: the broker
// refused credentials runwire cannot renew. The error also wraps the transport's reason.
var ErrAuthFailed = errors.New("authentication failed")

// ErrAlreadyRun is returned by a second call to Run: a Machine runs once.
var ErrAlreadyRun = errors.New("fsm: Run was already called on this machine")

// NoIdleTimeoutHandlerError is returned by Run, before any dial, when an idle timeout is
// configured but nothing would act on it.
type NoIdleTimeoutHandlerError struct {
	Timeout time.Duration
}

func (e *NoIdleTimeoutHandlerError) Error() string {
	return fmt.Sprintf("idle timeout is configured (%s, N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT) but no handler is set: set Options.OnIdle", e.Timeout)
}

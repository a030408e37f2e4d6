package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (with errors.Is) by every parse and validation error
// Load returns, so a caller can tell "the operator must fix the configuration"
// from other failures without reading messages.
var ErrInvalid = errors.New("invalid configuration")

// problem is one configuration mistake. Its message reads on its own as one
// line of a report, so it deliberately does not repeat "invalid configuration"
// on every line when several are joined; errors.Is still finds ErrInvalid.
type problem struct {
	msg   string
	cause error
}

func (p *problem) Error() string { return p.msg }

// Is makes every problem match ErrInvalid.
func (p *problem) Is(target error) bool { return target == ErrInvalid }

// Unwrap keeps the underlying cause (an *fs.PathError, say) reachable.
func (p *problem) Unwrap() error { return p.cause }

func invalidf(format string, a ...any) error {
	return &problem{msg: fmt.Sprintf(format, a...)}
}

// invalidCause records cause for errors.Is/As; the message must already
// describe it, because Error does not append it.
func invalidCause(cause error, format string, a ...any) error {
	return &problem{msg: fmt.Sprintf(format, a...), cause: cause}
}

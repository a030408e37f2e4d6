package python

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
)

// writeTaskFrame writes the task frame without re-encoding the settings, which may be
// hundreds of MB: they go out as the broker sent them (transport.Decode has checked that they
// are valid JSON), in one writev with the rest, and are neither copied nor scanned again.
func writeTaskFrame(w io.Writer, f taskFrame) error {
	head, err := json.Marshal(struct {
		Type         string `json:"type"`
		TaskID       string `json:"taskId"`
		SkipAnalysis bool   `json:"skipAnalysis"`
	}{f.Type, f.TaskID, f.SkipAnalysis})
	if err != nil {
		return fmt.Errorf("failed to encode a frame for the child: %w", err)
	}
	head = append(head[:len(head)-1], `,"settings":`...)
	n := len(head) + len(f.Settings) + 1
	if n > math.MaxUint32 {
		return fmt.Errorf("the task's settings are too large for a child frame (%d bytes)", len(f.Settings))
	}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(n)) //nolint:gosec // checked above
	bufs := net.Buffers{size[:], head, f.Settings, []byte("}")}
	_, err = bufs.WriteTo(w)
	return err
}

// printFrameMax bounds a print frame: PRINT_MAX (python/runtime/printing.py, 256 KiB) of
// text, each byte of which JSON may write as six, and room for the frame around it. A child
// that keeps to the protocol never comes near it.
const printFrameMax = 6*(256<<10) + 4096

// printHead is how every print frame starts (frames.encode keeps the key order).
var printHead = []byte(`{"type":"print"`)

// frameTooBigError is a frame refused by its length alone, before it is read: over
// N8N_RUNNERS_MAX_PAYLOAD, or a print frame over printFrameMax.
type frameTooBigError struct {
	size, limit int64
	print       bool
}

func (e *frameTooBigError) Error() string {
	if e.print {
		return fmt.Sprintf("child sent a print frame of %d bytes, over the cap of %d", e.size, e.limit)
	}
	return fmt.Sprintf("child sent a frame of %d bytes, over the limit of %d (N8N_RUNNERS_MAX_PAYLOAD)", e.size, e.limit)
}

// readFrame reads one frame of at most limit bytes, and a print frame of at most
// printFrameMax: runwire holds one frame of a task's output at a time, and never more than
// the broker would accept or the child's caps allow. A bigger frame is refused from its
// length (and, for print, its first bytes) with a *frameTooBigError, before its body is read.
func readFrame(r io.Reader, limit int64) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(head[:]))
	if n == 0 {
		return nil, errors.New("child sent an empty frame")
	}
	if n > limit {
		return nil, &frameTooBigError{size: n, limit: limit}
	}
	body := make([]byte, 0, min(n, int64(len(printHead))))
	if n > printFrameMax {
		body = body[:len(printHead)]
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		if bytes.Equal(body, printHead) {
			return nil, &frameTooBigError{size: n, limit: printFrameMax, print: true}
		}
	}
	full := make([]byte, n)
	copy(full, body)
	if _, err := io.ReadFull(r, full[len(body):]); err != nil {
		return nil, err
	}
	return full, nil
}

// resultHead is how a result frame starts (python/runtime/results.py).
var resultHead = []byte(`{"type":"result","result":`)

// resultOf finds the result in a result frame without copying it: the frame is the result
// between resultHead and "}". ok is false for any other shape, which then takes the general
// decode.
func resultOf(body []byte) (result json.RawMessage, ok bool) {
	if !bytes.HasPrefix(body, resultHead) || body[len(body)-1] != '}' {
		return nil, false
	}
	result = body[len(resultHead) : len(body)-1]
	return result, json.Valid(result)
}

// childFrame is any frame a child sends; Type says which fields are set.
type childFrame struct {
	Type        string          `json:"type"`
	PID         int             `json:"pid"`
	Token       string          `json:"token"`
	OK          bool            `json:"ok"`
	Args        []string        `json:"args"`
	Result      json.RawMessage `json:"result"`
	Message     string          `json:"message"`
	Description *string         `json:"description"`
	Fatal       bool            `json:"fatal"`
	Walls       helloWalls      `json:"walls"`
	Modules     []importNote    `json:"modules"` // an imports frame's
}

// helloWalls is what a child reports in its hello that it applied to itself.
type helloWalls struct {
	Seccomp       int               `json:"seccomp"`       // rules installed, 0 = none
	Landlock      int               `json:"landlock"`      // the ABI its Landlock domain was made with, 0 = none
	LandlockRules int               `json:"landlockRules"` // the rules in it
	LandlockError string            `json:"landlockError"` // why it has none, where it tried
	IdentityError string            `json:"identityError"` // why it could not drop its identity
	Namespaces    map[string]string `json:"namespaces"`    // /proc/self/ns links, as it sees them
	// Task is how the task's descendants are bounded: "namespaces" (PID, IPC and mount
	// namespaces of its own; its init ends them all) or "subreaper".
	Task string `json:"task"`
	// Proc is the options of the procfs of its own PID namespace mounted on its /proc ("":
	// none, ProcError says why), where it has namespaces.
	Proc      string `json:"proc"`
	ProcError string `json:"procError"`
}

// taskFrame is the one frame runwire sends a child.
type taskFrame struct {
	Type         string          `json:"type"`
	TaskID       string          `json:"taskId"`
	Settings     json.RawMessage `json:"settings"`
	SkipAnalysis bool            `json:"skipAnalysis"`
}

package python

import (
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

// readFrame reads one frame of at most limit bytes.
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
		return nil, fmt.Errorf("child sent a frame of %d bytes, over the limit of %d (N8N_RUNNERS_MAX_PAYLOAD)", n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
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
}

// helloWalls is what a child reports in its hello that it applied to itself.
type helloWalls struct {
	Seccomp int `json:"seccomp"` // rules installed, 0 = none
}

// taskFrame is the one frame runwire sends a child.
type taskFrame struct {
	Type         string          `json:"type"`
	TaskID       string          `json:"taskId"`
	Settings     json.RawMessage `json:"settings"`
	SkipAnalysis bool            `json:"skipAnalysis"`
}

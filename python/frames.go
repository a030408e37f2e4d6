package python

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// writeFrame writes v as one frame: a 4-byte big-endian length, then the JSON.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("failed to encode a frame for the child: %w", err)
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body))) //nolint:gosec // bounded by maxFrame in practice
	copy(buf[4:], body)
	_, err = w.Write(buf)
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

package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnknownType marks a broker frame whose "type" is missing, not a string, or not one of
// the broker messages this package knows. n8n adds messages over time, so a runner should
// log and skip such a frame, not drop the connection.
var ErrUnknownType = errors.New("unknown broker message type")

// ErrMalformed marks a broker frame that is not a JSON object, or whose fields have the
// wrong JSON types, or that lacks a required field (or has it empty).
var ErrMalformed = errors.New("malformed broker message")

// ErrInvalidPayload marks a runner message Encode refuses: one of its raw JSON payloads is
// not valid JSON or not of the shape n8n expects (an array, an object).
var ErrInvalidPayload = errors.New("invalid runner message payload")

// DecodeError is the error Decode returns, as a *DecodeError. It wraps ErrUnknownType or
// ErrMalformed (Unwrap returns exactly that sentinel), and its text names the message type,
// the field and what is wrong with it, never the field's value: frames carry user code,
// workflow data and credentials.
type DecodeError struct {
	// Type is the frame's message type. It is "" when the frame has no readable type, and,
	// for an unknown type, unless the value looks like a message type (lowercase
	// "prefix:name"), so that logging it cannot leak content.
	Type string
	// Field is the JSON field at fault, "" when the fault is the frame as a whole.
	Field string
	// Problem says what is wrong, e.g. "is missing", "is not a string".
	Problem string
	// Err is ErrUnknownType or ErrMalformed.
	Err error
}

// Error reads as a sentence, e.g.
// `malformed broker message: broker:taskofferaccept field "offerId" is missing`.
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("undecodable broker message")
	}
	b.WriteString(": ")
	switch {
	case e.Field != "":
		if e.Type != "" {
			b.WriteString(e.Type)
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "field %q", e.Field)
	case e.Type != "":
		fmt.Fprintf(&b, "%q", e.Type)
	default:
		b.WriteString("frame")
	}
	b.WriteByte(' ')
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns ErrUnknownType or ErrMalformed.
func (e *DecodeError) Unwrap() error { return e.Err }

// Problems reported in DecodeError.Problem.
const (
	problemInvalidJSON = "is not valid JSON"
	problemNotObject   = "is not a JSON object"
	problemMissing     = "is missing"
	problemNull        = "is null"
	problemNotString   = "is not a string"
	problemEmpty       = "is empty"
	problemUnknown     = "is not one runwire knows"
	problemUnknownVal  = "holds a type runwire does not know"
)

func malformed(typ, field, problem string) *DecodeError {
	return &DecodeError{Type: typ, Field: field, Problem: problem, Err: ErrMalformed}
}

// fieldState records what a frame held for a string field, so that missing, null, a
// non-string and an empty string can each be reported.
type fieldState uint8

const (
	fieldAbsent fieldState = iota
	fieldNull
	fieldString
	fieldOther
)

// wireString decodes a string field without ever failing, remembering what it saw.
type wireString struct {
	s     string
	state fieldState
}

// UnmarshalJSON implements json.Unmarshaler; b is one complete, valid JSON value.
func (f *wireString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		f.state = fieldOther
	case b[0] == 'n':
		f.state = fieldNull
	case b[0] == '"':
		f.state = fieldString
		// Ids and types never hold escapes, so skip the second decode for them.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			f.s = string(inner)
			return nil
		}
		return json.Unmarshal(b, &f.s)
	default:
		f.state = fieldOther
	}
	return nil
}

// check reports what is wrong with the field named name of a typ message, or nil.
func (f *wireString) check(typ, name string, required bool) *DecodeError {
	switch f.state {
	case fieldAbsent:
		if required {
			return malformed(typ, name, problemMissing)
		}
	case fieldNull:
		if required {
			return malformed(typ, name, problemNull)
		}
	case fieldOther:
		return malformed(typ, name, problemNotString)
	case fieldString:
		if required && f.s == "" {
			return malformed(typ, name, problemEmpty)
		}
	}
	return nil
}

// brokerFrame is every field of every broker message. Field names do not clash across
// messages, so one json.Unmarshal decodes any frame; Decode then checks the fields its type
// needs. Unknown fields are ignored.
type brokerFrame struct {
	Type      wireString      `json:"type"`
	TaskID    wireString      `json:"taskId"`
	OfferID   wireString      `json:"offerId"`
	Reason    wireString      `json:"reason"`
	CallID    wireString      `json:"callId"`
	Status    wireString      `json:"status"`
	RequestID wireString      `json:"requestId"`
	Settings  json.RawMessage `json:"settings"`
	Data      json.RawMessage `json:"data"`
	NodeTypes json.RawMessage `json:"nodeTypes"`
}

// Decode parses one frame from the broker into a broker message value, e.g.
// TaskSettings{...}. Raw payloads (settings, data, nodeTypes) are copied byte for byte, so
// the result does not alias data.
//
// Unknown fields are ignored. A null required field is malformed like a missing one; a null
// optional field is ignored. Keys match case-insensitively (encoding/json's rule); n8n
// always sends them in camelCase. Status values other than "success" and "error" and the
// contents of raw payloads (other than settings being an object) are passed through.
//
// Every error is a *DecodeError matching ErrUnknownType or ErrMalformed.
func Decode(data []byte) (BrokerMessage, error) {
	if first(data) != '{' {
		if json.Valid(data) {
			return nil, malformed("", "", problemNotObject)
		}
		return nil, malformed("", "", problemInvalidJSON)
	}
	var f brokerFrame
	if err := json.Unmarshal(data, &f); err != nil {
		// Only a syntax error is possible here: no field of brokerFrame can mismatch. The
		// decoder's own text quotes input, so it is not kept.
		return nil, malformed("", "", problemInvalidJSON)
	}
	switch f.Type.state {
	case fieldAbsent, fieldNull:
		return nil, &DecodeError{Field: "type", Problem: problemMissing, Err: ErrUnknownType}
	case fieldOther:
		return nil, &DecodeError{Field: "type", Problem: problemNotString, Err: ErrUnknownType}
	}

	typ := f.Type.s
	switch typ {
	case TypeInfoRequest:
		return InfoRequest{}, nil
	case TypeRunnerRegistered:
		return RunnerRegistered{}, nil
	case TypeDrain:
		return Drain{}, nil
	case TypeTaskOfferAccept:
		if err := checkAll(typ, required{&f.TaskID, "taskId"}, required{&f.OfferID, "offerId"}); err != nil {
			return nil, err
		}
		return TaskOfferAccept{TaskID: f.TaskID.s, OfferID: f.OfferID.s}, nil
	case TypeTaskSettings:
		if err := f.TaskID.check(typ, "taskId", true); err != nil {
			return nil, err
		}
		switch {
		case f.Settings == nil:
			return nil, malformed(typ, "settings", problemMissing)
		case first(f.Settings) != '{':
			return nil, malformed(typ, "settings", problemNotObject)
		}
		return TaskSettings{TaskID: f.TaskID.s, Settings: f.Settings}, nil
	case TypeTaskCancel:
		if err := f.TaskID.check(typ, "taskId", true); err != nil {
			return nil, err
		}
		if err := f.Reason.check(typ, "reason", false); err != nil {
			return nil, err
		}
		return TaskCancel{TaskID: f.TaskID.s, Reason: f.Reason.s}, nil
	case TypeRPCResponse:
		if err := checkAll(typ, required{&f.CallID, "callId"}, required{&f.TaskID, "taskId"}, required{&f.Status, "status"}); err != nil {
			return nil, err
		}
		return RPCResponse{CallID: f.CallID.s, TaskID: f.TaskID.s, Status: f.Status.s, Data: f.Data}, nil
	case TypeTaskDataResponse:
		if err := checkAll(typ, required{&f.TaskID, "taskId"}, required{&f.RequestID, "requestId"}); err != nil {
			return nil, err
		}
		return TaskDataResponse{TaskID: f.TaskID.s, RequestID: f.RequestID.s, Data: f.Data}, nil
	case TypeNodeTypes:
		if err := checkAll(typ, required{&f.TaskID, "taskId"}, required{&f.RequestID, "requestId"}); err != nil {
			return nil, err
		}
		return NodeTypes{TaskID: f.TaskID.s, RequestID: f.RequestID.s, NodeTypes: f.NodeTypes}, nil
	}
	switch {
	case looksLikeType(typ):
		return nil, &DecodeError{Type: typ, Problem: problemUnknown, Err: ErrUnknownType}
	case typ == "":
		return nil, &DecodeError{Field: "type", Problem: problemEmpty, Err: ErrUnknownType}
	default:
		return nil, &DecodeError{Field: "type", Problem: problemUnknownVal, Err: ErrUnknownType}
	}
}

// required names a required string field of a frame.
type required struct {
	f    *wireString
	name string
}

// checkAll checks required string fields in order and reports the first fault.
func checkAll(typ string, fields ...required) *DecodeError {
	for _, r := range fields {
		if err := r.f.check(typ, r.name, true); err != nil {
			return err
		}
	}
	return nil
}

// looksLikeType reports whether s has the shape of a message type ("broker:drain"), which
// is the only kind of unknown type value an error may repeat.
func looksLikeType(s string) bool {
	prefix, name, ok := strings.Cut(s, ":")
	return ok && len(prefix) <= 16 && len(name) <= 32 && isLower(prefix) && isLower(name)
}

func isLower(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// first returns the first byte of b that is not JSON whitespace, or 0.
func first(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// Encode renders a runner message as one JSON object with "type" first, then the fields in
// n8n's order. Raw payloads are copied byte for byte (not re-indented, not HTML-escaped);
// strings are escaped as JSON requires, with invalid UTF-8 replaced by U+FFFD.
//
// m must be one of this package's runner message values; a pointer to one is rejected. The
// only other error is a raw payload that is not valid JSON or not of the shape n8n expects,
// which matches ErrInvalidPayload and names the type and field, not the content.
func Encode(m RunnerMessage) ([]byte, error) {
	switch m := m.(type) {
	case RunnerInfo:
		b := begin(TypeRunnerInfo, len(m.Name)+16*len(m.Types))
		b = appendString(b, "name", m.Name)
		b = appendKey(b, "types")
		b = append(b, '[')
		for i, t := range m.Types {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		return append(b, ']', '}'), nil
	case TaskOffer:
		b := begin(TypeTaskOffer, len(m.OfferID)+len(m.TaskType)+16)
		b = appendString(b, "offerId", m.OfferID)
		b = appendString(b, "taskType", m.TaskType)
		b = appendKey(b, "validFor")
		b = strconv.AppendInt(b, int64(m.ValidFor), 10)
		return append(b, '}'), nil
	case TaskAccepted:
		b := begin(TypeTaskAccepted, len(m.TaskID))
		b = appendString(b, "taskId", m.TaskID)
		return append(b, '}'), nil
	case TaskRejected:
		b := begin(TypeTaskRejected, len(m.TaskID)+len(m.Reason))
		b = appendString(b, "taskId", m.TaskID)
		b = appendString(b, "reason", m.Reason)
		return append(b, '}'), nil
	case TaskDeferred:
		b := begin(TypeTaskDeferred, len(m.TaskID))
		b = appendString(b, "taskId", m.TaskID)
		return append(b, '}'), nil
	case TaskDone:
		return encodeTaskDone(m)
	case TaskError:
		d := m.Error
		b := begin(TypeTaskError, len(m.TaskID)+len(d.Message)+len(d.Stack)+64)
		b = appendString(b, "taskId", m.TaskID)
		b = append(b, `,"error":{"message":`...)
		b = appendJSONString(b, d.Message)
		if d.Description != nil {
			b = appendString(b, "description", *d.Description)
		}
		if d.Stack != "" {
			b = appendString(b, "stack", d.Stack)
		}
		return append(b, '}', '}'), nil
	case RPC:
		if err := checkRaw(TypeRPC, "params", m.Params, '['); err != nil {
			return nil, err
		}
		b := begin(TypeRPC, len(m.CallID)+len(m.TaskID)+len(m.Name)+len(m.Params))
		b = appendString(b, "callId", m.CallID)
		b = appendString(b, "taskId", m.TaskID)
		b = appendString(b, "name", m.Name)
		b = appendRaw(b, "params", m.Params, "[]")
		return append(b, '}'), nil
	case TaskDataRequest:
		if len(m.RequestParams) == 0 {
			return nil, fmt.Errorf("%w: %s field %q is missing", ErrInvalidPayload, TypeTaskDataRequest, "requestParams")
		}
		if err := checkRaw(TypeTaskDataRequest, "requestParams", m.RequestParams, '{'); err != nil {
			return nil, err
		}
		b := begin(TypeTaskDataRequest, len(m.TaskID)+len(m.RequestID)+len(m.RequestParams))
		b = appendString(b, "taskId", m.TaskID)
		b = appendString(b, "requestId", m.RequestID)
		b = appendRaw(b, "requestParams", m.RequestParams, "")
		return append(b, '}'), nil
	case NodeTypesRequest:
		if err := checkRaw(TypeNodeTypesRequest, "requestParams", m.RequestParams, '['); err != nil {
			return nil, err
		}
		b := begin(TypeNodeTypesRequest, len(m.TaskID)+len(m.RequestID)+len(m.RequestParams))
		b = appendString(b, "taskId", m.TaskID)
		b = appendString(b, "requestId", m.RequestID)
		b = appendRaw(b, "requestParams", m.RequestParams, "[]")
		return append(b, '}'), nil
	case nil:
		return nil, errors.New("cannot encode a nil runner message")
	}
	return nil, fmt.Errorf("cannot encode %T: not a runner message value of package transport (pass values, not pointers)", m)
}

func encodeTaskDone(m TaskDone) ([]byte, error) {
	head, tail, err := taskDoneParts(m)
	if err != nil {
		return nil, err
	}
	result := m.Data.Result
	if len(result) == 0 {
		result = json.RawMessage("null")
	}
	b := make([]byte, 0, len(head)+len(result)+len(tail))
	return append(append(append(b, head...), result...), tail...), nil
}

// taskDoneParts is runner:taskdone without its result: what comes before it and after it.
// Send writes a big result between them as it is, without copying it into one frame.
func taskDoneParts(m TaskDone) (head, tail []byte, err error) {
	d := m.Data
	if err := checkRaw(TypeTaskDone, "data.result", d.Result, 0); err != nil {
		return nil, nil, err
	}
	if err := checkRaw(TypeTaskDone, "data.staticData", d.StaticData, '{'); err != nil {
		return nil, nil, err
	}
	head = begin(TypeTaskDone, len(m.TaskID)+32)
	head = appendString(head, "taskId", m.TaskID)
	head = append(head, `,"data":{"result":`...)
	tail = make([]byte, 0, len(d.StaticData)+32*len(d.CustomData)+16)
	if len(d.CustomData) > 0 {
		tail = appendKey(tail, "customData")
		tail = append(tail, '{')
		for i, k := range slices.Sorted(maps.Keys(d.CustomData)) {
			if i > 0 {
				tail = append(tail, ',')
			}
			tail = appendJSONString(tail, k)
			tail = append(tail, ':')
			tail = appendJSONString(tail, d.CustomData[k])
		}
		tail = append(tail, '}')
	}
	if len(d.StaticData) > 0 {
		tail = appendRaw(tail, "staticData", d.StaticData, "")
	}
	return head, append(tail, '}', '}'), nil
}

// checkRaw validates a non-empty raw payload: valid JSON and, unless shape is 0, starting
// with shape ('[' or '{'). Empty payloads are the caller's business.
func checkRaw(typ, field string, raw json.RawMessage, shape byte) error {
	if len(raw) == 0 {
		return nil
	}
	if !json.Valid(raw) {
		return fmt.Errorf("%w: %s field %q is not valid JSON", ErrInvalidPayload, typ, field)
	}
	if shape != 0 && first(raw) != shape {
		what := "object"
		if shape == '[' {
			what = "array"
		}
		return fmt.Errorf("%w: %s field %q is not a JSON %s", ErrInvalidPayload, typ, field, what)
	}
	return nil
}

// begin starts a frame with its "type", sized for extra more bytes.
func begin(typ string, extra int) []byte {
	b := make([]byte, 0, len(typ)+extra+48)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	return append(b, '"')
}

func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendString(b []byte, key, v string) []byte {
	return appendJSONString(appendKey(b, key), v)
}

// appendRaw appends a validated raw payload, or empty when raw is empty.
func appendRaw(b []byte, key string, raw json.RawMessage, empty string) []byte {
	b = appendKey(b, key)
	if len(raw) == 0 {
		return append(b, empty...)
	}
	return append(b, raw...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Unlike encoding/json it does not escape <, >
// and &, which n8n does not need; like it, it escapes U+2028 and U+2029 and replaces
// invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// decodeSeeds are one valid frame of every broker message type, as n8n sends them, valid
// frames with odd corners, and broken frames.
var decodeSeeds = []struct {
	frame string
	valid bool
}{
	{`{"type":"broker:inforequest"}`, true},
	{`{"type":"broker:runnerregistered"}`, true},
	{`{"type":"broker:taskofferaccept","taskId":"GbcoRoAs","offerId":"V1StGXR8Z5jdHi6BmyT2ab"}`, true},
	{`{"type":"broker:tasksettings","taskId":"GbcoRoAs","settings":{"code":"return [{\"json\": {\"py\": 1 + 2}}]","nodeMode":"runOnceForAllItems","workflowMode":"webhook","continueOnFail":false,"items":[{"json":{"body":{"n":7}},"pairedItem":{"item":0}}],"nodeId":"e5f8","nodeName":"Code","workflowId":"VZpm","workflowName":"demo (python)"}}`, true},
	{`{"type":"broker:taskcancel","taskId":"GbcoRoAs","reason":"Task execution timed out"}`, true},
	{`{"type":"broker:rpcresponse","callId":"c1","taskId":"GbcoRoAs","status":"success"}`, true},
	{`{"type":"broker:rpcresponse","callId":"c1","taskId":"GbcoRoAs","status":"error","data":"Method not allowed"}`, true},
	{`{"type":"broker:taskdataresponse","taskId":"GbcoRoAs","requestId":"r1","data":{"workflow":{}}}`, true},
	{`{"type":"broker:nodetypes","taskId":"GbcoRoAs","requestId":"r1","nodeTypes":[]}`, true},
	{`{"type":"broker:drain"}`, true},
	{`{"type":"broker:taskcancel","taskId":"t","reason":null,"TASKID":"u"}`, true},
	{`{"type":"broker:taskofferaccept","taskId":"\ud800","offerId":"\u00e9\"x"}`, true},
	{``, false},
	{`null`, false},
	{`[]`, false},
	{`"broker:drain"`, false},
	{`{"type":`, false},
	{`{"type":42}`, false},
	{`{"type":"broker:nope"}`, false},
	{`{"taskId":"x"}`, false},
	{`{"type":"broker:taskofferaccept","taskId":7}`, false},
	{`{"type":"broker:tasksettings","taskId":"t","settings":[1]}`, false},
	{`{"type":"broker:drain"} {}`, false},
	{"\x00\xff\xfe{\"type\"", false},
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s.frame))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned both a message (%T) and an error", m)
			}
			if !errors.Is(err, ErrUnknownType) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error %q matches neither ErrUnknownType nor ErrMalformed", err)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error %q is not a *DecodeError", err)
			}
			return
		}
		if m == nil {
			t.Fatal("Decode returned neither a message nor an error")
		}
		// A decoded frame is a JSON object whose type is the message's own.
		var env struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatalf("Decode accepted a frame encoding/json rejects: %v", err)
		}
		if env.Type != m.BrokerType() {
			t.Fatalf("Decode returned %s for a frame of type %q", m.BrokerType(), env.Type)
		}
	})
}

func TestDecodeSeeds(t *testing.T) {
	for _, s := range decodeSeeds {
		if _, err := Decode([]byte(s.frame)); s.valid != (err == nil) {
			t.Errorf("seed %q: valid=%v but Decode error is %v", s.frame, s.valid, err)
		}
	}
}

// realisticSettings builds a broker:tasksettings frame like n8n 2.41 sends for a Python Code
// node with items input items.
func realisticSettings(items int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"broker:tasksettings","taskId":"GbcoRoAs","settings":{"code":"`)
	b.WriteString(`import json\nout = []\nfor item in _items:\n    j = item[\"json\"]\n    out.append({\"json\": {\"id\": j[\"id\"], \"total\": j[\"price\"] * j[\"qty\"]}})\nreturn out`)
	b.WriteString(`","nodeMode":"runOnceForAllItems","workflowMode":"webhook","continueOnFail":false,"items":[`)
	for i := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"json":{"id":%d,"name":"Customer %d","email":"customer%d@example.com","price":%d.5,"qty":%d,"tags":["a","b"],"address":{"street":"%d Main St","city":"Berlin","zip":"1011%d"}},"pairedItem":{"item":%d}}`,
			i, i, i, i%97, i%7+1, i, i%10, i)
	}
	b.WriteString(`],"nodeId":"e5f8a2c4-1b6d-4f0e-9a3b-7c2d1e0f9a8b","nodeName":"Code","workflowId":"VZpmQ3xT9kLw2R7e","workflowName":"demo (python)"}}`)
	return []byte(b.String())
}

func BenchmarkDecodeTaskSettings(b *testing.B) {
	frame := realisticSettings(100)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Decode(frame)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := m.(TaskSettings); !ok {
			b.Fatalf("decoded %T", m)
		}
	}
}

func BenchmarkEncodeTaskDone(b *testing.B) {
	var r strings.Builder
	r.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			r.WriteByte(',')
		}
		fmt.Fprintf(&r, `{"json":{"id":%d,"total":%d.5,"name":"Customer %d","ok":true},"pairedItem":{"item":%d}}`, i, i*3, i, i)
	}
	r.WriteByte(']')
	msg := TaskDone{TaskID: "GbcoRoAs", Data: TaskResultData{Result: json.RawMessage(r.String())}}
	b.SetBytes(int64(len(msg.Data.Result)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

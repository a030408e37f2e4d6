package n8n

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeFlatted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"object with a string", `[{"a":"1"},"x"]`, map[string]any{"a": "x"}},
		{"doc example", `[{"a":"1","b":"2"},"x",[3,"1"]]`, map[string]any{"a": "x", "b": []any{3.0, "x"}}},
		{"string root", `["hello"]`, "hello"},
		{"number root", `[42]`, 42.0},
		{"null root", `[null]`, nil},
		{"empty object", `[{}]`, map[string]any{}},
		{"empty string", `[{"a":"1"},""]`, map[string]any{"a": ""}},
		{"inline primitives", `[{"n":1.5,"t":true,"f":false,"z":null}]`,
			map[string]any{"n": 1.5, "t": true, "f": false, "z": nil}},
		{"array root", `[["1",2,true,null],"s"]`, []any{"s", 2.0, true, nil}},
		{"nested", `[{"a":"1","b":"2"},{"c":"3"},[],"deep"]`,
			map[string]any{"a": map[string]any{"c": "deep"}, "b": []any{}}},
		{"numeric keys are not references", `[{"1":"1"},"v"]`, map[string]any{"1": "v"}},
		{"unicode", `[{"k":"1"},"é\u0000☃"]`, map[string]any{"k": "é\x00☃"}},
		{"strings that look like numbers", `[{"a":"1"},"2",{"x":0}]`, map[string]any{"a": "2"}},
		{"n8n item", `[{"json":"1","pairedItem":"2"},{"a":1},{"item":0}]`,
			map[string]any{"json": map[string]any{"a": 1.0}, "pairedItem": map[string]any{"item": 0.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFlatted([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeFlatted(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeFlatted(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeFlattedErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"not JSON", `{"a":`, "not a JSON array"},
		{"object, not array", `{"a":"1"}`, "not a JSON array"},
		{"empty array", `[]`, "empty array"},
		{"reference not a number", `[{"a":"x"}]`, `reference "x"`},
		{"reference out of range", `[{"a":"5"},"v"]`, `reference "5" is not an index of the 2 entries`},
		{"negative reference", `[["-1"]]`, `reference "-1"`},
		{"error deep down", `[{"a":"1"},{"b":"9"}]`, `flatted: entry 0 key "a": entry 1 key "b": reference "9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFlatted([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeFlatted(%s) = %#v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecodeFlatted(%s) error %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

// TestDecodeFlattedSharing checks that an entry reached twice, or from within itself, decodes to
// one Go value, as flatted's parse gives one JavaScript object.
func TestDecodeFlattedSharing(t *testing.T) {
	t.Run("shared object", func(t *testing.T) {
		got := mustDecodeFlatted(t, `[{"a":"1","b":"1"},{"c":3}]`).(map[string]any)
		a, b := got["a"].(map[string]any), got["b"].(map[string]any)
		a["c"] = 4.0
		if b["c"] != 4.0 {
			t.Errorf("a and b are different maps; want one shared map")
		}
	})
	t.Run("object cycle", func(t *testing.T) {
		got := mustDecodeFlatted(t, `[{"self":"0","name":"1"},"root"]`).(map[string]any)
		self := got["self"].(map[string]any)
		if reflect.ValueOf(self).UnsafePointer() != reflect.ValueOf(got).UnsafePointer() {
			t.Errorf("self is not the root map")
		}
		if self["name"] != "root" {
			t.Errorf(`self["name"] = %v, want root`, self["name"])
		}
	})
	t.Run("array cycle", func(t *testing.T) {
		got := mustDecodeFlatted(t, `[["0",1]]`).([]any)
		inner := got[0].([]any)
		inner[1] = 2.0
		if got[1] != 2.0 {
			t.Errorf("the array's first element is not the array itself")
		}
	})
	t.Run("indirect cycle", func(t *testing.T) {
		got := mustDecodeFlatted(t, `[{"child":"1"},{"parent":"0"}]`).(map[string]any)
		parent := got["child"].(map[string]any)["parent"].(map[string]any)
		if reflect.ValueOf(parent).UnsafePointer() != reflect.ValueOf(got).UnsafePointer() {
			t.Errorf("child.parent is not the root map")
		}
	})
}

// TestDecodeFlattedRealExecution decodes the data of a real n8n 2.41.1 execution (a Python Code
// node that raised ValueError("boom")), in which the Code node's input source is one object
// shared by runData and executionData.
func TestDecodeFlattedRealExecution(t *testing.T) {
	got := mustDecodeFlatted(t, realErrorData).(map[string]any)
	result := got["resultData"].(map[string]any)
	if result["lastNodeExecuted"] != "Code" {
		t.Errorf("lastNodeExecuted = %v, want Code", result["lastNodeExecuted"])
	}
	errObj := result["error"].(map[string]any)
	if errObj["message"] != "boom" || errObj["name"] != "WrappedExecutionError" || errObj["description"] != "" {
		t.Errorf("resultData.error = %v, want message boom, name WrappedExecutionError, description empty", errObj)
	}
	code := result["runData"].(map[string]any)["Code"].([]any)[0].(map[string]any)
	if code["executionStatus"] != "error" || code["executionTime"] != 5.0 {
		t.Errorf("Code run = %v, want executionStatus error and executionTime 5", code)
	}
	hook := result["runData"].(map[string]any)["Webhook"].([]any)[0].(map[string]any)
	item := hook["data"].(map[string]any)["main"].([]any)[0].([]any)[0].(map[string]any)
	body := item["json"].(map[string]any)["body"]
	if !reflect.DeepEqual(body, map[string]any{"x": 21.0}) {
		t.Errorf("webhook item body = %v, want {x: 21}", body)
	}
	stack := got["executionData"].(map[string]any)["nodeExecutionStack"].([]any)
	stackSource := stack[0].(map[string]any)["source"].(map[string]any)
	runSource := code["source"].([]any)
	if !reflect.DeepEqual(runSource[0], stackSource["main"].([]any)[0]) {
		t.Errorf("Code run source %v differs from the execution stack's %v", runSource, stackSource)
	}
}

func mustDecodeFlatted(t *testing.T, text string) any {
	t.Helper()
	v, err := DecodeFlatted([]byte(text))
	if err != nil {
		t.Fatalf("DecodeFlatted(%s): %v", text, err)
	}
	return v
}

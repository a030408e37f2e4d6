package main

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// workload is one kind of task the bench drives: its settings, as n8n's Code node sends
// them, and what a correct answer looks like.
type workload struct {
	name     string
	tasks    int    // measured tasks per in-flight level
	settings []byte // broker:tasksettings.settings
	prints   int    // logNodeOutput calls each task must make
	want     any    // the decoded data.result every task must return
}

const itemCount = 1000

// printCount is how many print() calls the print-heavy task makes.
const printCount = 50

// workloads builds the four workloads with the given task counts.
func workloads(trivial, allItems, perItem, prints int) ([]workload, error) {
	items := make([]any, itemCount)
	doubled := make([]any, itemCount)
	paired := make([]any, itemCount)
	for i := range itemCount {
		items[i] = map[string]any{"json": map[string]any{"v": i}}
		doubled[i] = map[string]any{"json": map[string]any{"v": 2 * i}}
		paired[i] = map[string]any{"json": map[string]any{"v": 2 * i}, "pairedItem": map[string]any{"item": i}}
	}
	one := []any{map[string]any{"json": map[string]any{}}}
	specs := []struct {
		name  string
		tasks int
		code  string
		mode  string
		items []any
		print int
		want  any
	}{
		{"trivial", trivial, `return [{"json": {"a": 1}}]`, "runOnceForAllItems", one, 0,
			[]any{map[string]any{"json": map[string]any{"a": 1}}}},
		{"all-items ×1000", allItems, `return [{"json": {"v": i["json"]["v"] * 2}} for i in _items]`, "runOnceForAllItems", items, 0, doubled},
		{"per-item ×1000", perItem, `return {"json": {"v": _item["json"]["v"] * 2}}`, "runOnceForEachItem", items, 0, paired},
		{fmt.Sprintf("print ×%d", printCount), prints,
			fmt.Sprintf("for i in range(%d):\n    print(\"line\", i, {\"i\": i, \"s\": \"x\" * 40})\nreturn [{\"json\": {\"printed\": %d}}]", printCount, printCount),
			"runOnceForAllItems", one, printCount,
			[]any{map[string]any{"json": map[string]any{"printed": printCount}}}},
	}
	out := make([]workload, 0, len(specs))
	for _, s := range specs {
		settings, err := json.Marshal(map[string]any{
			"code":           s.code,
			"nodeMode":       s.mode,
			"workflowMode":   "manual",
			"continueOnFail": false,
			"items":          s.items,
			"workflowName":   "runwire-bench",
			"workflowId":     "bench",
			"nodeName":       "Code",
			"nodeId":         "bench-node",
			"query":          nil,
		})
		if err != nil {
			return nil, err
		}
		want, err := normalise(s.want)
		if err != nil {
			return nil, err
		}
		out = append(out, workload{name: s.name, tasks: s.tasks, settings: settings, prints: s.print, want: want})
	}
	return out, nil
}

// settingsFrame is the broker:tasksettings message for one task.
func (w workload) settingsFrame(taskID string) []byte {
	id, _ := json.Marshal(taskID)
	frame := make([]byte, 0, len(w.settings)+96)
	frame = append(frame, `{"type":"broker:tasksettings","taskId":`...)
	frame = append(frame, id...)
	frame = append(frame, `,"settings":`...)
	frame = append(frame, w.settings...)
	return append(frame, '}')
}

// check verifies one runner:taskdone message: the result must be exactly the expected one.
func (w workload) check(done []byte) error {
	var msg struct {
		Data struct {
			Result json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(done, &msg); err != nil {
		return fmt.Errorf("unreadable runner:taskdone: %w", err)
	}
	var got any
	if err := json.Unmarshal(msg.Data.Result, &got); err != nil {
		return fmt.Errorf("unreadable data.result: %w", err)
	}
	if !reflect.DeepEqual(got, w.want) {
		return fmt.Errorf("unexpected data.result: %s", truncate(string(msg.Data.Result), 300))
	}
	return nil
}

// normalise gives v the shape json.Unmarshal would give it (float64 numbers, []any, …).
func normalise(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

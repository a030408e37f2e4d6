package python

import (
	"encoding/json"
	"errors"

	"github.com/runwire/runwire/tasks"
)

// The node modes n8n's Python Code node sends.
const (
	modeAllItems = "runOnceForAllItems"
	modePerItem  = "runOnceForEachItem"
)

// settings is what runwire reads of a task's settings itself; the child reads the rest.
type settings struct {
	Code     *string         `json:"code"`
	NodeMode *string         `json:"nodeMode"`
	Items    json.RawMessage `json:"items"`
}

// checkSettings refuses settings the child cannot use, naming the field (n8n's Python runner
// drops such a message silently and leaks the task).
//
// Only code and nodeMode are decoded: items (all of n8n's input, maybe hundreds of MB) is
// found and checked to be a list, not parsed or copied (tasks.Fields).
func checkSettings(raw json.RawMessage) (settings, error) {
	var s settings
	f, err := tasks.Fields(raw, "code", "nodeMode", "items")
	if err == nil {
		err = errors.Join(unmarshalField(f[0], &s.Code), unmarshalField(f[1], &s.NodeMode))
	}
	if err != nil {
		return s, tasks.SettingsError("settings", "are not a JSON object with code, nodeMode and items")
	}
	s.Items = f[2]
	switch {
	case s.Code == nil:
		return s, tasks.SettingsError("code", "is missing")
	case s.NodeMode == nil:
		return s, tasks.SettingsError("nodeMode", "is missing")
	case *s.NodeMode != modeAllItems && *s.NodeMode != modePerItem:
		return s, tasks.SettingsError("nodeMode", "must be "+modeAllItems+" or "+modePerItem+", got "+quote(*s.NodeMode))
	case len(s.Items) == 0 || string(s.Items) == "null":
		return s, tasks.SettingsError("items", "is missing")
	case s.Items[0] != '[':
		return s, tasks.SettingsError("items", "must be a list")
	}
	return s, nil
}

// unmarshalField decodes a field Fields found; an absent one leaves v as it is.
func unmarshalField(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

package n8n

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// Node types, node names and Code node modes the builders use.
const (
	WebhookNodeType = "n8n-nodes-base.webhook"
	CodeNodeType    = "n8n-nodes-base.code"

	// WebhookNodeName and CodeNodeName name the two nodes of the builders' workflows: the keys
	// of Execution.Nodes.
	WebhookNodeName = "Webhook"
	CodeNodeName    = "Code"

	// RunOnceForAllItems runs the code once with every input item (_items in Python).
	RunOnceForAllItems = "runOnceForAllItems"
	// RunOnceForEachItem runs the code once per input item (_item in Python).
	RunOnceForEachItem = "runOnceForEachItem"

	// ContinueRegularOutput is the onError setting of n8n's "continue" on fail: a failing node
	// outputs an item {"json": {"error": message}} instead of failing the workflow.
	ContinueRegularOutput = "continueRegularOutput"
)

// Workflow is a workflow as POST /rest/workflows takes it.
type Workflow struct {
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
	// Connections maps a source node's name to its outputs: {"main": [[{"node": target,
	// "type": "main", "index": 0}]]}. Nil is sent as {}.
	Connections map[string]any `json:"connections"`
	// Settings such as executionOrder ("v1"); nil is left out.
	Settings map[string]any `json:"settings,omitempty"`
	// Active is not sent: n8n 2.41 ignores it on creation. CreateWorkflow activates a workflow
	// with Active set once n8n has stored it.
	Active bool `json:"-"`
}

// MarshalJSON writes the workflow, with {} for nil connections, which n8n requires to be an
// object.
func (w Workflow) MarshalJSON() ([]byte, error) {
	type plain Workflow // without this method
	p := plain(w)
	if p.Connections == nil {
		p.Connections = map[string]any{}
	}
	if p.Nodes == nil {
		p.Nodes = []Node{}
	}
	return json.Marshal(p)
}

// Node is one node of a workflow.
type Node struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	TypeVersion float64        `json:"typeVersion"`
	Position    [2]float64     `json:"position"`
	Parameters  map[string]any `json:"parameters"`
	// WebhookID identifies a trigger node's webhook; the editor gives every webhook node one.
	WebhookID string `json:"webhookId,omitempty"`
	// OnError is what a failure does: stopWorkflow (the default, when empty),
	// continueRegularOutput or continueErrorOutput.
	OnError string `json:"onError,omitempty"`
}

// PythonWebhookWorkflow builds a workflow whose Webhook node (POST /webhook/<path>) feeds a
// Python Code node named "Code" running code in mode (RunOnceForAllItems or
// RunOnceForEachItem), and answers the webhook with the Code node's output items (see
// Client.Webhook for the answers). With continueOnFail the Code node's errors become an item
// {"json": {"error": message}} instead of failing the workflow.
//
// The webhook's item, the Code node's input, is {"headers", "params", "query", "body",
// "webhookUrl", "executionMode"}: the posted JSON is under "body".
func PythonWebhookWorkflow(name, path, code, mode string, continueOnFail bool) Workflow {
	node := codeNode(map[string]any{
		"language":   "pythonNative",
		"mode":       mode,
		"pythonCode": code,
	})
	if continueOnFail {
		node.OnError = ContinueRegularOutput
	}
	return webhookWorkflow(name, path, node)
}

// JSWebhookWorkflow builds the same workflow as PythonWebhookWorkflow with a JavaScript Code
// node, which n8n hands to its own JavaScript task runner: to compare runwire with it.
func JSWebhookWorkflow(name, path, code, mode string) Workflow {
	return webhookWorkflow(name, path, codeNode(map[string]any{
		"language": "javaScript",
		"mode":     mode,
		"jsCode":   code,
	}))
}

// webhookWorkflow chains a Webhook node that answers with the last node's items to next.
func webhookWorkflow(name, path string, next Node) Workflow {
	hook := Node{
		ID:          newUUID(),
		Name:        WebhookNodeName,
		Type:        WebhookNodeType,
		TypeVersion: 2,
		Position:    [2]float64{0, 0},
		WebhookID:   newUUID(),
		Parameters: map[string]any{
			"httpMethod":   "POST",
			"path":         path,
			"responseMode": "lastNode",
			"responseData": "allEntries",
			"options":      map[string]any{},
		},
	}
	next.Position = [2]float64{220, 0}
	return Workflow{
		Name:        name,
		Nodes:       []Node{hook, next},
		Connections: Chain(hook.Name, next.Name),
		Settings:    map[string]any{"executionOrder": "v1"},
	}
}

// codeNode is a Code node (typeVersion 2) named CodeNodeName with parameters.
func codeNode(parameters map[string]any) Node {
	return Node{
		ID:          newUUID(),
		Name:        CodeNodeName,
		Type:        CodeNodeType,
		TypeVersion: 2,
		Parameters:  parameters,
	}
}

// Chain connects main output 0 of each named node to the input of the next one, and returns
// the connections for Workflow.Connections.
func Chain(names ...string) map[string]any {
	conns := map[string]any{}
	for i := 0; i+1 < len(names); i++ {
		conns[names[i]] = map[string]any{
			"main": []any{[]any{map[string]any{"node": names[i+1], "type": "main", "index": 0}}},
		}
	}
	return conns
}

// newUUID makes a random (version 4) UUID, as n8n's editor gives nodes and webhooks.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

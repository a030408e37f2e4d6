package transport

import "encoding/json"

// BrokerMessage is a message the broker sends to a runner. Every implementation in this
// package is a value type; [Decode] returns values (TaskOfferAccept{...}, never
// *TaskOfferAccept), so callers type-switch on the plain type names.
type BrokerMessage interface {
	// BrokerType is the message's wire "type", e.g. "broker:tasksettings".
	BrokerType() string
}

// RunnerMessage is a message a runner sends to the broker. [Encode] takes these as values,
// exactly like [Decode] returns broker messages; a pointer to one of them is rejected.
type RunnerMessage interface {
	// RunnerType is the message's wire "type", e.g. "runner:taskdone".
	RunnerType() string
}

// Wire "type" discriminators, exactly as n8n's task broker spells them
// (packages/@n8n/task-runner/src/message-types.ts).
const (
	TypeInfoRequest      = "broker:inforequest"
	TypeRunnerRegistered = "broker:runnerregistered"
	TypeTaskOfferAccept  = "broker:taskofferaccept"
	TypeTaskSettings     = "broker:tasksettings"
	TypeTaskCancel       = "broker:taskcancel"
	TypeRPCResponse      = "broker:rpcresponse"
	TypeTaskDataResponse = "broker:taskdataresponse"
	TypeNodeTypes        = "broker:nodetypes"
	TypeDrain            = "broker:drain"

	TypeRunnerInfo       = "runner:info"
	TypeTaskOffer        = "runner:taskoffer"
	TypeTaskAccepted     = "runner:taskaccepted"
	TypeTaskRejected     = "runner:taskrejected"
	TypeTaskDeferred     = "runner:taskdeferred"
	TypeTaskDone         = "runner:taskdone"
	TypeTaskError        = "runner:taskerror"
	TypeRPC              = "runner:rpc"
	TypeTaskDataRequest  = "runner:taskdatarequest"
	TypeNodeTypesRequest = "runner:nodetypesrequest"
)

// RPC response statuses n8n sends in [RPCResponse.Status]. Decode passes any other non-empty
// value through; treat anything but RPCStatusSuccess as a failure.
const (
	RPCStatusSuccess = "success"
	RPCStatusError   = "error"
)

// ---- broker → runner ----

// InfoRequest asks a freshly connected runner to identify itself with [RunnerInfo]. The
// broker sends it once, right after it has accepted the connection.
type InfoRequest struct{}

// RunnerRegistered confirms the runner's [RunnerInfo]; only from then on does the broker act
// on offers.
type RunnerRegistered struct{}

// TaskOfferAccept matches one of the runner's open offers to a task. The runner must answer
// with [TaskAccepted], [TaskRejected] or [TaskDeferred] within the broker's accept timeout
// (2 s by default).
type TaskOfferAccept struct {
	TaskID  string // taskId, required
	OfferID string // offerId, required
}

// TaskSettings carries what to run for an accepted task.
type TaskSettings struct {
	TaskID string // taskId, required
	// Settings is the settings object exactly as the broker sent it (opaque to the broker;
	// for a Python task it holds code, nodeMode, items, ...). Always a JSON object.
	Settings json.RawMessage
}

// TaskCancel tells the runner to drop or abort a task. The broker has already forgotten the
// task, so nothing the runner sends about it afterwards is used.
type TaskCancel struct {
	TaskID string // taskId, required
	Reason string // reason, optional (n8n always sends one, e.g. "Task execution timed out")
}

// RPCResponse answers a runner's [RPC].
type RPCResponse struct {
	CallID string // callId, required
	TaskID string // taskId, required
	Status string // status, required: RPCStatusSuccess or RPCStatusError
	// Data is the returned value or error as sent; nil when the broker omitted it (it does
	// for a helper that returns undefined, such as logNodeOutput).
	Data json.RawMessage
}

// TaskDataResponse answers a [TaskDataRequest].
type TaskDataResponse struct {
	TaskID    string          // taskId, required
	RequestID string          // requestId, required
	Data      json.RawMessage // data as sent; nil when absent
}

// NodeTypes answers a [NodeTypesRequest].
type NodeTypes struct {
	TaskID    string          // taskId, required
	RequestID string          // requestId, required
	NodeTypes json.RawMessage // nodeTypes as sent (an array of node type descriptions); nil when absent
}

// Drain announces that the broker is shutting down: stop offering, reject further accepts and
// let running tasks finish before the broker closes the connection with 1001.
type Drain struct{}

// BrokerType implements BrokerMessage.
func (InfoRequest) BrokerType() string { return TypeInfoRequest }

// BrokerType implements BrokerMessage.
func (RunnerRegistered) BrokerType() string { return TypeRunnerRegistered }

// BrokerType implements BrokerMessage.
func (TaskOfferAccept) BrokerType() string { return TypeTaskOfferAccept }

// BrokerType implements BrokerMessage.
func (TaskSettings) BrokerType() string { return TypeTaskSettings }

// BrokerType implements BrokerMessage.
func (TaskCancel) BrokerType() string { return TypeTaskCancel }

// BrokerType implements BrokerMessage.
func (RPCResponse) BrokerType() string { return TypeRPCResponse }

// BrokerType implements BrokerMessage.
func (TaskDataResponse) BrokerType() string { return TypeTaskDataResponse }

// BrokerType implements BrokerMessage.
func (NodeTypes) BrokerType() string { return TypeNodeTypes }

// BrokerType implements BrokerMessage.
func (Drain) BrokerType() string { return TypeDrain }

// ---- runner → broker ----

// RunnerInfo identifies the runner in reply to [InfoRequest]. Types are the task types it
// runs, e.g. ["python"]; nil encodes as [].
type RunnerInfo struct {
	Name  string
	Types []string
}

// TaskOffer offers one task slot of TaskType to the broker for ValidFor milliseconds
// (-1: the offer never expires, which n8n's launcher uses).
type TaskOffer struct {
	OfferID  string
	TaskType string
	ValidFor int
}

// TaskAccepted takes the task offered in [TaskOfferAccept].
type TaskAccepted struct {
	TaskID string
}

// TaskRejected declines the task offered in [TaskOfferAccept]; the broker matches it to
// another offer.
type TaskRejected struct {
	TaskID string
	Reason string
}

// TaskDeferred asks the broker to hold the task offered in [TaskOfferAccept] until a real
// runner registers; only a launcher sends it.
type TaskDeferred struct {
	TaskID string
}

// TaskDone reports a finished task and its result.
type TaskDone struct {
	TaskID string
	Data   TaskResultData
}

// TaskResultData is runner:taskdone's data: {"result": ..., "customData"?: ..., "staticData"?: ...}.
type TaskResultData struct {
	// Result is the task's raw output, not yet validated by n8n. Always encoded; nil or
	// empty encodes as null.
	Result json.RawMessage
	// CustomData becomes $execution.customData; omitted when empty.
	CustomData map[string]string
	// StaticData replaces the workflow's static data; a JSON object, omitted when empty.
	StaticData json.RawMessage
}

// TaskError reports a failed task.
type TaskError struct {
	TaskID string
	Error  TaskErrorDetail
}

// TaskErrorDetail is runner:taskerror's error object. n8n shows Message, copies every other
// property onto the error it raises, and so shows Description in the UI.
type TaskErrorDetail struct {
	Message string
	// Description is encoded only when non-nil: n8n's Python runner sends "" for some
	// errors (timeouts, exits) and omits the field for others (syntax errors, cancellation).
	Description *string
	// Stack is omitted when empty.
	Stack string
}

// RPC asks the requester to run a helper (e.g. "logNodeOutput") for a task; the answer
// comes back as [RPCResponse] with the same CallID.
type RPC struct {
	CallID string
	TaskID string
	Name   string
	// Params is the JSON array of arguments; nil or empty encodes as [].
	Params json.RawMessage
}

// TaskDataRequest asks the requester for workflow data of a task; the answer is a
// [TaskDataResponse] with the same RequestID.
type TaskDataRequest struct {
	TaskID    string
	RequestID string
	// RequestParams is the request object ({dataOfNodes, prevNode, input, env}); required.
	RequestParams json.RawMessage
}

// NodeTypesRequest asks the requester for node type descriptions; the answer is a
// [NodeTypes] with the same RequestID.
type NodeTypesRequest struct {
	TaskID    string
	RequestID string
	// RequestParams is the JSON array of {name, version}; nil or empty encodes as [].
	RequestParams json.RawMessage
}

// RunnerType implements RunnerMessage.
func (RunnerInfo) RunnerType() string { return TypeRunnerInfo }

// RunnerType implements RunnerMessage.
func (TaskOffer) RunnerType() string { return TypeTaskOffer }

// RunnerType implements RunnerMessage.
func (TaskAccepted) RunnerType() string { return TypeTaskAccepted }

// RunnerType implements RunnerMessage.
func (TaskRejected) RunnerType() string { return TypeTaskRejected }

// RunnerType implements RunnerMessage.
func (TaskDeferred) RunnerType() string { return TypeTaskDeferred }

// RunnerType implements RunnerMessage.
func (TaskDone) RunnerType() string { return TypeTaskDone }

// RunnerType implements RunnerMessage.
func (TaskError) RunnerType() string { return TypeTaskError }

// RunnerType implements RunnerMessage.
func (RPC) RunnerType() string { return TypeRPC }

// RunnerType implements RunnerMessage.
func (TaskDataRequest) RunnerType() string { return TypeTaskDataRequest }

// RunnerType implements RunnerMessage.
func (NodeTypesRequest) RunnerType() string { return TypeNodeTypesRequest }

package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/runwire/runwire/transport"
)

type taskState int

const (
	waitingForSettings taskState = iota
	running
	aborting
	reporting // the executor has returned; the terminal message is on its way
)

// Why a running task was aborted; the first reason wins.
var (
	errCancelled = errors.New("cancelled by the broker")
	errTimedOut  = errors.New("task timeout reached")
	errConnLost  = errors.New("connection to the broker lost")
	errShutdown  = errors.New("runner shutting down")
)

// task is one entry of the task table. Its fields are guarded by Manager.mu, except those
// set before the task is shared (id, typ, sess, done).
type task struct {
	id    string
	typ   string
	sess  *session
	done  chan struct{} // closed when the task leaves the table
	state taskState

	settingsTimer *time.Timer
	timeoutTimer  *time.Timer
	cancelRun     context.CancelCauseFunc
	abort         error // why it is aborting
	meta          meta
	accepted      time.Time
	started       time.Time
	ran           time.Duration // the executor's run time; only the task's goroutine uses it
	calls         []string      // RPC call ids still pending
}

func newTask(id, typ string, s *session) *task {
	return &task{id: id, typ: typ, sess: s, done: make(chan struct{}), accepted: time.Now()}
}

// meta is what n8n puts in every task's settings, whatever its type. Only the task's own
// goroutine (run, finish) reads or writes it.
type meta struct {
	ContinueOnFail bool   `json:"continueOnFail"`
	NodeName       string `json:"nodeName"`
	NodeID         string `json:"nodeId"`
	WorkflowName   string `json:"workflowName"`
	WorkflowID     string `json:"workflowId"`
}

// parseMeta reads meta's fields from the settings, best effort: a field that is missing or
// of a wrong type keeps its zero value. Only those fields are decoded (see Fields).
func parseMeta(settings json.RawMessage) meta {
	var md meta
	f, err := Fields(settings, "continueOnFail", "nodeName", "nodeId", "workflowName", "workflowId")
	if err != nil {
		return md
	}
	_ = json.Unmarshal(f[0], &md.ContinueOnFail)
	for i, s := range []*string{&md.NodeName, &md.NodeID, &md.WorkflowName, &md.WorkflowID} {
		_ = json.Unmarshal(f[i+1], s)
	}
	return md
}

// removeLocked takes t out of the table, once; it reports whether this call did.
func (m *Manager) removeLocked(t *task) bool {
	if m.tasks[t.id] != t {
		return false
	}
	delete(m.tasks, t.id)
	if t.settingsTimer != nil {
		t.settingsTimer.Stop()
	}
	if t.timeoutTimer != nil {
		t.timeoutTimer.Stop()
	}
	for _, c := range t.calls {
		delete(m.calls, c)
	}
	close(t.done)
	m.kickLocked()
	return true
}

// settings starts a task that was waiting for them.
func (m *Manager) settings(msg transport.TaskSettings) {
	m.mu.Lock()
	t := m.tasks[msg.TaskID]
	if t == nil {
		m.mu.Unlock()
		m.log.Warn("Received settings for an unknown task, discarding them", "task_id", msg.TaskID)
		return
	}
	if t.state != waitingForSettings {
		m.mu.Unlock()
		m.log.Warn("Received settings for a task that is already running, discarding them", "task_id", msg.TaskID)
		return
	}
	t.settingsTimer.Stop()
	t.state = running
	t.started = time.Now()
	// Nothing of the settings is parsed here: they may be hundreds of MB, and m.mu (and the
	// connection's listen goroutine) must not wait for that. The task's own goroutine does.
	ctx, cancel := context.WithCancelCause(context.Background())
	t.cancelRun = cancel
	t.timeoutTimer = time.AfterFunc(m.opts.TaskTimeout, func() { m.abortTask(t, errTimedOut) })
	ex := m.opts.Executors[t.typ]
	m.wg.Add(1)
	m.mu.Unlock()

	m.log.Debug("Received task " + t.id)
	go m.run(ctx, ex, t, msg.Settings)
}

// run executes one task and reports it.
func (m *Manager) run(ctx context.Context, ex Executor, t *task, settings json.RawMessage) {
	defer m.wg.Done()
	t.meta = parseMeta(settings) // only this goroutine uses meta
	start := time.Now()
	result, err := ex.Execute(ctx, Task{ID: t.id, Type: t.typ, Settings: settings}, console{m: m, t: t})
	t.ran = time.Since(start)
	m.finish(t, result, err)
}

// finish sends the task's one terminal message, then frees its slot: a task leaves the table
// only once its outcome is on the wire, so a shutdown that waits for the table to empty never
// closes the connection under a result.
func (m *Manager) finish(t *task, result json.RawMessage, err error) {
	m.mu.Lock()
	abort := t.abort
	t.state = reporting
	m.mu.Unlock()
	t.cancelRun(nil)

	s := t.sess
	outcome := outcomeOf(err, abort)
	defer func() {
		m.mu.Lock()
		m.removeLocked(t)
		m.mu.Unlock()
		s.link.ResetIdle()
		m.observeEnd(t, outcome)
	}()
	if errors.Is(abort, errConnLost) {
		m.logEnd(slog.LevelWarn, t, outcome, "the connection to the broker ended while it ran: its result is lost")
		return
	}
	msg := m.terminal(t, result, err, abort)
	serr := s.link.Send(s.ctx, msg)
	if big := (*transport.FrameTooBigError)(nil); errors.As(serr, &big) {
		// Never sent: the broker would have closed the connection, and lost every other
		// task on it with this one. This task fails instead, saying why.
		m.log.Warn("Task "+t.id+": "+big.Error(), "task_id", t.id)
		msg = m.terminal(t, nil, tooLarge(big), nil)
		outcome = OutcomeError
		serr = s.link.Send(s.ctx, msg)
	}
	if serr != nil {
		m.logEnd(slog.LevelWarn, t, outcome, "could not report it to the broker: "+serr.Error())
		return
	}
	reason := ""
	switch {
	case outcome == OutcomeTimeout:
		reason = "ran longer than N8N_RUNNERS_TASK_TIMEOUT (" + m.opts.TaskTimeout.String() + ")"
	case outcome == OutcomeCancelled && abort != nil:
		reason = abort.Error() // one of the sentinels above: runwire's words
	case outcome == OutcomeError:
		// The error's text is the user's; the executor's own trouble is runwire's, and an
		// operator needs it on this line.
		if p, ok := m.opts.Executors[t.typ].(problemer); ok {
			reason = p.Problem()
		}
	}
	m.logEnd(slog.LevelInfo, t, outcome, reason)
}

// terminal maps the outcome to runner:taskdone or runner:taskerror, with n8n's
// continue-on-fail rule: a failure that is not fatal becomes an output item.
func (m *Manager) terminal(t *task, result json.RawMessage, err error, abort error) transport.RunnerMessage {
	var fail *Error
	switch {
	case errors.Is(abort, errCancelled), errors.Is(abort, errShutdown):
		fail = &Error{Message: MessageCancelled}
	case errors.Is(abort, errTimedOut):
		fail = &Error{Message: TimeoutMessage(m.opts.TaskTimeout), Description: ptr("")}
	case errors.As(abort, &fail): // its output was too large to send (console)
	case err == nil:
		if len(result) == 0 {
			result = json.RawMessage("null")
		}
		return transport.TaskDone{TaskID: t.id, Data: transport.TaskResultData{Result: result}}
	case errors.As(err, &fail):
	default:
		fail = &Error{Message: err.Error()}
	}
	if t.meta.ContinueOnFail && !fail.Fatal {
		item, _ := json.Marshal([]map[string]map[string]string{{"json": {"error": fail.Message}}})
		return transport.TaskDone{TaskID: t.id, Data: transport.TaskResultData{Result: item}}
	}
	return transport.TaskError{TaskID: t.id, Error: transport.TaskErrorDetail{Message: fail.Message, Description: fail.Description}}
}

// abortTask stops a running task for reason; the first reason wins, and the executor's
// return then reports it.
func (m *Manager) abortTask(t *task, reason error) {
	m.mu.Lock()
	if m.tasks[t.id] != t || t.state != running {
		m.mu.Unlock()
		return
	}
	t.state = aborting
	t.abort = reason
	m.mu.Unlock()
	t.cancelRun(reason)
}

// cancel handles broker:taskcancel.
func (m *Manager) cancel(msg transport.TaskCancel) {
	m.mu.Lock()
	t := m.tasks[msg.TaskID]
	switch {
	case t == nil:
		m.mu.Unlock()
		m.log.Debug("Received cancel for an unknown task, discarding it", "task_id", msg.TaskID)
	case t.state == waitingForSettings:
		m.removeLocked(t)
		m.mu.Unlock()
		m.logEnd(slog.LevelInfo, t, OutcomeCancelled, "cancelled by the broker while waiting for its settings")
		m.observeEnd(t, OutcomeCancelled)
		t.sess.link.ResetIdle() // n8n's Python runner forgets this, and may never idle out
	case t.state == running:
		m.mu.Unlock()
		m.log.Debug("Cancelling task " + t.id)
		m.abortTask(t, errCancelled)
	default:
		m.mu.Unlock() // already aborting or reporting
	}
}

// settingsExpired drops a task whose settings never came; the broker gave up on it long ago.
func (m *Manager) settingsExpired(t *task) {
	m.mu.Lock()
	if t.state != waitingForSettings || !m.removeLocked(t) {
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.logEnd(slog.LevelWarn, t, OutcomeCancelled, fmt.Sprintf("dropped: no settings within %s (RUNWIRE_SETTINGS_TIMEOUT)", m.opts.SettingsTimeout))
	m.observeEnd(t, OutcomeCancelled)
	t.sess.link.ResetIdle()
}

// observeEnd tells the Observer how t ended.
func (m *Manager) observeEnd(t *task, outcome Outcome) {
	if m.opts.Observer != nil {
		m.opts.Observer.TaskEnded(t.typ, outcome, time.Since(t.accepted), t.ran)
	}
}

// rpcResponse matches broker:rpcresponse to the call it answers.
func (m *Manager) rpcResponse(msg transport.RPCResponse) {
	m.mu.Lock()
	taskID, ok := m.calls[msg.CallID]
	delete(m.calls, msg.CallID)
	m.mu.Unlock()
	switch {
	case !ok:
		m.log.Debug("Received an RPC response for an unknown call", "call_id", msg.CallID)
	case msg.Status != transport.RPCStatusSuccess:
		m.log.Warn("The broker refused a console output call", "task_id", taskID, "status", msg.Status)
	}
}

// TimeoutMessage is n8n's text for a task stopped by N8N_RUNNERS_TASK_TIMEOUT.
func TimeoutMessage(d time.Duration) string {
	secs := d.Seconds()
	if secs == float64(int64(secs)) {
		unit := "seconds"
		if secs == 1 {
			unit = "second"
		}
		return "Task execution timed out after " + strconv.FormatInt(int64(secs), 10) + " " + unit
	}
	return fmt.Sprintf("Task execution timed out after %g seconds", secs)
}

// tooLarge is the failure of a task one of whose messages the broker would refuse.
func tooLarge(e *transport.FrameTooBigError) *Error {
	what := "The result"
	switch e.Type {
	case transport.TypeTaskError:
		what = "The task's error"
	case transport.TypeRPC:
		what = "A print()"
	}
	return &Error{
		Message:     fmt.Sprintf("%s is too large to send: %d bytes, more than the broker accepts (N8N_RUNNERS_MAX_PAYLOAD is %d bytes)", what, e.Size, e.Limit),
		Description: ptr(""),
	}
}

func ptr[T any](v T) *T { return &v }

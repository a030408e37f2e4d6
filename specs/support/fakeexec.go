package support

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/runwire/runwire/tasks"
)

// FakeResult is what a FakeExecutor returns when a Behaviour sets no Result and no Err.
var FakeResult = json.RawMessage(`[{"json":{"fake":true}}]`)

// Behaviour scripts one execution of a FakeExecutor, in this order: Prints, then (with
// Block) a wait for Release or for ctx, then Result or Err.
type Behaviour struct {
	// Prints are console.Print calls, one per entry, made before anything else.
	Prints [][]string
	// Result is returned on success (FakeResult when nil and Err is nil).
	Result json.RawMessage
	// Err is returned instead of Result.
	Err error
	// Block waits until Release(task id) or ReleaseAll, or until ctx is cancelled; a
	// cancelled ctx is recorded and returned as ctx.Err().
	Block bool
	// ReturnOnCancel, with Block, returns Result/Err instead of ctx.Err() when ctx is
	// cancelled: a task that finishes just as it is aborted.
	ReturnOnCancel bool
	// Linger, with Block, keeps the execution going after ctx is cancelled until Release:
	// a task that takes a while to stop, as a subprocess does between SIGTERM and exit.
	Linger bool
}

// FakeExecutor is a scriptable tasks.Executor. A task's Behaviour is the one set for its id
// with ForTask, else the one set for the value of its settings' "fake" field with
// ForSettings, else the default. Before its Behaviour runs, a task whose settings lack a
// field listed by Require fails with tasks.SettingsError(field, "is missing"). It records
// every call, which executions saw their ctx cancelled, and the highest number of
// concurrent executions. All methods are safe for concurrent use.
type FakeExecutor struct {
	mu          sync.Mutex
	byTask      map[string]Behaviour
	bySettings  map[string]Behaviour
	fallback    Behaviour
	require     []string
	gates       map[string]chan struct{}
	releasedAll bool
	calls       []tasks.Task
	started     map[string]bool
	cancelled   map[string]bool
	returned    map[string]bool
	current     int
	max         int
}

// NewFakeExecutor returns a FakeExecutor whose default Behaviour returns FakeResult at once.
func NewFakeExecutor() *FakeExecutor {
	return &FakeExecutor{
		byTask:     map[string]Behaviour{},
		bySettings: map[string]Behaviour{},
		gates:      map[string]chan struct{}{},
		started:    map[string]bool{},
		cancelled:  map[string]bool{},
		returned:   map[string]bool{},
	}
}

// Default sets the Behaviour of tasks that nothing else scripts.
func (f *FakeExecutor) Default(b Behaviour) *FakeExecutor {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fallback = b
	return f
}

// ForTask scripts the task with this id.
func (f *FakeExecutor) ForTask(id string, b Behaviour) *FakeExecutor {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byTask[id] = b
	return f
}

// ForSettings scripts the tasks whose settings have "fake": name.
func (f *FakeExecutor) ForSettings(name string, b Behaviour) *FakeExecutor {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bySettings[name] = b
	return f
}

// Require makes tasks whose settings lack one of fields fail as malformed settings.
func (f *FakeExecutor) Require(fields ...string) *FakeExecutor {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.require = append(f.require, fields...)
	return f
}

// Release lets the blocked or lingering execution of task id return; it may come before
// the execution starts.
func (f *FakeExecutor) Release(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gateLocked(id)
	select {
	case <-g:
	default:
		close(g)
	}
}

// ReleaseAll releases every execution, present and future.
func (f *FakeExecutor) ReleaseAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releasedAll = true
	for _, g := range f.gates {
		select {
		case <-g:
		default:
			close(g)
		}
	}
}

// Execute implements tasks.Executor.
func (f *FakeExecutor) Execute(ctx context.Context, task tasks.Task, console tasks.Console) (json.RawMessage, error) {
	b, gate, missing := f.begin(task)
	defer f.end(task.ID)
	if missing != "" {
		return nil, tasks.SettingsError(missing, "is missing")
	}
	for _, p := range b.Prints {
		console.Print(p...)
	}
	if b.Block {
		select {
		case <-gate:
		case <-ctx.Done():
			f.mark(f.cancelled, task.ID)
			if b.Linger {
				<-gate
			}
			if !b.ReturnOnCancel {
				return nil, ctx.Err()
			}
		}
	}
	if b.Err != nil {
		return nil, b.Err
	}
	if b.Result == nil {
		return FakeResult, nil
	}
	return b.Result, nil
}

func (f *FakeExecutor) begin(task tasks.Task) (Behaviour, chan struct{}, string) {
	var settings map[string]json.RawMessage
	_ = json.Unmarshal(task.Settings, &settings)
	var name string
	_ = json.Unmarshal(settings["fake"], &name)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, task)
	f.started[task.ID] = true
	f.current++
	f.max = max(f.max, f.current)
	missing := ""
	for _, field := range f.require {
		if _, ok := settings[field]; !ok {
			missing = field
			break
		}
	}
	b, ok := f.byTask[task.ID]
	if !ok {
		b, ok = f.bySettings[name]
	}
	if !ok {
		b = f.fallback
	}
	return b, f.gateLocked(task.ID), missing
}

func (f *FakeExecutor) end(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current--
	f.returned[id] = true
}

func (f *FakeExecutor) gateLocked(id string) chan struct{} {
	g, ok := f.gates[id]
	if !ok {
		g = make(chan struct{})
		if f.releasedAll {
			close(g)
		}
		f.gates[id] = g
	}
	return g
}

func (f *FakeExecutor) mark(set map[string]bool, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set[id] = true
}

func (f *FakeExecutor) has(set map[string]bool, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return set[id]
}

// Calls returns every task Execute was called with, in call order.
func (f *FakeExecutor) Calls() []tasks.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tasks.Task(nil), f.calls...)
}

// CallsFor counts the calls for task id.
func (f *FakeExecutor) CallsFor(id string) int {
	n := 0
	for _, t := range f.Calls() {
		if t.ID == id {
			n++
		}
	}
	return n
}

// Started reports whether Execute was called for task id.
func (f *FakeExecutor) Started(id string) bool { return f.has(f.started, id) }

// Cancelled reports whether the execution of task id saw its ctx cancelled while blocked.
func (f *FakeExecutor) Cancelled(id string) bool { return f.has(f.cancelled, id) }

// Returned reports whether the execution of task id has returned.
func (f *FakeExecutor) Returned(id string) bool { return f.has(f.returned, id) }

// Current is the number of executions in progress.
func (f *FakeExecutor) Current() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// MaxConcurrent is the highest number of executions observed in progress at once.
func (f *FakeExecutor) MaxConcurrent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

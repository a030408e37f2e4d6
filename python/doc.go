// Package python is the "python" task type: it runs n8n Python Code-node tasks with n8n's
// semantics, in a fresh process per task, with a warm zygote and pre-forked children so that
// neither an interpreter start nor a fork sits on a task's critical path.
//
// The Go side here finds the interpreter, writes the embedded Python runtime (runtime/*.py)
// into a private directory, starts the zygote, keeps a few forked children ready on a unix
// socket, hands each task to one child, streams its prints, and kills the child's process
// group on cancel or timeout (SIGTERM, 1 s, SIGKILL). A supervisor goroutine owns the zygote's
// life: it replaces one that ends, with backoff, and while it cannot, the executor answers each
// task at once with the reason (State, Problem). The protocol between the two sides and the
// supervisor's states are docs/python-executor.md.
package python

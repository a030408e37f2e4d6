package fsm

import (
	"fmt"
	"strings"

	looplab "github.com/looplab/fsm"
)

// Mermaid renders the transition table as a Mermaid state diagram, from a freshly built
// machine so that the start arrow points at Idle.
func Mermaid() string {
	out, err := looplab.VisualizeWithType(NewTable(Idle, nil), looplab.MermaidStateDiagram)
	if err != nil {
		panic(fmt.Sprintf("fsm: rendering the diagram: %v", err)) // only for an unknown diagram type
	}
	return out + "    " + string(Stopped) + " --> [*]\n"
}

// Markdown renders docs/state-machine.md: the diagram and the table it comes from.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# runwire connection lifecycle\n\n")
	b.WriteString("<!-- Generated from fsm/table.go by `make docs` (runwire diagram --markdown). Do not edit. -->\n\n")
	b.WriteString("```mermaid\n")
	b.WriteString(Mermaid())
	b.WriteString("```\n\n")
	b.WriteString("| event | from | to | raised when |\n|---|---|---|---|\n")
	for _, e := range edges {
		from := make([]string, len(e.From))
		for i, s := range e.From {
			from[i] = string(s)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", e.Event, strings.Join(from, ", "), e.To, e.Cause)
	}
	b.WriteString("\nEvery other (state, event) pair is refused and leaves the state unchanged. ")
	b.WriteString("Stopped is terminal; AuthFailed only leaves by `stop`.\n")
	return b.String()
}

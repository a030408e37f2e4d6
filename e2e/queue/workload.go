package queue

import (
	"encoding/json"
	"fmt"
)

// The load tests' Code node, in Python and in JavaScript: run once for all items, it makes 10
// items from the posted number n, each with a little computation (2,000 steps of a modular
// hash), so that every answer is different and can be checked exactly (Expected).
const (
	PythonCode = `n = _items[0]["json"]["body"]["n"]
out = []
for k in range(10):
    s = 0
    for j in range(2000):
        s = (s * 31 + n + k + j) % 1000003
    out.append({"json": {"n": n, "k": k, "s": s}})
return out`

	JavaScriptCode = `const n = $input.first().json.body.n;
const out = [];
for (let k = 0; k < 10; k++) {
  let s = 0;
  for (let j = 0; j < 2000; j++) s = (s * 31 + n + k + j) % 1000003;
  out.push({json: {n, k, s}});
}
return out;`
)

// Item is one output item of the workload's Code node.
type Item struct {
	N int `json:"n"`
	K int `json:"k"`
	S int `json:"s"`
}

// Expected is the webhook's answer for n: the Code node's 10 items.
func Expected(n int) []Item {
	out := make([]Item, 10)
	for k := range out {
		s := 0
		for j := range 2000 {
			s = (s*31 + n + k + j) % 1000003
		}
		out[k] = Item{N: n, K: k, S: s}
	}
	return out
}

// CheckAnswer says why body is not the workload's answer for n, or nil if it is.
func CheckAnswer(n int, body []byte) error {
	var got []Item
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("answer for n=%d is not a list of items: %w: %.200s", n, err, body)
	}
	want := Expected(n)
	if len(got) != len(want) {
		return fmt.Errorf("answer for n=%d has %d items, want %d: %.200s", n, len(got), len(want), body)
	}
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("answer for n=%d: item %d is %+v, want %+v", n, i, got[i], want[i])
		}
	}
	return nil
}

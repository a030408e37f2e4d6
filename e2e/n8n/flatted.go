package n8n

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// DecodeFlatted decodes text written by the JavaScript library flatted, which n8n uses to store
// and serve an execution's data (the string in the data field of GET /rest/executions/:id).
//
// flatted writes a JSON array whose first entry is the root value. Every object, array and
// string is its own entry of that array, and wherever one stands inside an object or an array it
// is written as the decimal index of its entry, in a string: [{"a":"1","b":"2"},"x",[3,"1"]]
// stands for {"a":"x","b":[3,"x"]}. Numbers, booleans and null stand inline. Entries reached twice
// decode to the same Go map or slice, so a cyclic input yields a cyclic value.
//
// Objects decode to map[string]any, arrays to []any, numbers to float64, as encoding/json does.
func DecodeFlatted(text []byte) (any, error) {
	var input []json.RawMessage
	if err := json.Unmarshal(text, &input); err != nil {
		return nil, fmt.Errorf("flatted: not a JSON array: %w", err)
	}
	if len(input) == 0 {
		return nil, errors.New("flatted: empty array")
	}
	d := &flattedDecoder{input: input, done: make(map[int]any, len(input))}
	v, err := d.entry(0)
	if err != nil {
		return nil, fmt.Errorf("flatted: %w", err)
	}
	return v, nil
}

// flattedDecoder turns the entries of one flatted array into Go values, each at most once.
type flattedDecoder struct {
	input []json.RawMessage
	done  map[int]any // entries decoded, or being decoded (their map or slice is already here)
}

// entry decodes the entry at index i: a string stands for itself, an object or array has its
// string members resolved as references.
func (d *flattedDecoder) entry(i int) (any, error) {
	if v, ok := d.done[i]; ok {
		return v, nil
	}
	var v any
	if err := json.Unmarshal(d.input[i], &v); err != nil {
		return nil, fmt.Errorf("entry %d: %w", i, err)
	}
	switch v := v.(type) {
	case map[string]any:
		d.done[i] = v // before its members, so a cycle back to it finds it
		for k, m := range v {
			r, err := d.member(m)
			if err != nil {
				return nil, fmt.Errorf("entry %d key %q: %w", i, k, err)
			}
			v[k] = r
		}
		return v, nil
	case []any:
		d.done[i] = v // the slice shares its backing array with this copy
		for j, m := range v {
			r, err := d.member(m)
			if err != nil {
				return nil, fmt.Errorf("entry %d index %d: %w", i, j, err)
			}
			v[j] = r
		}
		return v, nil
	default:
		d.done[i] = v
		return v, nil
	}
}

// member resolves one member of an object or array: a string is the index of another entry,
// anything else stands for itself.
func (d *flattedDecoder) member(m any) (any, error) {
	s, ok := m.(string)
	if !ok {
		return m, nil
	}
	j, err := strconv.Atoi(s)
	if err != nil || j < 0 || j >= len(d.input) {
		return nil, fmt.Errorf("reference %q is not an index of the %d entries", s, len(d.input))
	}
	return d.entry(j)
}

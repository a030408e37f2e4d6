package logging

import (
	"encoding"
	"fmt"
	"log/slog"
	"reflect"
)

// slogTimeLayout is how slog's own text handler prints time values.
const slogTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendAttr appends " key=value" for a, or " group.key=value" for each
// member when a is a group, following slog's handler rules: values are
// resolved, an empty attribute and an empty group are dropped, and a group
// with no key is inlined.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			buf = appendAttr(buf, prefix, ga)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = appendText(buf, prefix+a.Key)
	buf = append(buf, '=')
	return appendText(buf, valueString(a.Value))
}

// valueString renders v the way slog's text handler does.
func valueString(v slog.Value) string {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindTime:
		return v.Time().Format(slogTimeLayout)
	case slog.KindAny:
		return anyString(v.Any())
	default:
		return v.String()
	}
}

// anyString prefers Error and MarshalText to fmt. A method that panics
// (typically on a nil pointer) must not take the logger down with it.
func anyString(x any) (s string) {
	defer func() {
		if p := recover(); p != nil {
			if rv := reflect.ValueOf(x); rv.Kind() == reflect.Pointer && rv.IsNil() {
				s = "<nil>"
				return
			}
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	switch x := x.(type) {
	case error:
		return x.Error()
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return "!ERROR:" + err.Error()
		}
		return string(b)
	case []byte:
		return string(x)
	default:
		return fmt.Sprintf("%+v", x)
	}
}

package logging

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// appendMessage appends msg as is, except that control characters other than
// tab, and the Unicode line and paragraph separators, are written as Go
// escapes ("\n", "\x1b", "\u2028"). A message must never end its line early,
// and must not drive the terminal either.
func appendMessage(buf []byte, msg string) []byte {
	if !needsEscape(msg) {
		return append(buf, msg...)
	}
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		if r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			q := strconv.QuoteRune(r)
			buf = append(buf, q[1:len(q)-1]...)
		} else {
			// An invalid byte comes back as RuneError of size 1: copy the byte.
			buf = append(buf, msg[i:i+size]...)
		}
		i += size
	}
	return buf
}

// needsEscape is appendMessage's fast path: plain printable ASCII (and tab)
// is copied without decoding.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b >= 0x7f {
			return true
		}
	}
	return false
}

// appendText appends s, quoted with strconv.Quote when it is empty or holds
// a space, a quote, '=', a control or other non-printing character, or
// invalid UTF-8: anything that would make "key=value" ambiguous or break
// the line.
func appendText(buf []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b <= ' ' || b == '"' || b == '=' || b == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

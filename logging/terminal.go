package logging

import "os"

// IsTerminal reports whether f is a character device, the portable
// standard-library stand-in for isatty. A nil file, or one that cannot be
// stat'ed, is not a terminal. Other character devices such as /dev/null also
// count as terminals; that only means such output gets the human format.
// IsTerminal is safe for concurrent use.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}

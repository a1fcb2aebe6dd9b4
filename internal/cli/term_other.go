//go:build !linux

package cli

import "os"

// isTerminal reports whether f is a character device, which is the best guess without a
// terminal ioctl.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

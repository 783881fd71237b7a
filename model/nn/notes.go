package nn

import (
	"fmt"
	"slices"
)

// NoteLog collects the documented fallbacks a model takes (tasks.Noter):
// Note records a line once; Notes returns the lines recorded since the
// last call and clears them. Models embed it.
type NoteLog struct{ lines []string }

// Note records a formatted line unless it is already pending.
func (n *NoteLog) Note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !slices.Contains(n.lines, s) {
		n.lines = append(n.lines, s)
	}
}

// Notes returns the pending lines and clears them (tasks.Noter).
func (n *NoteLog) Notes() []string {
	out := n.lines
	n.lines = nil
	return out
}

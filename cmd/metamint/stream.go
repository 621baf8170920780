package main

import (
	"fmt"
	"io"
)

// stream is one of the CLI's output streams. It keeps the first error of a
// write and writes nothing after it, so a command prints freely and run
// checks standard output once, when the command is done: a result that could
// not be written (a full disk, say) makes the exit status non-zero instead of
// vanishing; so does a pipe whose reader is gone (main ignores SIGPIPE, so
// the write fails with EPIPE). It is the errWriter of "Errors are values"
// (https://go.dev/blog/errors-are-values).
//
// A failed write to standard error is kept too, but run does not act on it:
// there is nowhere left to report it, and the exit status already says
// whether the command did its job.
type stream struct {
	w   io.Writer
	err error
}

func (s *stream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// printf formats with one Write, so the redacting writer below standard
// error sees each diagnostic whole. A write error is kept in s.err.
func (s *stream) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(s, format, args...) // kept in s.err
}

package main

import (
	"fmt"
	"io"
	"sync"
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
//
// A stream is safe for concurrent use: mint checks the calling token in a
// goroutine beside the install and the create, and both may say something
// on standard error (a throttle's wait, the install). Each Write is whole.
type stream struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// Err is the first error of a write, or nil.
func (s *stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// printf formats with one Write, so the redacting writer below standard
// error sees each diagnostic whole. A write error is kept (Err).
func (s *stream) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(s, format, args...) // kept (Err)
}

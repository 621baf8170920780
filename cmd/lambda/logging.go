package main

import (
	"context"
	"log/slog"
)

// coldStartKey carries, in an invocation's context, whether it is the first
// invocation of this process.
type coldStartKey struct{}

// powertoolsHandler adds the fields Powertools users expect to every
// record: service (on the logger, see newLogger) and cold_start (from the
// invocation's context).
type powertoolsHandler struct{ slog.Handler }

func (h powertoolsHandler) Handle(ctx context.Context, r slog.Record) error {
	if cold, ok := ctx.Value(coldStartKey{}).(bool); ok {
		r.AddAttrs(slog.Bool("cold_start", cold))
	}
	return h.Handler.Handle(ctx, r)
}

func (h powertoolsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return powertoolsHandler{h.Handler.WithAttrs(attrs)}
}

func (h powertoolsHandler) WithGroup(name string) slog.Handler {
	return powertoolsHandler{h.Handler.WithGroup(name)}
}

// newLogger wraps h so every record carries service and cold_start.
func newLogger(h slog.Handler, service string) *slog.Logger {
	return slog.New(powertoolsHandler{h}).With("service", service)
}

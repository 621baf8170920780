package main

import (
	"context"
	"log/slog"
	"strings"
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

// levelHandler drops the records below min. The function applies its log
// level (METAMINT_LOG_LEVEL) itself, so that Lambda's own filter can stay at
// DEBUG (deploy/template.yaml): that filter counts a line without a level
// key, as every metric (EMF) line is, as INFO, and a WARN or ERROR setting
// there would drop the metrics the alarms watch.
type levelHandler struct {
	slog.Handler
	min slog.Leveler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min.Level() {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(attrs), h.min}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(name), h.min}
}

// newLogger wraps h so every record carries service and cold_start, and
// only records at level least or above are written.
func newLogger(h slog.Handler, service string, least slog.Leveler) *slog.Logger {
	return slog.New(powertoolsHandler{levelHandler{h, least}}).With("service", service)
}

// checkLambdaLogLevel logs, at cold start, an ERROR line when Lambda's
// application log level (AWS_LAMBDA_LOG_LEVEL, set in the console or the
// template) drops the metric lines: they carry no level, so Lambda counts
// them as INFO, and at WARN or above FailedAlarm cannot fire and ExpiryAlarm
// stays in ALARM. (At FATAL this line is dropped too.)
func checkLambdaLogLevel(log *slog.Logger, rt runtimeEnv) {
	switch strings.ToUpper(rt.logLevel) {
	case "WARN", "ERROR", "FATAL":
		log.Error("Lambda's application log level drops the metric lines", "application_log_level", rt.logLevel,
			"error", "the metric (EMF) lines count as INFO, so the alarms get no data: set the application log level to DEBUG "+
				"(the template's) and choose the function's own level with METAMINT_LOG_LEVEL (the template's LogLevel)")
	}
}

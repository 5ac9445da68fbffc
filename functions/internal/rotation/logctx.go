package rotation

import (
	"context"
	"log/slog"
)

// integrationKey is the context key of the integration a call works for.
type integrationKey struct{}

// withIntegration returns ctx carrying the integration's name, for the log
// lines of code that serves many integrations and so cannot carry the name
// itself: a Fetcher is shared by every integration of one provider.
func withIntegration(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, integrationKey{}, name)
}

// integrationHandler adds "integration" to every record logged with a
// context that withIntegration marked.
type integrationHandler struct{ slog.Handler }

func (h integrationHandler) Handle(ctx context.Context, r slog.Record) error {
	if name, ok := ctx.Value(integrationKey{}).(string); ok {
		r = r.Clone()
		r.AddAttrs(slog.String("integration", name))
	}
	return h.Handler.Handle(ctx, r)
}

func (h integrationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return integrationHandler{h.Handler.WithAttrs(attrs)}
}

func (h integrationHandler) WithGroup(name string) slog.Handler {
	return integrationHandler{h.Handler.WithGroup(name)}
}

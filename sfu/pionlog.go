package sfu

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogger adapts Pion's leveled logger to slog. Pion is chatty: its errors become
// slog warnings, its warnings slog debug, and everything below is dropped.
type pionLogger struct{ log *slog.Logger }

type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

func (l pionLogger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (pionLogger) Trace(string)                   {}
func (pionLogger) Tracef(string, ...any)          {}
func (pionLogger) Debug(string)                   {}
func (pionLogger) Debugf(string, ...any)          {}
func (pionLogger) Info(string)                    {}
func (pionLogger) Infof(string, ...any)           {}
func (l pionLogger) Warn(msg string)              { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.emit(slog.LevelDebug, fmt.Sprintf(f, args...)) }
func (l pionLogger) Error(msg string)             { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.emit(slog.LevelWarn, fmt.Sprintf(f, args...)) }

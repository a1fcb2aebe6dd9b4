package instrument

import (
	"bufio"
	"net"
	"net/http"
)

// statusWriter records the status code a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	code     int  // the final status code, once wroteHeader
	wrote    bool // a final status code was written (explicitly or by Write or Flush)
	hijacked bool
}

// WriteHeader records code unless it is informational (1xx other than 101), which
// net/http lets a handler send any number of times before the final code.
func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote && !(code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols) {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implies 200 OK when no status was written.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer's Flush, Hijack,
// SetReadDeadline, SetWriteDeadline and EnableFullDuplex.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status returns the status code the client got, or will get: 200 when the handler
// wrote nothing (net/http answers 200 when a handler returns without writing).
func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// flush implies 200 OK when no status was written, as net/http does.
func (w *statusWriter) flush() {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

func (w *statusWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// The wrappers below give the statusWriter exactly the optional interfaces
// (http.Flusher, http.Hijacker) of the writer it wraps, so that handlers asserting them
// directly keep working and those checking for them see the truth.

type flushWriter struct{ *statusWriter }

func (w flushWriter) Flush() { w.flush() }

type hijackWriter struct{ *statusWriter }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

type flushHijackWriter struct{ *statusWriter }

func (w flushHijackWriter) Flush() { w.flush() }
func (w flushHijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.hijack()
}

// wrapWriter returns sw as a ResponseWriter with the optional interfaces of the writer
// it wraps.
func wrapWriter(sw *statusWriter) http.ResponseWriter {
	_, f := sw.ResponseWriter.(http.Flusher)
	_, h := sw.ResponseWriter.(http.Hijacker)
	switch {
	case f && h:
		return flushHijackWriter{sw}
	case f:
		return flushWriter{sw}
	case h:
		return hijackWriter{sw}
	}
	return sw
}

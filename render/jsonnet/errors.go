package jsonnet

import (
	"fmt"
	"strings"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
)

// EvalError is a Jsonnet error: a syntax (static) error or a runtime error, with
// where it happened and, for runtime errors, go-jsonnet's stack trace.
type EvalError struct {
	// File, Line and Column locate the error (the innermost frame of a runtime error).
	File         string
	Line, Column int
	// Message is the error without its location.
	Message string
	// Runtime is true for runtime errors (error expressions, failed imports, type
	// errors, ...), false for static (syntax) errors.
	Runtime bool
	// Stack holds the frames of a runtime error, innermost first, as go-jsonnet
	// reports them.
	Stack []Frame
}

// Frame is one frame of a Jsonnet stack trace.
type Frame struct {
	File         string
	Line, Column int
	// Name is what go-jsonnet calls the frame ("function <anonymous>", "object <x>").
	Name string
}

func (f Frame) String() string {
	s := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
	if f.Name != "" {
		s += " " + f.Name
	}
	return s
}

func (e *EvalError) Error() string {
	var b strings.Builder
	kind := "STATIC ERROR"
	if e.Runtime {
		kind = "RUNTIME ERROR"
	}
	fmt.Fprintf(&b, "%s:%d:%d: %s: %s", e.File, e.Line, e.Column, kind, e.Message)
	for _, f := range e.Stack {
		b.WriteString("\n\t" + f.String())
	}
	return b.String()
}

// capture is an ErrorFormatter that keeps the error go-jsonnet formats, so that the
// structure is not lost in its text.
type capture struct {
	jsonnet.ErrorFormatter
	err error
}

func (c *capture) Format(err error) string {
	c.err = err
	return c.ErrorFormatter.Format(err)
}

// evalError converts what go-jsonnet returned into an *EvalError where it can.
func evalError(captured, returned error) error {
	switch err := captured.(type) {
	case jsonnet.RuntimeError:
		e := &EvalError{Runtime: true, Message: err.Msg}
		for i := len(err.StackTrace) - 1; i >= 0; i-- { // go-jsonnet keeps the outermost first
			if f := err.StackTrace[i]; f.Loc.IsSet() {
				e.Stack = append(e.Stack, frame(f.Loc, f.Name))
			}
		}
		if len(e.Stack) > 0 {
			top := e.Stack[0]
			e.File, e.Line, e.Column = top.File, top.Line, top.Column
		}
		return e
	case interface{ Loc() ast.LocationRange }:
		loc := err.Loc()
		f := frame(loc, "")
		msg := strings.TrimSpace(strings.TrimPrefix(captured.Error(), loc.String()))
		return &EvalError{File: f.File, Line: f.Line, Column: f.Column, Message: msg}
	}
	return returned
}

func frame(loc ast.LocationRange, name string) Frame {
	file := loc.FileName
	if file == "" && loc.File != nil {
		file = string(loc.File.DiagnosticFileName)
	}
	return Frame{File: file, Line: loc.Begin.Line, Column: loc.Begin.Column, Name: name}
}

package waarborg

import (
	"errors"
	"fmt"
)

// Error codes: the few kinds of failure callers act on. The HTTP layer maps
// each to one status; the CLI to one exit code.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORISED = "unauthorised" // who is asking is not known: sign in, or send a token
	EFORBIDDEN    = "forbidden"    // who is asking may not do this
	EINTERNAL     = "internal"
)

// Error is an error of a known kind with a message fit to show a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	if _, ok := errors.AsType[*RecordError](err); ok {
		return EINVALID
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: an *Error's own
// message, or a generic one that leaks nothing of an internal cause.
func ErrorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	if re, ok := errors.AsType[*RecordError](err); ok {
		return re.Error()
	}
	return "internal error"
}

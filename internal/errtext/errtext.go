// Package errtext gives an error another text while errors.Is and errors.As still see
// the error whole: for text that must not be shown as it is (a credential helper's
// output, a signed URL's query, a registry's megabytes).
package errtext

// With returns err with the text msg, or err itself when that is its text.
func With(err error, msg string) error {
	if err == nil || msg == err.Error() {
		return err
	}
	return &textError{msg: msg, err: err}
}

type textError struct {
	msg string
	err error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.err }

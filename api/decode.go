package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// MaxBodyBytes bounds every request body (API.md: larger bodies answer 413).
const MaxBodyBytes = 1 << 20

// readBody reads the whole body within MaxBodyBytes. The idempotency middleware reads it
// first (to hash it) and puts it back, so handlers always read through here.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, apperr.New(apperr.TooLarge, "the request body is larger than %d bytes", MaxBodyBytes)
	case err != nil:
		return nil, apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	return b, nil
}

// checkJSONContentType refuses a body that does not say it is JSON.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &apperr.Error{Code: apperr.Invalid, Message: "the request body must be JSON (Content-Type: application/json)",
			Fields: []apperr.FieldError{{Field: "Content-Type", Message: fmt.Sprintf("must be application/json, got %q", ct)}}}
	}
	return nil
}

// decodeBody reads a JSON request body into dst, strictly: unknown fields, wrong types,
// trailing data and malformed JSON are 400 problems naming the field or offset; an oversized
// body is 413. An empty body is refused unless optional is true (then dst is left as is).
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return invalidField("body", "a JSON object is required")
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	return decodeJSON(body, dst)
}

// decodeJSON decodes one JSON value strictly; see decodeBody.
func decodeJSON(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidField("body", fmt.Sprintf("unexpected data after the JSON value at offset %d", dec.InputOffset()))
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 problem naming the field at fault.
func jsonError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		ae       *apperr.Error
		badInput *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &syntax):
		return invalidField("body", fmt.Sprintf("malformed JSON at offset %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalidField("body", "malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return invalidField(field, fmt.Sprintf("must be %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value))
	case errors.As(err, &badInput):
		return apperr.Wrap(apperr.Internal, err, "decode")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if name == "" {
			name = "body"
		}
		return invalidField(name, "is not a known field")
	default:
		return invalidField("body", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return "of another type"
	}
}

func invalidField(field, msg string) error {
	return apperr.InvalidFields(apperr.FieldError{Field: field, Message: msg})
}

// fromValidation turns the domain's *ValidationError into the application's Invalid error,
// field by field; other errors pass unchanged.
func fromValidation(err error) error {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fields := make([]apperr.FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		fields[i] = apperr.FieldError{Field: f.Field, Message: f.Message}
	}
	return apperr.InvalidFields(fields...)
}

// ifMatchPattern is the grammar of If-Match: a stream version as a number or as the ETag
// this API sends (3, "3" or W/"3"); nothing else, so the OpenAPI document can state it
// exactly. 18 digits cannot overflow an int64.
var ifMatchPattern = regexp.MustCompile(`^(?:[1-9][0-9]{0,17}|(?:W/)?"[1-9][0-9]{0,17}")$`)

// ifMatch reads If-Match as a stream version. Absent (or empty) is 0 (no check).
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	if !ifMatchPattern.MatchString(h) {
		return 0, invalidField("If-Match", "must be the stream version the change is based on, a positive integer (3, \"3\" or W/\"3\")")
	}
	v, _ := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64) // the pattern admits only int64s
	return v, nil
}

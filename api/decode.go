package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
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

// decodeJSON decodes one JSON value strictly; see decodeBody. A null is a wrong type
// wherever it is (encoding/json would leave the field's zero value, so "min": null would be
// 0), except in the raw members of a partial update, whose decoder gives null its meaning.
func decodeJSON(body []byte, dst any) error {
	if _, members := dst.(*map[string]json.RawMessage); !members {
		if at := nullAt(body); at != "" {
			return invalidField(at, "must not be null")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		// JSON Schema (and so the OpenAPI document) counts 2864.0 and 2.864e3 as integers;
		// encoding/json does not. Such numbers are rewritten as integers, then decoded again.
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && strings.HasPrefix(typ.Value, "number") && jsonKind(typ.Type.Kind().String()) == "an integer" {
			if rewritten, ok := integralNumbersAsIntegers(body); ok {
				return decodeJSON(rewritten, dst)
			}
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidField("body", fmt.Sprintf("unexpected data after the JSON value at offset %d", dec.InputOffset()))
	}
	return nil
}

// nullAt names where the first null of a JSON document is ("salary.min", "tags[2]", "body"
// for the whole document), or "" when there is none (or the document is malformed, which the
// decoder reports).
func nullAt(body []byte) string {
	if !bytes.Contains(body, []byte("null")) {
		return ""
	}
	type frame struct {
		object, expectKey bool
		key               string
		index             int
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if top.object && top.expectKey {
				top.key, top.expectKey = tok.(string), false
				continue
			}
			// tok starts a value of the enclosing object or array.
			top.expectKey = top.object
			top.index++
		}
		if tok == nil {
			var path strings.Builder
			for _, f := range stack {
				if f.object {
					if path.Len() > 0 {
						path.WriteByte('.')
					}
					path.WriteString(f.key)
				} else {
					fmt.Fprintf(&path, "[%d]", f.index-1)
				}
			}
			if path.Len() == 0 {
				return "body"
			}
			return path.String()
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', expectKey: d == '{'})
		}
	}
}

// integralNumbersAsIntegers rewrites the numbers of a JSON document that have a fraction or
// an exponent but an int64 value (2864.0, 1e3) as plain integers; ok is false when there
// is none.
func integralNumbersAsIntegers(body []byte) (rewritten []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case json.Number:
			if _, err := x.Int64(); err == nil {
				return x
			}
			if f, _, err := big.ParseFloat(x.String(), 10, 256, big.ToNearestEven); err == nil && f.IsInt() {
				if n, acc := f.Int64(); acc == big.Exact {
					ok = true
					return json.Number(strconv.FormatInt(n, 10))
				}
			}
		}
		return v
	}
	v = walk(v)
	if !ok {
		return nil, false
	}
	rewritten, err := json.Marshal(v)
	return rewritten, err == nil
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

// Command codecgen generates the engine's flyweight codecs from codec.schema.
// It is run by `go generate ./engine`; a test in engine fails when the
// generated file is out of date.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"strconv"
	"strings"
)

type enumValue struct {
	name  string
	value int
}

type enumType struct {
	name   string
	base   string // u8 or u16
	values []enumValue
	doc    []string
}

type field struct {
	name string
	typ  string // i64 u64 u32 u16 u8 charN or an enum name
	// optional: an enum field that may also be 0, meaning none (written
	// "Name Enum optional").
	optional bool
	offset   int
	size     int
}

type message struct {
	name     string
	template int
	fields   []field
	doc      []string
	length   int
}

type schema struct {
	id, version int
	enums       []*enumType
	enumByName  map[string]*enumType
	messages    []*message
}

var primitiveSize = map[string]int{"i64": 8, "u64": 8, "u32": 4, "u16": 2, "u8": 1}

func main() {
	in := flag.String("in", "codec.schema", "schema file")
	out := flag.String("out", "codec_gen.go", "generated Go file")
	flag.Parse()
	src, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	code, err := Generate(src)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "codecgen:", err)
	os.Exit(1)
}

// Generate parses a schema and returns the formatted Go source.
func Generate(src []byte) ([]byte, error) {
	s, err := parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	s.emit(&b)
	code, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w\n%s", err, b.Bytes())
	}
	return code, nil
}

func parse(r io.Reader) (*schema, error) {
	s := &schema{enumByName: map[string]*enumType{}}
	var cur *message
	var doc []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			doc, cur = nil, nil
			continue
		case strings.HasPrefix(trimmed, "#"):
			doc = append(doc, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			continue
		}
		words := strings.Fields(trimmed)
		var err error
		switch {
		case line[0] == '\t' || line[0] == ' ':
			if cur == nil {
				return nil, fmt.Errorf("line %d: field outside a message", n)
			}
			err = s.addField(cur, words)
		case words[0] == "schema":
			if len(words) != 4 || words[2] != "version" {
				return nil, fmt.Errorf("line %d: want 'schema ID version V'", n)
			}
			s.id, _ = strconv.Atoi(words[1])
			s.version, _ = strconv.Atoi(words[3])
		case words[0] == "enum":
			err = s.addEnum(words, doc)
		case words[0] == "message":
			cur, err = s.addMessage(words, doc)
		default:
			err = fmt.Errorf("unknown directive %q", words[0])
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		doc = nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if s.id == 0 || s.version == 0 {
		return nil, fmt.Errorf("missing 'schema ID version V' line")
	}
	return s, nil
}

func (s *schema) addEnum(words, doc []string) error {
	if len(words) < 4 || !strings.HasSuffix(words[2], ":") {
		return fmt.Errorf("want 'enum Name u8: A=1 B=2'")
	}
	e := &enumType{name: words[1], base: strings.TrimSuffix(words[2], ":"), doc: doc}
	if e.base != "u8" && e.base != "u16" {
		return fmt.Errorf("enum %s: base must be u8 or u16", e.name)
	}
	for _, w := range words[3:] {
		name, val, ok := strings.Cut(w, "=")
		v, err := strconv.Atoi(val)
		if !ok || err != nil {
			return fmt.Errorf("enum %s: bad value %q", e.name, w)
		}
		e.values = append(e.values, enumValue{name, v})
	}
	s.enums = append(s.enums, e)
	s.enumByName[e.name] = e
	return nil
}

func (s *schema) addMessage(words, doc []string) (*message, error) {
	if len(words) != 3 {
		return nil, fmt.Errorf("want 'message Name TemplateID'")
	}
	id, err := strconv.Atoi(words[2])
	if err != nil || id <= 0 || id > 0xFFFF {
		return nil, fmt.Errorf("message %s: bad template id %q", words[1], words[2])
	}
	for _, m := range s.messages {
		if m.template == id || m.name == words[1] {
			return nil, fmt.Errorf("message %s: template id or name reused", words[1])
		}
	}
	m := &message{name: words[1], template: id, doc: doc}
	s.messages = append(s.messages, m)
	return m, nil
}

func (s *schema) addField(m *message, words []string) error {
	if len(words) != 2 && (len(words) != 3 || words[2] != "optional") {
		return fmt.Errorf("want 'Name type' or 'Name Enum optional'")
	}
	f := field{name: words[0], typ: words[1], optional: len(words) == 3, offset: m.length}
	if f.optional && s.enumByName[f.typ] == nil {
		return fmt.Errorf("%s: only an enum field can be optional", f.name)
	}
	switch {
	case primitiveSize[f.typ] > 0:
		f.size = primitiveSize[f.typ]
	case strings.HasPrefix(f.typ, "char"):
		n, err := strconv.Atoi(strings.TrimPrefix(f.typ, "char"))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad char length in %q", f.typ)
		}
		f.size = n
	case s.enumByName[f.typ] != nil:
		f.size = primitiveSize[s.enumByName[f.typ].base]
	default:
		return fmt.Errorf("unknown type %q", f.typ)
	}
	m.fields = append(m.fields, f)
	m.length += f.size
	return nil
}

func (s *schema) emit(b *bytes.Buffer) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("// Code generated by engine/internal/codecgen from codec.schema; DO NOT EDIT.")
	p("")
	p("package engine")
	p("")
	p("import (\n\"encoding/binary\"\n\"strconv\"\n)")
	p("")
	p("// SchemaID identifies the venue's wire schema in every message header.")
	p("const SchemaID = %d", s.id)
	p("")
	p("// SchemaVersion is the version this code writes; a newer one is refused.")
	p("const SchemaVersion = %d", s.version)
	for _, e := range s.enums {
		s.emitEnum(p, e)
	}
	p("")
	p("// Template ids.")
	p("const (")
	for _, m := range s.messages {
		p("Template%s TemplateID = %d", m.name, m.template)
	}
	p(")")
	p("")
	p("// String returns the template's message name.")
	p("func (t TemplateID) String() string {")
	p("switch t {")
	for _, m := range s.messages {
		p("case Template%s: return %q", m.name, m.name)
	}
	p("}")
	p("return \"TemplateID(\" + strconv.Itoa(int(t)) + \")\"")
	p("}")
	p("")
	p("// knownBlockLength returns the body length this version writes for t, or 0 for an unknown template.")
	p("func knownBlockLength(t TemplateID) int {")
	p("switch t {")
	for _, m := range s.messages {
		p("case Template%s: return %sBlockLength", m.name, m.name)
	}
	p("}")
	p("return 0")
	p("}")
	p("")
	p("// AppendMessageText appends the text form of a decoded body of template t")
	p("// (as returned by Decode) to dst; unknown templates append their id only.")
	p("func AppendMessageText(dst []byte, t TemplateID, body []byte) []byte {")
	p("switch t {")
	for _, m := range s.messages {
		p("case Template%s: return %s(body).AppendText(dst)", m.name, m.name)
	}
	p("}")
	p("return append(dst, t.String()...)")
	p("}")
	p("")
	p("// EnumsValid reports whether every enum field of a decoded body of template t holds a named value.")
	p("func EnumsValid(t TemplateID, body []byte) bool {")
	p("switch t {")
	for _, m := range s.messages {
		p("case Template%s: return %s(body).EnumsValid()", m.name, m.name)
	}
	p("}")
	p("return false")
	p("}")
	for _, m := range s.messages {
		s.emitMessage(p, m)
	}
}

func (s *schema) emitEnum(p func(string, ...any), e *enumType) {
	goBase := map[string]string{"u8": "uint8", "u16": "uint16"}[e.base]
	p("")
	if len(e.doc) == 0 {
		p("// %s is a wire enum (%s).", e.name, e.base)
	}
	for _, d := range e.doc {
		p("// %s", d)
	}
	p("type %s %s", e.name, goBase)
	p("")
	p("// %s values.", e.name)
	p("const (")
	for _, v := range e.values {
		p("%s%s %s = %d", e.name, v.name, e.name, v.value)
	}
	p(")")
	p("")
	p("// String returns the value's name.")
	p("func (v %s) String() string {", e.name)
	p("switch v {")
	for _, v := range e.values {
		p("case %s%s: return %q", e.name, v.name, v.name)
	}
	p("}")
	p("return \"%s(\" + strconv.Itoa(int(v)) + \")\"", e.name)
	p("}")
	p("")
	p("// Valid reports whether v is one of the named values.")
	p("func (v %s) Valid() bool {", e.name)
	p("switch v {")
	names := make([]string, len(e.values))
	for i, v := range e.values {
		names[i] = e.name + v.name
	}
	p("case %s: return true", strings.Join(names, ", "))
	p("}")
	p("return false")
	p("}")
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func (s *schema) emitMessage(p func(string, ...any), m *message) {
	lc := lowerFirst(m.name)
	p("")
	p("// %sBlockLength is the body length of a %s in this schema version.", m.name, m.name)
	p("const %sBlockLength = %d", m.name, m.length)
	p("")
	p("// %sLength is the encoded length of a %s: header and body.", m.name, m.name)
	p("const %sLength = HeaderLength + %sBlockLength", m.name, m.name)
	p("")
	p("// Field offsets within a %s body.", m.name)
	p("const (")
	for _, f := range m.fields {
		p("%s%sOffset = %d", lc, f.name, f.offset)
	}
	p(")")
	p("")
	for _, d := range m.doc {
		p("// %s", d)
	}
	if len(m.doc) > 0 {
		p("//")
	}
	p("// %s is a flyweight over a %s body (template %d): accessors read and", m.name, m.name, m.template)
	p("// write the bytes in place. Obtain one from Decode or Append%s.", m.name)
	p("type %s []byte", m.name)
	p("")
	p("// %sHeader is a %s's whole header (block length, template id,", lc, m.name)
	p("// schema id, version) as one little-endian word.")
	p("const %sHeader = %sBlockLength | uint64(Template%s)<<16 | SchemaID<<32 | SchemaVersion<<48", lc, m.name, m.name)
	p("")
	p("// Append%s appends a %s message (header and zeroed body) to dst and", m.name, m.name)
	p("// returns the extended slice and a flyweight over the new body. The")
	p("// length is a constant, so the zeroing and the header are a few stores.")
	p("func Append%s(dst []byte) ([]byte, %s) {", m.name, m.name)
	p("dst, msg := growMessage(dst, %sLength)", m.name)
	p("return dst, Write%s(msg)", m.name)
	p("}")
	p("")
	p("// Write%s writes a %s message (header and zeroed body) at the start", m.name, m.name)
	p("// of b, which must hold at least %sLength bytes, and returns a flyweight", m.name)
	p("// over the body: for a caller that reuses a buffer of its own.")
	p("func Write%s(b []byte) %s {", m.name, m.name)
	p("a := (*[%sLength]byte)(b)", m.name)
	p("*a = [%sLength]byte{}", m.name)
	p("binary.LittleEndian.PutUint64(a[:HeaderLength], %sHeader)", lc)
	p("return %s(a[HeaderLength:])", m.name)
	p("}")
	for _, f := range m.fields {
		s.emitAccessors(p, m, f)
	}
	s.emitEnumsValid(p, m)
	s.emitString(p, m)
}

func (s *schema) emitAccessors(p func(string, ...any), m *message, f field) {
	off := lowerFirst(m.name) + f.name + "Offset"
	r, fname := m.name, f.name
	p("")
	switch {
	case strings.HasPrefix(f.typ, "char"):
		p("// %s returns the %s field up to its first NUL; the slice aliases the message.", fname, fname)
		p("func (m %s) %s() []byte { return chars(m[%s : %s+%d]) }", r, fname, off, off, f.size)
		p("")
		p("// %sKey returns the %s field as a fixed array, usable as a map key without allocating.", fname, fname)
		p("func (m %s) %sKey() [%d]byte { return [%d]byte(m[%s : %s+%d]) }", r, fname, f.size, f.size, off, off, f.size)
		p("")
		p("// Set%s writes s NUL-padded; it reports false, writing nothing, when s is longer than %d bytes.", fname, f.size)
		p("func (m %s) Set%s(s string) bool { return putChars(m[%s : %s+%d], s) }", r, fname, off, off, f.size)
		p("")
		p("// Set%sBytes is Set%s for a byte slice.", fname, fname)
		p("func (m %s) Set%sBytes(b []byte) bool { return putCharBytes(m[%s : %s+%d], b) }", r, fname, off, off, f.size)
		p("")
		p("// Set%sKey writes the %s field from a fixed array (NUL-padded, as %sKey returns it): one copy, no scan.", fname, fname, fname)
		p("func (m %s) Set%sKey(v *[%d]byte) {", r, fname, f.size)
		if f.size%8 == 0 {
			// Word by word: an array assignment through pointers of more
			// than 16 bytes compiles to a call of the runtime's memmove.
			p("b := m[%s : %s+%d]", off, off, f.size)
			for w := 0; w < f.size; w += 8 {
				p("binary.LittleEndian.PutUint64(b[%d:], binary.LittleEndian.Uint64(v[%d:]))", w, w)
			}
		} else {
			p("copy(m[%s:%s+%d], v[:])", off, off, f.size)
		}
		p("}")
		return
	case s.enumByName[f.typ] != nil:
		e := s.enumByName[f.typ]
		get, put := "m["+off+"]", "m["+off+"] = uint8(v)"
		if e.base == "u16" {
			get = "binary.LittleEndian.Uint16(m[" + off + ":])"
			put = "binary.LittleEndian.PutUint16(m[" + off + ":], uint16(v))"
		}
		p("// %s returns the %s field.", fname, fname)
		p("func (m %s) %s() %s { return %s(%s) }", r, fname, f.typ, f.typ, get)
		p("")
		p("// Set%s writes the %s field.", fname, fname)
		p("func (m %s) Set%s(v %s) { %s }", r, fname, f.typ, put)
		return
	}
	goType := map[string]string{"i64": "int64", "u64": "uint64", "u32": "uint32", "u16": "uint16", "u8": "uint8"}[f.typ]
	bits := map[string]string{"i64": "64", "u64": "64", "u32": "32", "u16": "16"}[f.typ]
	var get, put string
	switch f.typ {
	case "u8":
		get, put = "m["+off+"]", "m["+off+"] = v"
	case "i64":
		get = "int64(binary.LittleEndian.Uint64(m[" + off + ":]))"
		put = "binary.LittleEndian.PutUint64(m[" + off + ":], uint64(v))"
	default:
		get = "binary.LittleEndian.Uint" + bits + "(m[" + off + ":])"
		put = "binary.LittleEndian.PutUint" + bits + "(m[" + off + ":], v)"
	}
	p("// %s returns the %s field.", fname, fname)
	p("func (m %s) %s() %s { return %s }", r, fname, goType, get)
	p("")
	p("// Set%s writes the %s field.", fname, fname)
	p("func (m %s) Set%s(v %s) { %s }", r, fname, goType, put)
}

func (s *schema) emitEnumsValid(p func(string, ...any), m *message) {
	var checks []string
	for _, f := range m.fields {
		switch {
		case f.optional:
			checks = append(checks, "(m."+f.name+"() == 0 || m."+f.name+"().Valid())")
		case s.enumByName[f.typ] != nil:
			checks = append(checks, "m."+f.name+"().Valid()")
		}
	}
	p("")
	p("// EnumsValid reports whether every enum field holds a named value.")
	if len(checks) == 0 {
		p("func (m %s) EnumsValid() bool { return true }", m.name)
		return
	}
	p("func (m %s) EnumsValid() bool { return %s }", m.name, strings.Join(checks, " && "))
}

func (s *schema) emitString(p func(string, ...any), m *message) {
	p("")
	p("// AppendText appends a one-line text form of the message to dst, for logs and tests.")
	p("func (m %s) AppendText(dst []byte) []byte {", m.name)
	p("dst = append(dst, \"%s{\"...)", m.name)
	for i, f := range m.fields {
		sep := " "
		if i == 0 {
			sep = ""
		}
		p("dst = append(dst, \"%s%s=\"...)", sep, f.name)
		switch {
		case strings.HasPrefix(f.typ, "char"):
			p("dst = strconv.AppendQuote(dst, string(m.%s()))", f.name)
		case s.enumByName[f.typ] != nil:
			p("dst = append(dst, m.%s().String()...)", f.name)
		case f.typ == "i64":
			p("dst = strconv.AppendInt(dst, m.%s(), 10)", f.name)
		default:
			p("dst = strconv.AppendUint(dst, uint64(m.%s()), 10)", f.name)
		}
	}
	p("return append(dst, '}')")
	p("}")
	p("")
	p("// String returns the text form of the message.")
	p("func (m %s) String() string { return string(m.AppendText(nil)) }", m.name)
}

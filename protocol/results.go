package protocol

// Results frames carry evaluation results out of the module (edgeflag_evaluate,
// edgeflag_evaluate_all): the results' JSON, ready to be sent on as it is, followed by an
// index that says, for each result, its flag key, the variant served and where its JSON
// is, so that a host reads no JSON:
//
//	results frame = 0 jsonLen:uint32le json entry*
//	              | errorJSON
//	entry         = key:str variant:str ok:uint8 len:uvarint
//
// json is the results as evaluator.Result.AppendJSON writes them, joined by commas (so
// {"flags":[json]} is the answer for every flag); ok is 1 unless the result is an error
// (reason ERROR, empty variant); len is the length of the result's JSON, which follows
// the previous one and its comma. edgeflag_evaluate_all refuses the whole evaluation (no
// snapshot loaded, a context refused) with the error object of evaluator.AppendErrorJSON
// instead, which starts with '{'.

// ResultsBuilder writes a results frame. Its zero value is ready to use; it reuses its
// space from frame to frame.
type ResultsBuilder struct {
	frame []byte
	index []byte
	head  int // offset of the frame in frame (what Begin's dst held before)
	start int // where the JSON of the result being written starts
	n     int // results added
}

// Begin starts a frame appended to dst.
func (b *ResultsBuilder) Begin(dst []byte) {
	b.head = len(dst)
	b.frame = append(dst, 0, 0, 0, 0, 0)
	b.index, b.n = b.index[:0], 0
}

// Next returns the frame, to which the caller appends one result's JSON before calling
// Add with the extended frame.
func (b *ResultsBuilder) Next() []byte {
	if b.n > 0 {
		b.frame = append(b.frame, ',')
	}
	b.start = len(b.frame)
	return b.frame
}

// Add records the result whose JSON the caller appended to what Next returned, making
// frame the one built.
func (b *ResultsBuilder) Add(frame []byte, key, variant string, ok bool) {
	b.frame = frame
	b.n++
	b.index = appendEntry(b.index, key, variant, ok, len(frame)-b.start)
}

// appendEntry appends an entry of the index. The common entry (lengths of one byte, a
// JSON length of at most two) is written in place, in one call: each append or call costs
// the module more than the bytes it writes.
func appendEntry(x []byte, key, variant string, ok bool, n int) []byte {
	at := len(x)
	if len(key) >= 0x80 || len(variant) >= 0x80 || n >= 1<<14 || cap(x)-at < len(key)+len(variant)+5 {
		x = appendString(appendString(x, key), variant)
		return appendUvarint(append(x, okByte(ok)), uint64(n))
	}
	x = x[:at+len(key)+len(variant)+5]
	x[at] = byte(len(key))
	at += 1 + copy(x[at+1:], key)
	x[at] = byte(len(variant))
	at += 1 + copy(x[at+1:], variant)
	x[at] = okByte(ok)
	if n < 0x80 {
		x[at+1] = byte(n)
		return x[:at+2]
	}
	x[at+1], x[at+2] = byte(n)|0x80, byte(n>>7)
	return x[:at+3]
}

func okByte(ok bool) byte {
	if ok {
		return 1
	}
	return 0
}

// Finish returns the frame: dst of Begin, extended.
//
// It is not inlined (WASM module size).
//
//go:noinline
func (b *ResultsBuilder) Finish() []byte {
	putUint32(b.frame[b.head+1:], len(b.frame)-b.head-5)
	return append(b.frame, b.index...)
}

// Results is a results frame read by ReadResults. It shares the frame's bytes.
type Results struct {
	// JSON is the results' JSON joined by commas, or the module's error object when
	// Refused.
	JSON []byte
	// Refused says the module refused the whole evaluation: JSON is its error object
	// ({"errorCode":...,"errorMessage":...}).
	Refused bool
	index   reader
	pos     int // where the next result's JSON starts
}

// Result is one result of a Results.
type Result struct {
	Key, Variant string // shared with the frame
	OK           bool   // false for an error result
	JSON         []byte // the result's JSON
}

// ReadResults reads a results frame; ok is false for bytes that are not one. Its strings
// share the frame's bytes.
func ReadResults(frame []byte) (r Results, ok bool) {
	if len(frame) > 0 && frame[0] == '{' {
		return Results{JSON: frame, Refused: true}, true
	}
	if len(frame) < 5 || frame[0] != 0 {
		return r, false
	}
	n := uint64(frame[1]) | uint64(frame[2])<<8 | uint64(frame[3])<<16 | uint64(frame[4])<<24
	if n > uint64(len(frame)-5) {
		return r, false
	}
	r.JSON = frame[5 : 5+n]
	r.index = reader{b: frame[5+n:]}
	return r, true
}

// Next returns the next result; ok is false after the last one, or when the index is
// malformed (Valid tells).
func (r *Results) Next() (res Result, ok bool) {
	x := &r.index
	if x.off >= len(x.b) {
		return res, false
	}
	res.Key, res.Variant = x.str(), x.str()
	if x.off >= len(x.b) {
		x.truncated()
		return Result{}, false
	}
	res.OK = x.b[x.off] == 1
	x.off++
	n := x.uvarint()
	if x.err != nil || r.pos > len(r.JSON) || n > uint64(len(r.JSON)-r.pos) {
		if x.err == nil {
			x.truncated()
		}
		return Result{}, false
	}
	res.JSON = r.JSON[r.pos : r.pos+int(n)]
	r.pos += int(n) + 1
	return res, true
}

// Valid reports whether every result read so far was well formed.
func (r *Results) Valid() bool { return r.index.err == nil }

func putUint32(b []byte, v int) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

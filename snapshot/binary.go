package snapshot

// Little-endian and varint helpers. The package does not use encoding/binary, which imports
// reflect; these are the few functions the format needs.

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarint(b []byte, v int64) []byte {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return appendUvarint(b, u)
}

// uvarint decodes a varint; n <= 0 means malformed or truncated.
func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			if i == 9 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func varint(b []byte) (int64, int) {
	u, n := uvarint(b)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x, n
}

func putUint16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func getUint16(b []byte) uint16    { return uint16(b[0]) | uint16(b[1])<<8 }
func getUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func getUint64(b []byte) uint64 { return uint64(getUint32(b)) | uint64(getUint32(b[4:]))<<32 }
func appendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
func appendUint64(b []byte, v uint64) []byte {
	return appendUint32(appendUint32(b, uint32(v)), uint32(v>>32))
}

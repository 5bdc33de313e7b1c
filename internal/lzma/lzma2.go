package lzma

// EncodeLZMA2 appends data to dst as an LZMA2 stream, ended with its end
// marker, for a decoder with a dictionary of DictSize(len(data)) bytes.
// The output depends on data and the options alone.
func (e *Encoder) EncodeLZMA2(dst, data []byte) []byte {
	return append(e.EncodeSegment(dst, nil, data), 0)
}

// EncodeSegment appends data to dst as LZMA2 chunks, without the end
// marker. With an empty dict they start an LZMA2 stream (a dictionary
// reset); otherwise they continue one whose last bytes were dict (at most
// the dictionary size are used), with a state reset, so that segments of
// one stream can be encoded in parallel and concatenated. The length of
// dict must be a multiple of 4 (the position contexts are positions
// modulo 4 in the stream). The output depends on dict, data and the
// options alone.
func (e *Encoder) EncodeSegment(dst, dict, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	if len(dict)%4 != 0 {
		panic("lzma: EncodeSegment: dict length not a multiple of 4")
	}
	dict = dict[len(dict)-min(len(dict), e.opts.DictSize&^3):]
	if n := len(dict) + len(data); cap(e.buf) < n {
		e.buf = make([]byte, 0, n)
	}
	e.buf = append(append(e.buf[:0], dict...), data...)
	data = e.buf
	maxDist := max(min(e.opts.DictSize, len(data)), 1)
	e.mf.reset(data, e.opts.DictSize, e.opts.NiceLen, e.opts.Depth)
	e.mf.skip(len(dict))
	e.distSlots = distSlot(uint32(maxDist-1)) + 1
	e.resetState()
	e.shadow = [numReps]uint32{}
	e.pending = e.pending[:0]
	e.next = 0
	// A segment that continues a stream sets the properties again: the
	// segment before may have been all stored chunks, after which a
	// decoder wants them.
	needDict, needProps, needState := len(dict) == 0, true, false
	for pos := len(dict); pos < len(data); {
		start := pos
		if needState {
			e.resetState()
		}
		e.rc.reset(e.chunk[:0])
		for pos < len(data) {
			if e.next == len(e.pending) {
				e.parse(data, pos)
			}
			s := e.pending[e.next]
			if pos-start+int(s.len) > maxChunkData || e.rc.pending()+symbolMargin > maxChunkPack {
				break
			}
			e.codeSymbol(data, pos, s)
			e.next++
			pos += int(s.len)
		}
		e.rc.flush()
		e.chunk = e.rc.out
		raw := data[start:pos]
		if len(e.chunk) >= len(raw) {
			// Stored: the decoder only copies, so the coder's state,
			// which went on, must be reset in the next LZMA chunk.
			for len(raw) > 0 {
				n := min(len(raw), maxStoredData)
				ctl := byte(2)
				if needDict {
					ctl, needDict = 1, false
				}
				dst = append(dst, ctl, byte((n-1)>>8), byte(n-1))
				dst = append(dst, raw[:n]...)
				raw = raw[n:]
			}
			needState = true
			continue
		}
		u, c := len(raw)-1, len(e.chunk)-1
		ctl := 0x80 | byte(u>>16)
		switch {
		case needDict:
			ctl |= 3 << 5 // dictionary, state and properties reset
		case needProps:
			ctl |= 2 << 5 // state and properties reset
		case needState:
			ctl |= 1 << 5 // state reset
		}
		dst = append(dst, ctl, byte(u>>8), byte(u), byte(c>>8), byte(c))
		if needDict || needProps {
			dst = append(dst, propsByte)
		}
		dst = append(dst, e.chunk...)
		needDict, needProps, needState = false, false, false
	}
	return dst
}

package lzma

// parse finds the cheapest symbols from pos on, as liblzma's "normal" mode
// does, and leaves them in e.pending. The match finder is at pos, or at
// pos+1 with pos's matches in e.matches (a read-ahead of the parse before).
func (e *Encoder) parse(data []byte, pos int) {
	e.pending = e.pending[:0]
	e.next = 0
	mf := &e.mf
	if mf.pos == pos {
		e.matches = mf.find(e.matches[:0])
	}
	ms := e.matches
	if e.matchCount >= distPriceUpdate {
		e.updateDistPrices()
	}
	if e.alignCount >= alignPriceUpdate {
		e.updateAlignPrices()
	}

	avail := len(data) - pos
	bufAvail := min(avail, maxMatchLen)
	if pos == 0 || bufAvail < 2 {
		e.pending = append(e.pending, symbol{1, symLiteral})
		return
	}
	reps := e.shadow
	var repLens [numReps]int
	repMax := 0
	for i := range numReps {
		back := pos - int(reps[i]) - 1
		if data[pos] != data[back] || data[pos+1] != data[back+1] {
			continue
		}
		repLens[i] = matchLen(data, pos, back, 2, bufAvail)
		if repLens[i] > repLens[repMax] {
			repMax = i
		}
	}
	nice := e.opts.NiceLen
	if repLens[repMax] >= nice {
		e.pending = append(e.pending, symbol{uint32(repLens[repMax]), int32(repMax)})
		mf.skip(repLens[repMax] - 1)
		return
	}
	lenMain := 0
	if len(ms) > 0 {
		lenMain = int(ms[len(ms)-1].len)
	}
	if lenMain >= nice {
		e.pending = append(e.pending, symbol{uint32(lenMain), int32(ms[len(ms)-1].dist-1) + numReps})
		mf.skip(lenMain - 1)
		return
	}
	curByte := data[pos]
	matchByte := data[pos-int(reps[0])-1]
	if lenMain < 2 && curByte != matchByte && repLens[repMax] < 2 {
		e.pending = append(e.pending, symbol{1, symLiteral})
		return
	}

	m := &e.m
	w := e.window
	state := m.state
	ps := uint32(pos) & posMask
	w[0].state = state
	w[0].reps = reps
	w[1] = optimal{
		price:    price0(m.isMatch[state][ps]) + m.literalPrice(data[pos-1], !isLiteralState(state), matchByte, curByte),
		backPrev: symLiteral,
	}
	matchP := price1(m.isMatch[state][ps])
	repMatchP := matchP + price1(m.isRep[state])
	if matchByte == curByte {
		if sr := repMatchP + m.shortRepPrice(state, ps); sr < w[1].price {
			w[1].price, w[1].backPrev = sr, 0
		}
	}
	lenEnd := max(lenMain, repLens[repMax])
	if lenEnd < 2 {
		e.pending = append(e.pending, symbol{1, w[1].backPrev})
		return
	}
	for l := 2; l <= lenEnd; l++ {
		w[l].price = infPrice
	}
	for i := range uint32(numReps) {
		rl := repLens[i]
		if rl < 2 {
			continue
		}
		price := repMatchP + m.pureRepPrice(i, state, ps)
		for l := rl; l >= 2; l-- {
			if p := price + m.repLen.prices[ps][l-minMatchLen]; p < w[l].price {
				w[l] = optimal{price: p, backPrev: int32(i)}
			}
		}
	}
	normalP := matchP + price0(m.isRep[state])
	l := 2
	if repLens[0] >= 2 {
		l = repLens[0] + 1
	}
	if l <= lenMain {
		k := 0
		for uint32(l) > ms[k].len {
			k++
		}
		for ; ; l++ {
			d := ms[k].dist - 1
			if p := normalP + e.matchPrice(d, uint32(l), ps); p < w[l].price {
				w[l] = optimal{price: p, backPrev: int32(d) + numReps}
			}
			if uint32(l) == ms[k].len {
				if k++; k == len(ms) {
					break
				}
			}
		}
	}

	cur := 1
	for ; cur < lenEnd; cur++ {
		e.matches = mf.find(e.matches[:0])
		ms := e.matches
		newLen := 0
		if len(ms) > 0 {
			newLen = int(ms[len(ms)-1].len)
		}
		if newLen >= nice {
			break // e.matches is the next parse's read-ahead
		}
		lenEnd = e.step(data, pos, cur, lenEnd, ms, newLen)
	}
	e.backward(cur)
}

// step extends the window from position cur, whose cheapest path is known,
// with the literal, short rep, rep matches, matches (ms, the longest newLen)
// and the two-step sequences that start there. It returns the new end of
// the window.
func (e *Encoder) step(data []byte, pos, cur, lenEnd int, ms []match, newLen int) int {
	w := e.window
	o := &w[cur]
	posPrev := int(o.posPrev)
	var state uint32
	if o.prev1IsLiteral {
		posPrev--
		if o.prev2 {
			state = w[o.posPrev2].state
			if o.backPrev2 < numReps {
				state = repNext(state)
			} else {
				state = matchNext(state)
			}
		} else {
			state = w[posPrev].state
		}
		state = literalNext(state)
	} else {
		state = w[posPrev].state
	}
	var reps [numReps]uint32
	if posPrev == cur-1 {
		if o.backPrev == 0 {
			state = shortRepNext(state)
		} else {
			state = literalNext(state)
		}
		reps = w[posPrev].reps
	} else {
		var back int32
		if o.prev1IsLiteral && o.prev2 {
			posPrev, back = int(o.posPrev2), o.backPrev2
			state = repNext(state)
		} else {
			back = o.backPrev
			if back < numReps {
				state = repNext(state)
			} else {
				state = matchNext(state)
			}
		}
		prev := &w[posPrev].reps
		if back < numReps {
			reps[0] = prev[back]
			i := 1
			for ; i <= int(back); i++ {
				reps[i] = prev[i-1]
			}
			for ; i < numReps; i++ {
				reps[i] = prev[i]
			}
		} else {
			reps = [numReps]uint32{uint32(back - numReps), prev[0], prev[1], prev[2]}
		}
	}
	o.state = state
	o.reps = reps

	m := &e.m
	curPrice := o.price
	p := pos + cur
	curByte := data[p]
	rep0Back := p - int(reps[0]) - 1
	matchByte := data[rep0Back]
	ps := uint32(p) & posMask
	curAnd1 := curPrice + price0(m.isMatch[state][ps]) + m.literalPrice(data[p-1], !isLiteralState(state), matchByte, curByte)
	next := &w[cur+1]
	nextIsLit := false
	if curAnd1 < next.price {
		*next = optimal{price: curAnd1, posPrev: int32(cur), backPrev: symLiteral}
		nextIsLit = true
	}
	matchP := curPrice + price1(m.isMatch[state][ps])
	repMatchP := matchP + price1(m.isRep[state])
	if matchByte == curByte && !(next.posPrev < int32(cur) && next.backPrev == 0) {
		if sr := repMatchP + m.shortRepPrice(state, ps); sr <= next.price {
			*next = optimal{price: sr, posPrev: int32(cur), backPrev: 0}
			nextIsLit = true
		}
	}
	bufAvailFull := min(len(data)-p, optsSize-1-cur)
	if bufAvailFull < 2 {
		return lenEnd
	}
	nice := e.opts.NiceLen
	bufAvail := min(bufAvailFull, nice)

	if !nextIsLit && matchByte != curByte {
		// a literal, then rep0
		l2 := matchLen(data, p, rep0Back, 1, min(bufAvailFull, nice+1)) - 1
		if l2 >= 2 {
			state2 := literalNext(state)
			ps2 := (ps + 1) & posMask
			price := curAnd1 + price1(m.isMatch[state2][ps2]) + price1(m.isRep[state2]) + e.repPrice(0, uint32(l2), state2, ps2)
			off := cur + 1 + l2
			for lenEnd < off {
				lenEnd++
				w[lenEnd].price = infPrice
			}
			if price < w[off].price {
				w[off] = optimal{price: price, posPrev: int32(cur + 1), backPrev: 0, prev1IsLiteral: true}
			}
		}
	}

	startLen := 2
	for ri := range uint32(numReps) {
		back := p - int(reps[ri]) - 1
		if data[p] != data[back] || data[p+1] != data[back+1] {
			continue
		}
		l := matchLen(data, p, back, 2, bufAvail)
		for lenEnd < cur+l {
			lenEnd++
			w[lenEnd].price = infPrice
		}
		price := repMatchP + m.pureRepPrice(ri, state, ps)
		for t := l; t >= 2; t-- {
			if pr := price + m.repLen.prices[ps][t-minMatchLen]; pr < w[cur+t].price {
				w[cur+t] = optimal{price: pr, posPrev: int32(cur), backPrev: int32(ri)}
			}
		}
		if ri == 0 {
			startLen = l + 1
		}
		// the rep, a literal, then rep0
		lt2 := l + 1
		l2 := matchLen(data, p, back, lt2, min(bufAvailFull, lt2+nice)) - lt2
		if l2 >= 2 {
			state2 := repNext(state)
			ps2 := uint32(p+l) & posMask
			price := price + m.repLen.prices[ps][l-minMatchLen] + price0(m.isMatch[state2][ps2]) +
				m.literalPrice(data[p+l-1], true, data[back+l], data[p+l])
			state2 = literalNext(state2)
			ps2 = (ps2 + 1) & posMask
			price += price1(m.isMatch[state2][ps2]) + price1(m.isRep[state2]) + e.repPrice(0, uint32(l2), state2, ps2)
			off := cur + lt2 + l2
			for lenEnd < off {
				lenEnd++
				w[lenEnd].price = infPrice
			}
			if price < w[off].price {
				w[off] = optimal{price: price, posPrev: int32(cur + lt2), backPrev: 0, prev1IsLiteral: true,
					prev2: true, posPrev2: int32(cur), backPrev2: int32(ri)}
			}
		}
	}

	if newLen > bufAvail {
		newLen = bufAvail
		k := 0
		for uint32(newLen) > ms[k].len {
			k++
		}
		ms[k].len = uint32(newLen)
		ms = ms[:k+1]
	}
	if newLen < startLen {
		return lenEnd
	}
	normalP := matchP + price0(m.isRep[state])
	for lenEnd < cur+newLen {
		lenEnd++
		w[lenEnd].price = infPrice
	}
	k := 0
	for uint32(startLen) > ms[k].len {
		k++
	}
	for l := startLen; ; l++ {
		d := ms[k].dist - 1
		price := normalP + e.matchPrice(d, uint32(l), ps)
		if price < w[cur+l].price {
			w[cur+l] = optimal{price: price, posPrev: int32(cur), backPrev: int32(d) + numReps}
		}
		if uint32(l) != ms[k].len {
			continue
		}
		// the match, a literal, then rep0
		back := p - int(d) - 1
		lt2 := l + 1
		l2 := matchLen(data, p, back, lt2, min(bufAvailFull, lt2+nice)) - lt2
		if l2 >= 2 {
			state2 := matchNext(state)
			ps2 := uint32(p+l) & posMask
			price += price0(m.isMatch[state2][ps2]) + m.literalPrice(data[p+l-1], true, data[back+l], data[p+l])
			state2 = literalNext(state2)
			ps2 = (ps2 + 1) & posMask
			price += price1(m.isMatch[state2][ps2]) + price1(m.isRep[state2]) + e.repPrice(0, uint32(l2), state2, ps2)
			off := cur + lt2 + l2
			for lenEnd < off {
				lenEnd++
				w[lenEnd].price = infPrice
			}
			if price < w[off].price {
				w[off] = optimal{price: price, posPrev: int32(cur + lt2), backPrev: 0, prev1IsLiteral: true,
					prev2: true, posPrev2: int32(cur), backPrev2: int32(d) + numReps}
			}
		}
		if k++; k == len(ms) {
			break
		}
	}
	return lenEnd
}

// backward reads the cheapest path to window position end into e.pending.
func (e *Encoder) backward(end int) {
	w := e.window
	syms := e.pending[:0]
	for cur := end; cur > 0; {
		o := &w[cur]
		if !o.prev1IsLiteral {
			syms = append(syms, symbol{uint32(cur - int(o.posPrev)), o.backPrev})
			cur = int(o.posPrev)
			continue
		}
		syms = append(syms, symbol{uint32(cur - int(o.posPrev)), 0}, symbol{1, symLiteral})
		if o.prev2 {
			syms = append(syms, symbol{uint32(int(o.posPrev) - 1 - int(o.posPrev2)), o.backPrev2})
			cur = int(o.posPrev2)
		} else {
			cur = int(o.posPrev) - 1
		}
	}
	for i, j := 0, len(syms)-1; i < j; i, j = i+1, j-1 {
		syms[i], syms[j] = syms[j], syms[i]
	}
	e.pending = syms
}

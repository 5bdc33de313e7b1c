package closure

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

const testStore = "/gnu/store"

var (
	hashA = "0123456789abcdfghijklmnpqrsvwxyz"
	hashB = "zyxwvsrqpnmlkjihgfdcba9876543210"
	hashC = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashM = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm" // spelled out but not in the store
)

func found(m *Matcher, data []byte, chunk int) (hits []Hit, missing []string) {
	var h Hits
	sc := m.NewScanner(chunk)
	if err := sc.Scan(bytes.NewReader(data), 0, &h); err != nil {
		panic(err)
	}
	hits = h.List()
	sort.Slice(hits, func(i, j int) bool { return hits[i].Index < hits[j].Index })
	missing = append(missing, h.Missing...)
	sort.Strings(missing)
	return hits, missing
}

func TestScan(t *testing.T) {
	m := NewMatcher([]string{hashA, hashB, hashC}, testStore)
	tests := []struct {
		name    string
		data    string
		want    []Hit
		missing []string
	}{
		{"empty", "", nil, nil},
		{"alone", hashA, []Hit{{0, 0}}, nil},
		{"store path", "x " + testStore + "/" + hashB + "-foo/bin", []Hit{{1, 13}}, nil},
		{"inside a longer base32 run", "zz" + hashA + "zz", []Hit{{0, 2}}, nil},
		{"two adjacent", hashA + hashB, []Hit{{0, 0}, {1, 32}}, nil},
		{"first hit only", hashC + "-" + hashC, []Hit{{2, 0}}, nil},
		{"one character short", hashA[:31], nil, nil},
		{"broken by e", hashA[:10] + "e" + hashA[11:], nil, nil},
		{"upper case is not base32", strings.ToUpper(hashA), nil, nil},
		{"at the end after binary", "\x00\xff\x01" + hashB, []Hit{{1, 3}}, nil},
		{"missing item", "#!" + testStore + "/" + hashM + "-sh/bin/sh", nil, []string{hashM}},
		{"missing needs the dash", testStore + "/" + hashM, nil, nil},
		{"missing needs the store", "/other/" + hashM + "-x", nil, nil},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 7, 33, 4096} {
			hits, missing := found(m, []byte(tt.data), chunk)
			if !equalHits(hits, tt.want) || strings.Join(missing, ",") != strings.Join(tt.missing, ",") {
				t.Errorf("%s, chunk %d: hits %v missing %v, want %v %v", tt.name, chunk, hits, missing, tt.want, tt.missing)
			}
		}
	}
}

func equalHits(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// naive is the obvious search: every offset, every candidate.
func naive(data []byte, hashes []string, store string) (hits []Hit, missing []string) {
	first := map[int]int64{}
	miss := map[string]bool{}
	prefix := store + "/"
	for i := 0; i+HashLen <= len(data); i++ {
		w := string(data[i : i+HashLen])
		known := false
		for k, h := range hashes {
			if w == h {
				known = true
				if _, ok := first[k]; !ok {
					first[k] = int64(i)
				}
			}
		}
		if !known && i+HashLen < len(data) && data[i+HashLen] == '-' && i >= len(prefix) && string(data[i-len(prefix):i]) == prefix {
			ok := true
			for j := 0; j < HashLen; j++ {
				ok = ok && strings.IndexByte(Base32Chars, w[j]) >= 0
			}
			if ok {
				miss[w] = true
			}
		}
	}
	for k, off := range first {
		hits = append(hits, Hit{k, off})
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].Index < hits[j].Index })
	for h := range miss {
		missing = append(missing, h)
	}
	sort.Strings(missing)
	return hits, missing
}

// randomReader returns reads of random sizes, so that hashes fall across
// read boundaries anywhere.
type randomReader struct {
	data []byte
	rnd  *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), 1+r.rnd.IntN(64))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// FuzzScan checks the scanner against the naive search, with random data
// salted with candidates and store paths, random chunk sizes and random read
// boundaries.
func FuzzScan(f *testing.F) {
	f.Add([]byte(hashA+"x"+testStore+"/"+hashM+"-y"), uint64(1), uint16(40))
	f.Add([]byte("zz"+hashB+hashC), uint64(7), uint16(1))
	f.Add([]byte{0, 1, 2, 'a', 'b'}, uint64(3), uint16(3))
	hashes := []string{hashA, hashB, hashC}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, chunk uint16) {
		rnd := rand.New(rand.NewPCG(seed, seed>>7))
		// Salt the fuzzer's bytes with whole and cut candidates.
		var b []byte
		for len(data) > 0 {
			n := min(len(data), 1+rnd.IntN(16))
			b = append(b, data[:n]...)
			data = data[n:]
			switch rnd.IntN(6) {
			case 0:
				b = append(b, hashes[rnd.IntN(3)]...)
			case 1:
				b = append(b, testStore+"/"+hashM+"-x"...)
			case 2:
				b = append(b, hashes[rnd.IntN(3)][:rnd.IntN(HashLen)]...)
			}
		}
		m := NewMatcher(hashes, testStore)
		var h Hits
		sc := m.NewScanner(1 + int(chunk)%300)
		if err := sc.Scan(&randomReader{data: b, rnd: rnd}, 0, &h); err != nil {
			t.Fatal(err)
		}
		got := h.List()
		sort.Slice(got, func(i, j int) bool { return got[i].Index < got[j].Index })
		gotMissing := append([]string(nil), h.Missing...)
		sort.Strings(gotMissing)
		want, wantMissing := naive(b, hashes, testStore)
		if !equalHits(got, want) || strings.Join(gotMissing, ",") != strings.Join(wantMissing, ",") {
			t.Fatalf("data %q:\nscanner %v %v\nnaive   %v %v", b, got, gotMissing, want, wantMissing)
		}
	})
}

// benchData is 64 MiB of the given kind, holding one candidate near the end.
func benchData(kind string) []byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 64<<20)
	switch kind {
	case "binary":
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
	case "text":
		words := strings.Fields("the quick brown fox jumps over lazy dog store path lib bin share include int main return void char if else for while")
		i := 0
		for i < len(b) {
			i += copy(b[i:], words[rnd.IntN(len(words))]+" ")
		}
	case "base32":
		for i := range b {
			b[i] = Base32Chars[rnd.IntN(32)]
		}
	}
	copy(b[len(b)-100:], hashA)
	return b
}

func benchmarkScan(b *testing.B, kind string) {
	data := benchData(kind)
	hashes := make([]string, 2000) // a store of 2,000 items
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range hashes {
		var s [HashLen]byte
		for j := range s {
			s[j] = Base32Chars[rnd.IntN(32)]
		}
		hashes[i] = string(s[:])
	}
	hashes[0] = hashA
	m := NewMatcher(hashes, testStore)
	sc := m.NewScanner(0)
	var h Hits
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Reset()
		if err := sc.Scan(bytes.NewReader(data), 0, &h); err != nil {
			b.Fatal(err)
		}
		if h.Len() != 1 {
			b.Fatalf("found %d hashes, want 1", h.Len())
		}
	}
}

// BenchmarkScan measures one core's scanning speed (MB/s) on machine code
// and compressed data (binary), on source and documentation (text), and on
// the worst case, nothing but base32 characters.
func BenchmarkScan(b *testing.B) {
	for _, kind := range []string{"binary", "text", "base32"} {
		b.Run(kind, func(b *testing.B) { benchmarkScan(b, kind) })
	}
}
